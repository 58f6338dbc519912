"""Apply a command to a room: (room, command) -> (new room, events). Nothing else."""

from __future__ import annotations

from dataclasses import replace

from rooms.commands import Command, Disconnect, EndRoom, Join, Leave, SetMedia, Tick
from rooms.errors import DomainError
from rooms.events import (
    DomainEvent,
    LeaveReason,
    MediaChanged,
    MemberDisconnected,
    MemberJoined,
    MemberLeft,
    MemberReconnected,
    MemberReplaced,
    RoomStateChanged,
)
from rooms.member import MediaState, Member, Presence
from rooms.roles import Capability, can
from rooms.room import INDIVIDUAL_SEATS, Room, RoomKind, RoomState

Outcome = tuple[Room, tuple[DomainEvent, ...]]


def apply(room: Room, command: Command) -> Outcome:
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
        raise DomainError("room_ended", "This session has ended.")


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
                "seat_taken",
                f"The {who} seat in this session is already taken. "
                "If this is your link, close the other window first or ask the clinic for help.",
            )
    elif len(others) >= room.policy.max_members:
        raise DomainError(
            "room_full", f"This group session is full ({room.policy.max_members} people)."
        )


def _join(room: Room, command: Join) -> Outcome:
    _ensure_open(room)
    if not can(command.role, Capability.JOIN_ROOM):
        raise DomainError("not_allowed", "This link cannot join a session.")
    if command.member_id in room.revoked:
        raise DomainError("token_revoked", "You were removed from this session.")
    events: list[DomainEvent] = []
    existing = room.member(command.member_id)
    if existing is not None and existing.seated and command.resume:
        back = existing.with_presence(Presence.CONNECTED)
        events.append(MemberReconnected(back))
        room = replace(room.with_member(back), last_activity_at=command.now)
        return room, tuple(events)
    _check_seat_free(room, command)
    if existing is not None and existing.presence is Presence.CONNECTED:
        events.append(MemberReplaced(existing))
    fresh = Member(
        id=command.member_id,
        role=command.role,
        name=command.name,
        epoch=(existing.epoch + 1) if existing is not None else 1,
        joined_at=command.now,
        media=MediaState(),
    )
    room = _activate(room, events)
    events.append(MemberJoined(fresh))
    room = replace(room.with_member(fresh), last_activity_at=command.now)
    return room, tuple(events)


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
        return room.with_member(gone), (MemberLeft(gone, LeaveReason.TIMEOUT),)
    dropped = member.with_presence(Presence.DISCONNECTED, at=command.now)
    room = replace(room.with_member(dropped), last_activity_at=command.now)
    return room, (MemberDisconnected(dropped),)


def _set_media(room: Room, command: SetMedia) -> Outcome:
    _ensure_open(room)
    member = room.require_member(command.member_id)
    media = MediaState(audio=command.audio, video=command.video)
    if media == member.media:
        return room, ()
    updated = replace(member, media=media)
    return room.with_member(updated), (MediaChanged(updated),)


def _end(room: Room, command: EndRoom) -> Outcome:
    if room.is_over:
        return room, ()
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
            room = room.with_member(gone)
            events.append(MemberLeft(gone, LeaveReason.TIMEOUT))
    if _expired(room, command.now):
        events.append(RoomStateChanged(room.state, RoomState.EXPIRED))
        room = room.with_state(RoomState.EXPIRED)
    return room, tuple(events)


def _expired(room: Room, now: float) -> bool:
    if room.seated():
        return False
    if room.state is RoomState.CREATED:
        return now - room.created_at >= room.policy.unused_expiry_s
    return now - room.last_activity_at >= room.policy.idle_expiry_s
