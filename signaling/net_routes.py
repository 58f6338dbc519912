"""The pre-join connection check's wire (ui/connection-check.js): `net.ping` for the
signaling round trip, `net.ice` for the ICE servers (STUN, TURN with this
connection's credentials) the check gathers with, and `net.probe`, a short ICE and
DTLS check against this process's media sockets. All work before `session.join`:
the check runs on the device check."""

from __future__ import annotations

from pydantic import BaseModel

from signaling import schemas as s
from signaling.connections import Connection
from signaling.dispatch import Reply, Route
from signaling.events import ClientEvent
from signaling.gateway import Signaling
from signaling.ports import IceProvider, MediaProbe


def register_net_routes(
    signaling: Signaling, ice: IceProvider, probes: MediaProbe | None = None
) -> None:
    async def ping(connection: Connection, payload: BaseModel) -> Reply:
        return {"ok": True}

    async def ice_servers(connection: Connection, payload: BaseModel) -> Reply:
        # Also how a page renews its TURN credentials in a long session.
        return {"ok": True, **ice.ice_config(connection.identity.member_id)}

    signaling.add_route(ClientEvent.NET_PING, Route(s.EmptyPayload, ping, needs_join=False))
    signaling.add_route(ClientEvent.NET_ICE, Route(s.EmptyPayload, ice_servers, needs_join=False))

    if probes is None:
        return

    async def probe(connection: Connection, payload: s.RelaySdpPayload) -> Reply:
        return {"ok": True, "sdp": await probes.answer(connection.sid, payload.sdp)}

    signaling.add_route(ClientEvent.NET_PROBE, Route(s.RelaySdpPayload, probe, needs_join=False))
