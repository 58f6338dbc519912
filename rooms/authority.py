"""Who may ask for what: every moderation and floor command passes through here."""

from __future__ import annotations

from rooms.errors import DomainError
from rooms.member import Member
from rooms.roles import Capability, Role, can
from rooms.room import Room, RoomKind


def require_capability(room: Room, by: str, capability: Capability) -> Member:
    """The asking member must be in the room (admitted) and hold the capability."""
    if room.is_over:
        raise DomainError("room_ended", "This session has ended.")
    member = room.member(by)
    if member is None or not member.seated:
        raise DomainError("not_joined", "You are not in this session.")
    if not member.admitted:
        raise DomainError("waiting", "You are in the waiting room until a therapist admits you.")
    if not can(member.role, capability):
        raise DomainError("not_allowed", "Your role cannot do that.")
    return member


def require_group(room: Room) -> None:
    if room.kind is not RoomKind.GROUP or room.floor is None:
        raise DomainError("not_a_group", "Only group sessions have this.")


def require_participant(room: Room, member_id: str) -> Member:
    """The target of a moderation command: a seated participant, never a therapist."""
    member = room.member(member_id)
    if member is None or not member.seated:
        raise DomainError("unknown_member", "That person is not in this session.")
    if member.role is not Role.PARTICIPANT:
        raise DomainError("not_allowed", "Therapists cannot be moderated.")
    return member
