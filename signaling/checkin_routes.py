"""Emergency information at check-in, for individual rooms that ask for it (the
patient's link carries `checkin`): the patient confirms where they are and an
emergency contact before joining, for the therapist to act on in a crisis.

Shown only to the therapist, only during the session, and never stored or logged:
the server passes it straight to the room's therapists through the fan-out and
keeps nothing. The patient's page holds it and shares it again whenever a therapist
(re)joins, so a therapist who arrives later, or reloads, still sees it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from rooms.errors import ErrorCode
from rooms.room import RoomKind
from signaling import schemas as s
from signaling.connections import Connection
from signaling.dispatch import Reply, Route, error_reply
from signaling.events import ClientEvent, ServerEvent
from signaling.gateway import Signaling


def register_checkin_routes(signaling: Signaling) -> None:
    # Asked on the device check, before session.join: the form comes before joining.
    signaling.add_route(ClientEvent.CHECKIN_STATE, Route(s.EmptyPayload, _state, needs_join=False))
    signaling.add_route(ClientEvent.CHECKIN_SHARE, Route(s.CheckinPayload, _share(signaling)))


async def _state(connection: Connection, payload: BaseModel) -> Reply:
    identity = connection.identity
    return {"ok": True, "required": identity.checkin and identity.kind is RoomKind.INDIVIDUAL}


def _share(signaling: Signaling) -> Any:
    async def handle(connection: Connection, payload: BaseModel) -> Reply:
        assert isinstance(payload, s.CheckinPayload)
        identity = connection.identity
        if not (identity.checkin and identity.kind is RoomKind.INDIVIDUAL):
            return error_reply(ErrorCode.NO_CHECKIN)
        info = {
            "member": identity.member_id,
            "name": identity.name,
            "location": payload.location,
            "contact": payload.contact,
        }
        await signaling.fanout.send_to_moderators(identity.room, ServerEvent.CHECKIN_INFO, info)
        return {"ok": True}

    return handle
