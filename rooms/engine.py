"""Apply a command to a room: (room, command) -> (new room, events). Nothing else."""

from __future__ import annotations

from dataclasses import replace

from rooms.authority import require_capability
from rooms.commands import (
    Admit,
    AllowScreenShare,
    AnyCommand,
    ChangeFloorSettings,
    Deny,
    Disconnect,
    EndRoom,
    EndTurn,
    ExtendTurn,
    GiveFloor,
    GrantNext,
    InviteToSpeak,
    Join,
    Leave,
    LockRoom,
    LowerHand,
    Mute,
    MuteAllBut,
    PassTurn,
    RaiseHand,
    Remove,
    SendBack,
    SetFloorMode,
    SetMedia,
    SetMembersChat,
    SkipTurn,
    StartScreenShare,
    StopScreenShare,
    StopVideo,
    Tick,
    Voice,
    YieldFloor,
)
from rooms.errors import DomainError, ErrorCode
from rooms.events import (
    DomainEvent,
    LeaveReason,
    MediaChanged,
    MemberDisconnected,
    MemberJoined,
    MemberLeft,
    MemberReconnected,
    MemberReplaced,
    Outcome,
    RoomStateChanged,
)
from rooms.group_floor import apply_floor, sync_floor, tick_floor
from rooms.member import Admission, MediaState, Member, Presence
from rooms.moderation import apply_moderation
from rooms.roles import Capability, Role, can
from rooms.room import INDIVIDUAL_SEATS, AdmitPolicy, Room, RoomKind, RoomState
from rooms.screen_share import apply_sharing, end_gone_share

# EndRoom by the server itself (admin API, retention), not by a member.
# Not a possible member id: those come from tokens as "p_" + url-safe random.
SYSTEM = "@system"

MODERATION = (Admit, Deny, SendBack, Remove, Mute, MuteAllBut, StopVideo, LockRoom)
FLOOR = (
    SetFloorMode,
    ChangeFloorSettings,
    RaiseHand,
    LowerHand,
    GrantNext,
    GiveFloor,
    InviteToSpeak,
    YieldFloor,
    PassTurn,
    EndTurn,
    SkipTurn,
    ExtendTurn,
    Voice,
)


SHARING = (StartScreenShare, StopScreenShare, AllowScreenShare, SetMembersChat)


def apply(room: Room, command: AnyCommand) -> Outcome:
    """Apply one command; the floor then follows whoever is admitted and seated, and a
    screen share ends with its sharer's presence."""
    room, events = _apply(room, command)
    fresh_page = command.member_id if isinstance(command, Join) and not command.resume else None
    room, share_ended = end_gone_share(room, fresh_page)
    events = (*events, *share_ended)
    if room.floor is None:
        return room, events
    room, synced = sync_floor(room, command.now)
    return room, (*events, *synced)


def _apply(room: Room, command: AnyCommand) -> Outcome:
    if isinstance(command, MODERATION):
        return apply_moderation(room, command)
    if isinstance(command, FLOOR):
        return apply_floor(room, command)
    if isinstance(command, SHARING):
        return apply_sharing(room, command)
    match command:
        case Join():
            return _join(room, command)
        case Leave():
            return _leave(room, command)
        case Disconnect():
            return _disconnect(room, command)
        case SetMedia():
            return _set_media(room, command)
        case EndRoom():
            return _end(room, command)
        case Tick():
            return _tick(room, command)
    raise TypeError(f"unknown command {command!r}")  # pragma: no cover


def _ensure_open(room: Room) -> None:
    if room.is_over:
        raise DomainError(ErrorCode.ROOM_ENDED)


def _activate(room: Room, events: list[DomainEvent]) -> Room:
    if room.state is RoomState.CREATED:
        events.append(RoomStateChanged(room.state, RoomState.ACTIVE))
        return room.with_state(RoomState.ACTIVE)
    return room


def _check_seat_free(room: Room, command: Join) -> None:
    others = [m for m in room.seated() if m.id != command.member_id]
    if room.kind is RoomKind.INDIVIDUAL:
        holders = [m for m in others if m.role is command.role]
        if len(holders) >= INDIVIDUAL_SEATS.get(command.role, 0):
            who = "therapist" if command.role.value == "therapist" else "patient"
            raise DomainError(
                ErrorCode.SEAT_TAKEN,
                f"The {who} seat in this session is already taken. "
                "If this is your link, close the other window first or ask the clinic for help.",
            )
    elif len(others) >= room.policy.max_members:
        raise DomainError(
            ErrorCode.ROOM_FULL, f"This group session is full ({room.policy.max_members} people)."
        )


