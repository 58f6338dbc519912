"""In-session chat: who may write to whom. Pure rules; the text itself never enters
the domain (it is not part of any room state, command or event), so nothing that
stores or logs rooms can keep it.

- Individual rooms: between the two (`to` is None or the other person).
- Group rooms: to everyone admitted (`to` None), or privately between a therapist and
  one member. A therapist may also write to a member still in the waiting room
  ("running 5 minutes late"); waiting members cannot write.
- A therapist can turn members' chat off (`Room.members_chat`, set by `SetMembersChat`
  in rooms/screen_share.py); therapists can always write.
"""

from __future__ import annotations

from dataclasses import dataclass

from rooms.errors import DomainError, ErrorCode
from rooms.member import Member
from rooms.roles import Capability, Role, can
from rooms.room import Room, RoomKind

# Long enough for a few sentences; chat is for short notes, not documents.
MAX_CHAT_CHARS = 1000


@dataclass(frozen=True)
class ChatRoute:
    """Where a message goes: the whole room, or one member (`to`) and the sender."""

    to: str | None
    private: bool


def route_message(room: Room, sender_id: str, to: str | None) -> ChatRoute:
    """Check that `sender_id` may write to `to` (None: the room); raise DomainError if not."""
    if room.is_over:
        raise DomainError(ErrorCode.ROOM_ENDED)
    sender = _seated(room, sender_id, ErrorCode.NOT_JOINED)
    therapist = can(sender.role, Capability.MODERATE)
    if not sender.admitted:
        raise DomainError(ErrorCode.WAITING)
    if not therapist and not room.members_chat:
        raise DomainError(ErrorCode.CHAT_OFF)
    if room.kind is RoomKind.INDIVIDUAL:
        if to is not None and to != _other(room, sender_id):
            raise DomainError(ErrorCode.UNKNOWN_MEMBER)
        return ChatRoute(to=None, private=False)
    if to is None:
        return ChatRoute(to=None, private=False)
    if to == sender_id:
        raise DomainError(ErrorCode.UNKNOWN_MEMBER)
    target = _seated(room, to, ErrorCode.UNKNOWN_MEMBER)
    target_therapist = can(target.role, Capability.MODERATE)
    # One side a therapist, the other a member: members do not chat privately with
    # each other in a therapy group, and a therapist-to-therapist aside needs no
    # session chat.
    if therapist == target_therapist or target.role is Role.OPS:
        raise DomainError(ErrorCode.PRIVATE_CHAT_NOT_ALLOWED)
    if not target.admitted and not therapist:
        raise DomainError(ErrorCode.WAITING)
    return ChatRoute(to=to, private=True)


def check_text(text: str) -> str:
    """The text as sent, refused when it is blank (the schema bounds its length)."""
    if not text.strip():
        raise DomainError(ErrorCode.EMPTY_MESSAGE)
    return text


def _seated(room: Room, member_id: str, code: ErrorCode) -> Member:
    member = room.member(member_id)
    if member is None or not member.seated:
        raise DomainError(code)
    return member


def _other(room: Room, member_id: str) -> str | None:
    return next((m.id for m in room.seated() if m.id != member_id), None)
