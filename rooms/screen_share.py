"""Screen share and members' chat, in both room kinds: who may share, who shares now.

- Therapists may always share; a participant only once a therapist allowed it
  (`AllowScreenShare`), and revoking it ends their running share.
- At most one share per room: a second sharer is refused (`screen_share_busy`) until
  the first stops, so every page shows one share large and nobody's screen is taken
  over by surprise. A therapist may stop anyone's share.
- A share ends when its sharer is no longer admitted and connected (left, removed,
  sent back, or their transport dropped) or opens a fresh page: their media is gone
  with them.
- Whether members may write in the chat is kept here too (`SetMembersChat`), so it is
  stored with the room and holds on every process.
"""

from __future__ import annotations

from dataclasses import replace

from rooms.authority import require_capability, require_group, require_participant
from rooms.commands import AllowScreenShare, SetMembersChat, SharingCommand, StartScreenShare
from rooms.errors import DomainError, ErrorCode
from rooms.events import MembersChatChanged, Outcome, ScreenShareChanged
from rooms.member import Member, Presence
from rooms.roles import Capability, can
from rooms.room import Room


def may_share(room: Room, member: Member) -> bool:
    return can(member.role, Capability.MODERATE) or member.id in room.share_allowed


def apply_sharing(room: Room, command: SharingCommand) -> Outcome:
    match command:
        case StartScreenShare():
            return _start(room, command.by)
        case AllowScreenShare():
            return _allow(room, command)
        case SetMembersChat():
            return _members_chat(room, command)
    return _stop(room, command.by)


def _start(room: Room, by: str) -> Outcome:
    member = require_capability(room, by, Capability.PUBLISH_MEDIA)
    if not may_share(room, member):
        raise DomainError(ErrorCode.SCREEN_SHARE_NOT_ALLOWED)
    if room.screen_sharer == by:
        return room, ()
    if room.screen_sharer is not None:
        raise DomainError(ErrorCode.SCREEN_SHARE_BUSY)
    return replace(room, screen_sharer=by), (ScreenShareChanged(by, by),)


def _stop(room: Room, by: str) -> Outcome:
    member = require_capability(room, by, Capability.PUBLISH_MEDIA)
    if room.screen_sharer is None:
        raise DomainError(ErrorCode.NOT_SHARING)
    if room.screen_sharer != by and not can(member.role, Capability.MODERATE):
        raise DomainError(ErrorCode.NOT_ALLOWED, "Only the sharer or a therapist can stop it.")
    return replace(room, screen_sharer=None), (ScreenShareChanged(None, by),)


def _allow(room: Room, command: AllowScreenShare) -> Outcome:
    require_capability(room, command.by, Capability.MODERATE)
    target = require_participant(room, command.member_id)
    allowed = (
        room.share_allowed | {target.id} if command.allowed else room.share_allowed - {target.id}
    )
    if allowed == room.share_allowed:
        return room, ()
    sharer = room.screen_sharer
    if not command.allowed and sharer == target.id:
        sharer = None
    room = replace(room, share_allowed=allowed, screen_sharer=sharer)
    return room, (ScreenShareChanged(sharer, command.by),)


def _members_chat(room: Room, command: SetMembersChat) -> Outcome:
    require_capability(room, command.by, Capability.MODERATE)
    require_group(room)
    if room.members_chat == command.allowed:
        return room, ()
    return replace(room, members_chat=command.allowed), (
        MembersChatChanged(command.allowed, command.by),
    )


def end_gone_share(room: Room, fresh_page_of: str | None = None) -> Outcome:
    """After any command: a share whose sharer is not here any more ends, and so does
    one whose sharer opened a fresh page (`fresh_page_of`: a reload or a second tab has
    no capture running; a resumed page keeps its share)."""
    sharer = None if room.screen_sharer is None else room.member(room.screen_sharer)
    if sharer is None:
        return room, ()
    here = sharer.admitted and sharer.presence is Presence.CONNECTED
    if here and sharer.id != fresh_page_of:
        return room, ()
    return replace(room, screen_sharer=None), (ScreenShareChanged(None, None),)
