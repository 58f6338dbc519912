"""The one place where wire messages meet the domain, in both directions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from rooms.commands import (
    Admit,
    AllowScreenShare,
    AnyCommand,
    ChangeFloorSettings,
    Deny,
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
    YieldFloor,
)
from rooms.events import (
    DomainEvent,
    FloorChanged,
    LeaveReason,
    MediaChanged,
    MemberAdmitted,
    MemberDisconnected,
    MemberJoined,
    MemberLeft,
    MemberModerated,
    MemberReconnected,
    MemberReplaced,
    MembersChatChanged,
    MemberSentBack,
    RoomLockChanged,
    RoomStateChanged,
    ScreenShareChanged,
)
from rooms.floor.state import FloorMode, FloorSettings, QueuePolicy, TurnLimitAction
from rooms.member import Admission, Member, Presence
from rooms.roles import Capability, can
from rooms.room import Room, RoomState
from signaling.events import ClientEvent, ServerEvent
from signaling.group_views import floor_event_view, floor_view, waiting_view
from signaling.ports import Identity
from signaling.schemas import (
    EmptyPayload,
    ExtendPayload,
    FloorModePayload,
    FloorSettingsPayload,
    JoinPayload,
    LockPayload,
    MediaStatePayload,
    MemberTargetPayload,
    MuteAllPayload,
    ScreenAllowPayload,
)


class Audience(StrEnum):
    # Admitted members of the room.
    ROOM = "room"
    # Therapists: the waiting room, talk-time reports.
    MODERATORS = "moderators"
    # One member, waiting or admitted.
    MEMBER = "member"


@dataclass(frozen=True)
class Outgoing:
    event: ServerEvent
    payload: dict[str, Any]
    audience: Audience = Audience.ROOM
    member: str | None = None
    # Not sent to this member (the subject of the event already knows).
    except_member: str | None = None


# Wire -> domain


def join_command(identity: Identity, payload: JoinPayload, now: float) -> Join:
    return Join(
        member_id=identity.member_id,
        role=identity.role,
        name=identity.name,
        now=now,
        resume=payload.resume,
    )


def leave_command(identity: Identity, now: float) -> Leave:
    return Leave(member_id=identity.member_id, now=now)


def media_command(identity: Identity, payload: MediaStatePayload, now: float) -> SetMedia:
    return SetMedia(
        member_id=identity.member_id,
        audio=payload.audio,
        video=payload.video,
        now=now,
        audio_only=payload.audio_only,
    )


# Group rooms: waiting room, moderation and floor. The sender is always the command's
# `by`; a payload only ever names the member acted on.
GroupBuilder = Callable[[Identity, Any, float], AnyCommand]


@dataclass(frozen=True)
class GroupCommand:
    schema: type[BaseModel]
    build: GroupBuilder


def _on_member(command: Callable[[str, str, float], AnyCommand]) -> GroupCommand:
    """`{"member": ID}`: a command on one other member."""
    return GroupCommand(
        MemberTargetPayload, lambda by, p, now: command(by.member_id, p.member, now)
    )


def _by_sender(command: Callable[[str, float], AnyCommand]) -> GroupCommand:
    """`{}`: a command about the sender's own turn, hand or room."""
    return GroupCommand(EmptyPayload, lambda by, p, now: command(by.member_id, now))


def floor_settings(payload: FloorSettingsPayload) -> FloorSettings:
    return FloorSettings(
        queue_policy=QueuePolicy(payload.queue_policy),
        auto_advance=payload.auto_advance,
        turn_limit_s=payload.turn_limit_s,
        go_around_turn_s=payload.go_around_turn_s,
        warn_at_fraction=payload.warn_at_fraction,
        on_turn_limit=TurnLimitAction(payload.on_turn_limit),
        fair_share_limits=payload.fair_share_limits,
    )


