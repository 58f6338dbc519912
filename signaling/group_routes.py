"""Waiting room, moderation and floor events of group rooms: decode, build a command, run it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from rooms.errors import ErrorCode
from rooms.roles import Capability, can
from signaling import codec
from signaling import schemas as s
from signaling.connections import Connection
from signaling.dispatch import Reply, Route, error_reply
from signaling.events import ClientEvent
from signaling.gateway import Signaling
from signaling.group_views import talk_report_view


def register_group_routes(signaling: Signaling) -> None:
    for event, command in (codec.GROUP_COMMANDS | codec.SHARING_COMMANDS).items():
        signaling.add_route(event, Route(command.schema, _command_handler(signaling, event)))
    signaling.add_route(
        ClientEvent.TALK_REPORT, Route(s.EmptyPayload, _talk_report_handler(signaling))
    )


def _command_handler(signaling: Signaling, event: ClientEvent) -> Any:
    async def handle(connection: Connection, payload: BaseModel) -> Reply:
        identity = connection.identity
        command = codec.group_command(event, identity, payload, signaling.clock())
        await signaling.rooms.perform(identity.room, command)
        return {"ok": True}

    return handle


def _talk_report_handler(signaling: Signaling) -> Any:
    async def handle(connection: Connection, payload: BaseModel) -> Reply:
        identity = connection.identity
        if not can(identity.role, Capability.VIEW_TALK_TIME):
            return error_reply(ErrorCode.NOT_ALLOWED, "Only therapists see talk time.")
        room = await signaling.rooms.get(identity.room)
        if room is None or room.floor is None:
            return error_reply(ErrorCode.NOT_A_GROUP, "Only group sessions have talk time.")
        return {"ok": True, "report": talk_report_view(room, signaling.clock())}

    return handle
