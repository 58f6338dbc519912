"""Connection quality from the relay's own measurements, with real packet loss.

A member's uplink drops packets (in the member's aiortc transport, before SRTP: the
network as a test can make it); the relay notices from its receive statistics, the
member's level falls to poor for its therapist, and ops get an alert.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from typing import TYPE_CHECKING, Any

from server.app import COMPONENTS
from tests.e2e.wire_member import WireMember
from tests.relay.relay_members import eventually

if TYPE_CHECKING:
    from tests.conftest import Connector, LiveServer

LOSS = 0.35


def lossy_uplink(member: WireMember, rng: random.Random) -> None:
    """Drop LOSS of the member's outgoing RTP (retransmissions too), as a bad network would."""
    for transceiver in member.pc.getTransceivers():
        transport = transceiver.sender.transport
        if getattr(transport, "_lossy", False):
            continue
        send_rtp = transport._send_rtp

        async def dropping(data: bytes, send_rtp: Any = send_rtp) -> None:
            if rng.random() >= LOSS:
                await send_rtp(data)

        transport._send_rtp = dropping
        transport._lossy = True


async def test_a_lossy_member_turns_poor_for_the_therapist_and_ops(
    live_server: LiveServer, connect: Connector
) -> None:
    room = await live_server.create_room("group", ["Alex"], admit="auto")
    tokens = {link["name"]: live_server.token_of(link["url"]) for link in room["links"]}
    therapist_client = await connect(live_server, tokens["Therapist"])
    alex_client = await connect(live_server, tokens["Alex"])
    await therapist_client.join()
    alex_id = (await alex_client.join())["self"]["id"]
    members = [WireMember(therapist_client), WireMember(alex_client)]
    try:
        for member in members:
            await member.publish()
        await eventually(
            lambda: members[0].received[(alex_id, "audio")] > 20,
            20,
            "media flows before the network turns bad",
        )
        first = await therapist_client.wait_for(
            "quality.update", lambda d: d["id"] == alex_id, wait_s=15
        )
        assert first["level"] in ("excellent", "good"), "loopback starts healthy"
        lossy_uplink(members[1], random.Random(7))
        update = await therapist_client.wait_for(
            "quality.update", lambda d: d["id"] == alex_id and d["level"] == "poor", wait_s=25
        )
        assert update["level"] == "poor"
        components = live_server.app[COMPONENTS]
        alerts = [a.kind.value for a in components.alerts.recent()]
        assert "room_degraded" in alerts
    finally:
        for member in members:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(member.close(), 10)