def _join(room: Room, command: Join) -> Outcome:
    _ensure_open(room)
    if not can(command.role, Capability.JOIN_ROOM):
        raise DomainError(ErrorCode.NOT_ALLOWED, "This link cannot join a session.")
    if command.member_id in room.revoked:
        raise DomainError(ErrorCode.TOKEN_REVOKED)
    events: list[DomainEvent] = []
    existing = room.member(command.member_id)
    returning = existing is not None and existing.seated
    if existing is not None and existing.seated and command.resume:
        back = existing.with_presence(Presence.CONNECTED)
        events.append(MemberReconnected(back))
        room = replace(room.with_member(back), last_activity_at=command.now)
        return room, tuple(events)
    _check_seat_free(room, command)
    if not returning and room.locked and command.role is not Role.THERAPIST:
        raise DomainError(ErrorCode.ROOM_LOCKED)
    if existing is not None and existing.presence is Presence.CONNECTED:
        events.append(MemberReplaced(existing))
    fresh = Member(
        id=command.member_id,
        role=command.role,
        name=command.name,
        epoch=(existing.epoch + 1) if existing is not None else 1,
        joined_at=command.now,
        media=MediaState(),
        admission=_admission(room, command, existing if returning else None),
        muted_by_moderator=returning and existing is not None and existing.muted_by_moderator,
        video_stopped_by_moderator=(
            returning and existing is not None and existing.video_stopped_by_moderator
        ),
    )
    room = _activate(room, events)
    events.append(MemberJoined(fresh))
    room = replace(room.with_member(fresh), last_activity_at=command.now)
    return room, tuple(events)


def _admission(room: Room, command: Join, seated: Member | None) -> Admission:
    """Group participants wait for a therapist unless the room admits on arrival.

    A member who still holds a seat (a reload, a second tab) keeps their admission;
    moderator mutes are kept too (see _join), so a reload cannot undo them.
    """
    if seated is not None:
        return seated.admission
    if room.kind is RoomKind.GROUP and command.role is Role.PARTICIPANT:
        return Admission.ADMITTED if room.policy.admit is AdmitPolicy.AUTO else Admission.WAITING
    return Admission.ADMITTED


def _leave(room: Room, command: Leave) -> Outcome:
    member = room.member(command.member_id)
    if member is None or not member.seated:
        return room, ()
    gone = member.with_presence(Presence.LEFT)
    room = replace(room.with_member(gone), last_activity_at=command.now)
    return room, (MemberLeft(gone, LeaveReason.LEFT),)


def _disconnect(room: Room, command: Disconnect) -> Outcome:
    member = room.member(command.member_id)
    if member is None or member.presence is not Presence.CONNECTED:
        return room, ()
    if room.policy.grace_s == 0:
        gone = member.with_presence(Presence.LEFT)
        room = replace(room.with_member(gone), last_activity_at=command.now)
        return room, (MemberLeft(gone, LeaveReason.TIMEOUT),)
    dropped = member.with_presence(Presence.DISCONNECTED, at=command.now)
    room = replace(room.with_member(dropped), last_activity_at=command.now)
    return room, (MemberDisconnected(dropped),)


def _set_media(room: Room, command: SetMedia) -> Outcome:
    _ensure_open(room)
    member = room.require_member(command.member_id)
    audio_only = member.media.audio_only if command.audio_only is None else command.audio_only
    media = MediaState(
        audio=command.audio, video=command.video and not audio_only, audio_only=audio_only
    )
    # The member's own unmute (camera on) lifts a moderator's mute (video stop).
    updated = replace(
        member,
        media=media,
        muted_by_moderator=member.muted_by_moderator and not command.audio,
        video_stopped_by_moderator=member.video_stopped_by_moderator and not command.video,
    )
    if updated == member:
        return room, ()
    return room.with_member(updated), (MediaChanged(updated),)


def _end(room: Room, command: EndRoom) -> Outcome:
    if room.is_over:
        return room, ()
    if command.by != SYSTEM:
        require_capability(room, command.by, Capability.MODERATE)
    events: list[DomainEvent] = []
    for member in room.seated():
        gone = member.with_presence(Presence.LEFT)
        room = room.with_member(gone)
        events.append(MemberLeft(gone, LeaveReason.ENDED))
    events.append(RoomStateChanged(room.state, RoomState.ENDED))
    room = replace(room.with_state(RoomState.ENDED), last_activity_at=command.now)
    return room, tuple(events)


def _tick(room: Room, command: Tick) -> Outcome:
    if room.is_over:
        return room, ()
    events: list[DomainEvent] = []
    for member in room.members:
        if (
            member.presence is Presence.DISCONNECTED
            and member.disconnected_at is not None
            and command.now - member.disconnected_at >= room.policy.grace_s
        ):
            gone = member.with_presence(Presence.LEFT)
            # Idle expiry counts from the moment the room became empty.
            room = replace(room.with_member(gone), last_activity_at=command.now)
            events.append(MemberLeft(gone, LeaveReason.TIMEOUT))
    if _expired(room, command.now):
        events.append(RoomStateChanged(room.state, RoomState.EXPIRED))
        room = room.with_state(RoomState.EXPIRED)
        return room, tuple(events)
    room, floor_events = tick_floor(room, command.now)
    return room, (*events, *floor_events)


def _expired(room: Room, now: float) -> bool:
    if room.seated():
        return False
    if room.state is RoomState.CREATED:
        return now - room.created_at >= room.policy.unused_expiry_s
    return now - room.last_activity_at >= room.policy.idle_expiry_s
