"""Waiting room, moderation and floor events of group rooms: decode, build a command, run it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from rooms import commands as c
from rooms.floor_state import FloorMode, FloorSettings, QueuePolicy, TurnLimitAction
from rooms.roles import Capability, can
from signaling import schemas as s
from signaling.connections import Connection
from signaling.events import ClientEvent
from signaling.gateway import Reply, Route, Signaling, error_reply
from signaling.group_views import talk_report_view

# Each builder gets (member id of the sender, payload, now) and returns a command.
Builder = Callable[[str, Any, float], c.AnyCommand]

COMMANDS: dict[ClientEvent, tuple[type[BaseModel], Builder]] = {
    ClientEvent.LOBBY_ADMIT: (s.MemberTargetPayload, lambda by, p, t: c.Admit(by, p.member, t)),
    ClientEvent.LOBBY_DENY: (s.MemberTargetPayload, lambda by, p, t: c.Deny(by, p.member, t)),
    ClientEvent.LOBBY_SEND_BACK: (
        s.MemberTargetPayload, lambda by, p, t: c.SendBack(by, p.member, t)),
    ClientEvent.MODERATION_MUTE: (s.MemberTargetPayload, lambda by, p, t: c.Mute(by, p.member, t)),
    ClientEvent.MODERATION_MUTE_ALL: (
        s.MuteAllPayload, lambda by, p, t: c.MuteAllBut(by, p.keep, t)),
    ClientEvent.MODERATION_STOP_VIDEO: (
        s.MemberTargetPayload, lambda by, p, t: c.StopVideo(by, p.member, t)),
    ClientEvent.MODERATION_REMOVE: (
        s.MemberTargetPayload, lambda by, p, t: c.Remove(by, p.member, t)),
    ClientEvent.ROOM_LOCK: (s.LockPayload, lambda by, p, t: c.LockRoom(by, p.locked, t)),
    ClientEvent.ROOM_END: (s.EmptyPayload, lambda by, p, t: c.EndRoom(by, t)),
    ClientEvent.FLOOR_MODE: (
        s.FloorModePayload, lambda by, p, t: c.SetFloorMode(by, FloorMode(p.mode), t)),
    ClientEvent.FLOOR_SETTINGS: (
        s.FloorSettingsPayload,
        lambda by, p, t: c.ChangeFloorSettings(by, floor_settings(p), t)),
    ClientEvent.FLOOR_RAISE_HAND: (s.EmptyPayload, lambda by, p, t: c.RaiseHand(by, t)),
    ClientEvent.FLOOR_LOWER_HAND: (s.EmptyPayload, lambda by, p, t: c.LowerHand(by, t)),
    ClientEvent.FLOOR_GRANT_NEXT: (s.EmptyPayload, lambda by, p, t: c.GrantNext(by, t)),
    ClientEvent.FLOOR_GIVE: (s.MemberTargetPayload, lambda by, p, t: c.GiveFloor(by, p.member, t)),
    ClientEvent.FLOOR_YIELD: (s.EmptyPayload, lambda by, p, t: c.YieldFloor(by, t)),
    ClientEvent.FLOOR_PASS: (s.EmptyPayload, lambda by, p, t: c.PassTurn(by, t)),
    ClientEvent.FLOOR_END_TURN: (s.EmptyPayload, lambda by, p, t: c.EndTurn(by, t)),
    ClientEvent.FLOOR_SKIP: (s.MemberTargetPayload, lambda by, p, t: c.SkipTurn(by, p.member, t)),
    ClientEvent.FLOOR_EXTEND: (s.ExtendPayload, lambda by, p, t: c.ExtendTurn(by, p.seconds, t)),
}


def floor_settings(payload: s.FloorSettingsPayload) -> FloorSettings:
    return FloorSettings(
        queue_policy=QueuePolicy(payload.queue_policy),
        auto_advance=payload.auto_advance,
        turn_limit_s=payload.turn_limit_s,
        go_around_turn_s=payload.go_around_turn_s,
        warn_at_fraction=payload.warn_at_fraction,
        on_turn_limit=TurnLimitAction(payload.on_turn_limit),
        fair_share_limits=payload.fair_share_limits,
    )


def register_group_routes(signaling: Signaling) -> None:
    for event, (schema, build) in COMMANDS.items():
        signaling.add_route(event, Route(schema, _command_handler(signaling, build)))
    signaling.add_route(ClientEvent.TALK_REPORT,
                        Route(s.EmptyPayload, _talk_report_handler(signaling)))


def _command_handler(signaling: Signaling, build: Builder) -> Any:
    async def handle(connection: Connection, payload: BaseModel) -> Reply:
        identity = connection.identity
        now = signaling.clock()
        await signaling.rooms.execute(identity.room, build(identity.member_id, payload, now))
        return {"ok": True}

    return handle


def _talk_report_handler(signaling: Signaling) -> Any:
    async def handle(connection: Connection, payload: BaseModel) -> Reply:
        identity = connection.identity
        if not can(identity.role, Capability.VIEW_TALK_TIME):
            return error_reply("not_allowed", "Only therapists see talk time.")
        room = await signaling.rooms.get(identity.room)
        if room is None or room.floor is None:
            return error_reply("not_a_group", "Only group sessions have talk time.")
        return {"ok": True, "report": talk_report_view(room, signaling.clock())}

    return handle
