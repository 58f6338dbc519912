"""Waiting room and moderation of a group room: admit, deny, send back, mute, remove, lock."""

from __future__ import annotations

from dataclasses import replace

from rooms.authority import require_capability, require_group, require_participant
from rooms.commands import (
    Admit,
    Deny,
    LockRoom,
    ModerationCommand,
    Mute,
    MuteAllBut,
    Remove,
    SendBack,
    StopVideo,
)
from rooms.errors import DomainError, ErrorCode
from rooms.events import (
    DomainEvent,
    LeaveReason,
    MemberAdmitted,
    MemberLeft,
    MemberModerated,
    MemberSentBack,
    ModerationAction,
    Outcome,
    RoomLockChanged,
)
from rooms.member import Admission, Member, Presence
from rooms.roles import Capability
from rooms.room import Room


def apply_moderation(room: Room, command: ModerationCommand) -> Outcome:
    require_group(room)
    require_capability(room, command.by, Capability.MODERATE)
    match command:
        case Admit():
            return _admit(room, command)
        case Deny():
            return _expel(room, command.member_id, command.by, LeaveReason.DENIED, waiting=True)
        case SendBack():
            return _send_back(room, command)
        case Remove():
            return _expel(room, command.member_id, command.by, LeaveReason.REMOVED, waiting=False)
        case Mute():
            return _mute(room, (require_participant(room, command.member_id),), command.by)
        case MuteAllBut():
            return _mute_all_but(room, command)
        case StopVideo():
            return _stop_video(room, command)
        case LockRoom():
            if room.locked == command.locked:
                return room, ()
            return replace(room, locked=command.locked), (
                RoomLockChanged(command.locked, command.by),
            )
    raise TypeError(f"unknown command {command!r}")  # pragma: no cover


def _admit(room: Room, command: Admit) -> Outcome:
    member = require_participant(room, command.member_id)
    if member.admission is not Admission.WAITING:
        raise DomainError(ErrorCode.NOT_WAITING)
    admitted = replace(member, admission=Admission.ADMITTED)
    return room.with_member(admitted), (MemberAdmitted(admitted, command.by),)


def _send_back(room: Room, command: SendBack) -> Outcome:
    member = require_participant(room, command.member_id)
    if member.admission is not Admission.ADMITTED:
        raise DomainError(ErrorCode.NOT_ADMITTED)
    waiting = replace(member, admission=Admission.WAITING)
    return room.with_member(waiting), (MemberSentBack(waiting, command.by),)


def _expel(room: Room, member_id: str, by: str, reason: LeaveReason, *, waiting: bool) -> Outcome:
    """Deny (from the waiting room) or remove (from the session): the link stops working."""
    member = require_participant(room, member_id)
    if waiting and member.admission is not Admission.WAITING:
        raise DomainError(ErrorCode.NOT_WAITING)
    gone = member.with_presence(Presence.LEFT)
    room = replace(room.with_member(gone), revoked=room.revoked | {member_id})
    return room, (MemberLeft(gone, reason),)


def _mute(room: Room, members: tuple[Member, ...], by: str) -> Outcome:
    events: list[DomainEvent] = []
    for member in members:
        if member.muted_by_moderator or not member.admitted:
            continue
        muted = replace(member, muted_by_moderator=True)
        room = room.with_member(muted)
        events.append(MemberModerated(muted, ModerationAction.MUTED, by))
    return room, tuple(events)


def _mute_all_but(room: Room, command: MuteAllBut) -> Outcome:
    if command.keep is not None:
        require_participant(room, command.keep)
    targets = tuple(
        m for m in room.seated() if m.id in room.admitted_participants() and m.id != command.keep
    )
    return _mute(room, targets, command.by)


def _stop_video(room: Room, command: StopVideo) -> Outcome:
    member = require_participant(room, command.member_id)
    if member.video_stopped_by_moderator:
        return room, ()
    stopped = replace(member, video_stopped_by_moderator=True)
    return room.with_member(stopped), (
        MemberModerated(stopped, ModerationAction.VIDEO_STOPPED, command.by),
    )
