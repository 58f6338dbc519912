"""Who may ask for what: every moderation and floor command passes through here."""

from __future__ import annotations

from rooms.errors import DomainError, ErrorCode
from rooms.member import Member
from rooms.roles import Capability, Role, can
from rooms.room import Room, RoomKind


def require_capability(room: Room, by: str, capability: Capability) -> Member:
    """The asking member must be in the room (admitted) and hold the capability."""
    if room.is_over:
        raise DomainError(ErrorCode.ROOM_ENDED)
    member = room.member(by)
    if member is None or not member.seated:
        raise DomainError(ErrorCode.NOT_JOINED)
    if not member.admitted:
        raise DomainError(ErrorCode.WAITING)
    if not can(member.role, capability):
        raise DomainError(ErrorCode.NOT_ALLOWED)
    return member


def require_group(room: Room) -> None:
    if room.kind is not RoomKind.GROUP or room.floor is None:
        raise DomainError(ErrorCode.NOT_A_GROUP)


def require_participant(room: Room, member_id: str) -> Member:
    """The target of a moderation command: a seated participant, never a therapist."""
    member = room.member(member_id)
    if member is None or not member.seated:
        raise DomainError(ErrorCode.UNKNOWN_MEMBER)
    if member.role is not Role.PARTICIPANT:
        raise DomainError(ErrorCode.NOT_ALLOWED, "Therapists cannot be moderated.")
    return member