GROUP_COMMANDS: dict[ClientEvent, GroupCommand] = {
    ClientEvent.LOBBY_ADMIT: _on_member(Admit),
    ClientEvent.LOBBY_DENY: _on_member(Deny),
    ClientEvent.LOBBY_SEND_BACK: _on_member(SendBack),
    ClientEvent.MODERATION_MUTE: _on_member(Mute),
    ClientEvent.MODERATION_MUTE_ALL: GroupCommand(
        MuteAllPayload, lambda by, p, now: MuteAllBut(by.member_id, p.keep, now)
    ),
    ClientEvent.MODERATION_STOP_VIDEO: _on_member(StopVideo),
    ClientEvent.MODERATION_REMOVE: _on_member(Remove),
    ClientEvent.ROOM_LOCK: GroupCommand(
        LockPayload, lambda by, p, now: LockRoom(by.member_id, p.locked, now)
    ),
    ClientEvent.ROOM_END: _by_sender(EndRoom),
    ClientEvent.FLOOR_MODE: GroupCommand(
        FloorModePayload, lambda by, p, now: SetFloorMode(by.member_id, FloorMode(p.mode), now)
    ),
    ClientEvent.FLOOR_SETTINGS: GroupCommand(
        FloorSettingsPayload,
        lambda by, p, now: ChangeFloorSettings(by.member_id, floor_settings(p), now),
    ),
    ClientEvent.FLOOR_RAISE_HAND: _by_sender(RaiseHand),
    ClientEvent.FLOOR_LOWER_HAND: _by_sender(LowerHand),
    ClientEvent.FLOOR_GRANT_NEXT: _by_sender(GrantNext),
    ClientEvent.FLOOR_GIVE: _on_member(GiveFloor),
    ClientEvent.FLOOR_INVITE: _on_member(InviteToSpeak),
    ClientEvent.FLOOR_YIELD: _by_sender(YieldFloor),
    ClientEvent.FLOOR_PASS: _by_sender(PassTurn),
    ClientEvent.FLOOR_END_TURN: _by_sender(EndTurn),
    ClientEvent.FLOOR_SKIP: _on_member(SkipTurn),
    ClientEvent.FLOOR_EXTEND: GroupCommand(
        ExtendPayload, lambda by, p, now: ExtendTurn(by.member_id, p.seconds, now)
    ),
}


# Screen share, both room kinds (rooms/screen_share.py); same handler as the group's.
SHARING_COMMANDS: dict[ClientEvent, GroupCommand] = {
    ClientEvent.SCREEN_START: _by_sender(StartScreenShare),
    ClientEvent.SCREEN_STOP: _by_sender(StopScreenShare),
    ClientEvent.SCREEN_ALLOW: GroupCommand(
        ScreenAllowPayload,
        lambda by, p, now: AllowScreenShare(by.member_id, p.member, p.allowed, now),
    ),
}


def members_chat_command(identity: Identity, allowed: bool, now: float) -> SetMembersChat:
    return SetMembersChat(identity.member_id, allowed, now)


def group_command(
    event: ClientEvent, identity: Identity, payload: BaseModel, now: float
) -> AnyCommand:
    return (GROUP_COMMANDS.get(event) or SHARING_COMMANDS[event]).build(identity, payload, now)


# Domain -> wire


def peer_view(member: Member) -> dict[str, Any]:
    return {
        "id": member.id,
        "role": member.role.value,
        "name": member.name,
        "connected": member.presence is Presence.CONNECTED,
        "epoch": member.epoch,
        "media": media_view(member),
    }


def media_view(member: Member) -> dict[str, Any]:
    return {
        "audio": member.media.audio,
        "video": member.media.video,
        "muted_by_moderator": member.muted_by_moderator,
        "video_stopped_by_moderator": member.video_stopped_by_moderator,
        "audio_only": member.media.audio_only,
    }


def screen_view(room: Room) -> dict[str, Any]:
    """Who shares a screen now (null: nobody) and which participants may."""
    return {"sharer": room.screen_sharer, "allowed": sorted(room.share_allowed)}


def room_view(room: Room) -> dict[str, Any]:
    return {"id": room.id, "kind": room.kind.value, "state": room.state.value}


def session_view(room: Room, member: Member, now: float) -> dict[str, Any]:
    """What a member needs on (re)join: the others, and the group's shared state."""
    view: dict[str, Any] = {
        "admission": member.admission.value,
        "peers": peers_of(room, member.id) if member.admitted else [],
        "media": media_view(member),
    }
    if member.admitted:
        view["screen"] = screen_view(room)
    if room.floor is not None:
        view["locked"] = room.locked
        if member.admitted:
            view["floor"] = floor_view(room.floor, now)
        if can(member.role, Capability.MODERATE):
            view["waiting"] = waiting_view(room)
    return view


def peers_of(room: Room, member_id: str) -> list[dict[str, Any]]:
    """The admitted others: waiting members are seen by therapists only (lobby.state)."""
    return [peer_view(m) for m in room.seated() if m.admitted and m.id != member_id]


