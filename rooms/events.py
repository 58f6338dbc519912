"""What happened to a room. Event names live in one enum; the codec maps them to the wire."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from rooms.floor.events import FloorEvent
from rooms.member import Member
from rooms.room import Room, RoomState


class EventName(StrEnum):
    MEMBER_JOINED = "member_joined"
    MEMBER_RECONNECTED = "member_reconnected"
    MEMBER_DISCONNECTED = "member_disconnected"
    MEMBER_LEFT = "member_left"
    MEMBER_REPLACED = "member_replaced"
    MEDIA_CHANGED = "media_changed"
    ROOM_STATE_CHANGED = "room_state_changed"
    MEMBER_ADMITTED = "member_admitted"
    MEMBER_SENT_BACK = "member_sent_back"
    MEMBER_MODERATED = "member_moderated"
    ROOM_LOCK_CHANGED = "room_lock_changed"
    FLOOR_CHANGED = "floor_changed"
    SCREEN_SHARE_CHANGED = "screen_share_changed"
    MEMBERS_CHAT_CHANGED = "members_chat_changed"


class LeaveReason(StrEnum):
    LEFT = "left"
    TIMEOUT = "timeout"
    REMOVED = "removed"
    DENIED = "denied"
    ENDED = "ended"


class ModerationAction(StrEnum):
    MUTED = "muted"
    VIDEO_STOPPED = "video_stopped"


@dataclass(frozen=True)
class MemberJoined:
    member: Member
    name: EventName = EventName.MEMBER_JOINED


@dataclass(frozen=True)
class MemberReconnected:
    member: Member
    name: EventName = EventName.MEMBER_RECONNECTED


@dataclass(frozen=True)
class MemberDisconnected:
    member: Member
    name: EventName = EventName.MEMBER_DISCONNECTED


@dataclass(frozen=True)
class MemberLeft:
    member: Member
    reason: LeaveReason
    name: EventName = EventName.MEMBER_LEFT


@dataclass(frozen=True)
class MemberReplaced:
    """The same link was opened again elsewhere: the older connection must go."""

    member: Member
    name: EventName = EventName.MEMBER_REPLACED


@dataclass(frozen=True)
class MediaChanged:
    member: Member
    name: EventName = EventName.MEDIA_CHANGED


@dataclass(frozen=True)
class RoomStateChanged:
    old: RoomState
    new: RoomState
    name: EventName = EventName.ROOM_STATE_CHANGED


@dataclass(frozen=True)
class MemberAdmitted:
    member: Member
    by: str
    name: EventName = EventName.MEMBER_ADMITTED


@dataclass(frozen=True)
class MemberSentBack:
    member: Member
    by: str
    name: EventName = EventName.MEMBER_SENT_BACK


@dataclass(frozen=True)
class MemberModerated:
    member: Member
    action: ModerationAction
    by: str
    name: EventName = EventName.MEMBER_MODERATED


@dataclass(frozen=True)
class RoomLockChanged:
    locked: bool
    by: str
    name: EventName = EventName.ROOM_LOCK_CHANGED


@dataclass(frozen=True)
class FloorChanged:
    """The floor moved on: its own events, in order; the room holds the new state."""

    events: tuple[FloorEvent, ...]
    name: EventName = EventName.FLOOR_CHANGED


@dataclass(frozen=True)
class ScreenShareChanged:
    """Who shares, or who may share, changed; the room holds the new state. `by` is
    who caused it (None: the server, e.g. the sharer left)."""

    sharer: str | None
    by: str | None
    name: EventName = EventName.SCREEN_SHARE_CHANGED


@dataclass(frozen=True)
class MembersChatChanged:
    allowed: bool
    by: str
    name: EventName = EventName.MEMBERS_CHAT_CHANGED


DomainEvent = (
    MemberJoined
    | MemberReconnected
    | MemberDisconnected
    | MemberLeft
    | MemberReplaced
    | MediaChanged
    | RoomStateChanged
    | MemberAdmitted
    | MemberSentBack
    | MemberModerated
    | RoomLockChanged
    | FloorChanged
    | ScreenShareChanged
    | MembersChatChanged
)

# What a room command returns: the new room and what happened, in order.
Outcome = tuple[Room, tuple[DomainEvent, ...]]