def to_wire(room: Room, events: Sequence[DomainEvent], now: float) -> list[Outgoing]:
    messages: list[Outgoing] = []
    lobby_changed = False
    for event in events:
        match event:
            case MemberJoined(member=member) if not member.admitted:
                lobby_changed = True
            case MemberJoined(member=member):
                messages.append(
                    _to_others(ServerEvent.PEER_JOINED, {"peer": peer_view(member)}, member.id)
                )
            case MemberAdmitted(member=member):
                lobby_changed = True
                # The others already in the room: without them the page has no tile (and
                # plays no audio) for anyone admitted before this member.
                admitted: dict[str, Any] = {
                    "locked": room.locked,
                    "peers": peers_of(room, member.id),
                    "screen": screen_view(room),
                }
                if room.floor is not None:
                    admitted["floor"] = floor_view(room.floor, now)
                messages.append(_to_member(ServerEvent.LOBBY_ADMITTED, admitted, member.id))
                messages.append(
                    _to_others(ServerEvent.PEER_JOINED, {"peer": peer_view(member)}, member.id)
                )
            case MemberSentBack(member=member):
                lobby_changed = True
                messages.append(_to_member(ServerEvent.LOBBY_SENT_BACK, {}, member.id))
                messages.append(
                    _to_others(
                        ServerEvent.PEER_LEFT, {"id": member.id, "reason": "sent_back"}, member.id
                    )
                )
            case MemberReconnected(member=member) if member.admitted:
                messages.append(
                    _to_others(ServerEvent.PEER_RECONNECTED, {"id": member.id}, member.id)
                )
            case MemberDisconnected(member=member) if member.admitted:
                messages.append(
                    _to_others(ServerEvent.PEER_DISCONNECTED, {"id": member.id}, member.id)
                )
            case MemberLeft(member=member, reason=reason):
                if reason in (LeaveReason.REMOVED, LeaveReason.DENIED):
                    messages.append(
                        _to_member(ServerEvent.SESSION_REMOVED, {"reason": reason.value}, member.id)
                    )
                if member.admission is Admission.WAITING:
                    lobby_changed = True
                    if reason is LeaveReason.ENDED:
                        # Not in the room's channel: the waiting room is told on its own.
                        messages.append(
                            _to_member(
                                ServerEvent.SESSION_ENDED, {"reason": reason.value}, member.id
                            )
                        )
                else:
                    messages.append(
                        _to_others(
                            ServerEvent.PEER_LEFT,
                            {"id": member.id, "reason": reason.value},
                            member.id,
                        )
                    )
            case MediaChanged(member=member) | MemberModerated(member=member):
                messages.append(
                    Outgoing(ServerEvent.PEER_MEDIA, {"id": member.id, **media_view(member)})
                )
            case MemberReplaced(member=member):
                messages.append(_to_member(ServerEvent.SESSION_REPLACED, {}, member.id))
            case ScreenShareChanged():
                messages.append(Outgoing(ServerEvent.SCREEN_STATE, screen_view(room)))
            case MembersChatChanged(allowed=allowed):
                messages.append(Outgoing(ServerEvent.CHAT_STATE, {"members_allowed": allowed}))
            case RoomLockChanged(locked=locked):
                messages.append(Outgoing(ServerEvent.ROOM_LOCKED, {"locked": locked}))
            case FloorChanged(events=floor_events) if room.floor is not None:
                messages.append(
                    Outgoing(
                        ServerEvent.FLOOR_STATE,
                        {
                            "floor": floor_view(room.floor, now),
                            "events": [floor_event_view(e) for e in floor_events],
                        },
                    )
                )
            case RoomStateChanged(new=RoomState.ENDED | RoomState.EXPIRED as new):
                messages.append(Outgoing(ServerEvent.SESSION_ENDED, {"reason": new.value}))
            case _:
                pass
    if lobby_changed:
        messages.append(
            Outgoing(
                ServerEvent.LOBBY_STATE,
                {"waiting": waiting_view(room)},
                audience=Audience.MODERATORS,
            )
        )
    return messages


def _to_others(event: ServerEvent, payload: dict[str, Any], member_id: str) -> Outgoing:
    return Outgoing(event, payload, except_member=member_id)


def _to_member(event: ServerEvent, payload: dict[str, Any], member_id: str) -> Outgoing:
    return Outgoing(event, payload, audience=Audience.MEMBER, member=member_id)
