"""A group room end to end with real parts: socket.io signaling, the relay, aiortc members.

The therapist moderates through the wire; the relay's gates must follow: a
member muted by the therapist is silent to everyone, even though its client
keeps sending audio, until the member unmutes itself.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from tests.e2e.wire_member import WireMember
from tests.relay.relay_members import eventually

if TYPE_CHECKING:
    from tests.conftest import Connector, LiveServer

MEDIA_WAIT_S = 20.0


async def grows(member: WireMember, key: tuple[str, str], window_s: float = 1.5) -> bool:
    before = member.received[key]
    await asyncio.sleep(window_s)
    return member.received[key] > before


async def test_moderation_and_floor_drive_the_relay_gates(
    live_server: LiveServer, connect: Connector
) -> None:
    room = await live_server.create_room("group", ["Alex", "Sam"], admit="manual")
    links = {link["name"]: link["url"].split("#t=", 1)[1] for link in room["links"]}
    therapist_client = await connect(live_server, links["Therapist"])
    alex_client = await connect(live_server, links["Alex"])
    sam_client = await connect(live_server, links["Sam"])
    t_ack = await therapist_client.join()
    alex_ack = await alex_client.join()
    sam_ack = await sam_client.join()
    assert (alex_ack["admission"], alex_ack["peers"]) == ("waiting", [])
    refused = await alex_client.call("relay.offer", {"sdp": "v=0"})
    assert refused["error"]["code"] == "waiting"

    alex_id, sam_id, t_id = alex_ack["self"]["id"], sam_ack["self"]["id"], t_ack["self"]["id"]
    await therapist_client.wait_for("lobby.state", lambda d: len(d["waiting"]) == 2)
    for member_id in (alex_id, sam_id):
        assert (await therapist_client.call("lobby.admit", {"member": member_id}))["ok"]
    admitted = await alex_client.wait_for("lobby.admitted")
    assert admitted["floor"]["mode"] == "open" and admitted["locked"] is False
    await sam_client.wait_for("lobby.admitted")

    members = {
        t_id: WireMember(therapist_client),
        alex_id: WireMember(alex_client),
        sam_id: WireMember(sam_client),
    }
    try:
        for member in members.values():
            await member.publish()
        therapist, sam = members[t_id], members[sam_id]
        await eventually(
            lambda: all(
                m.received[(p, k)] >= 5
                for m_id, m in members.items()
                for p in members
                if p != m_id
                for k in ("audio", "video")
            ),
            MEDIA_WAIT_S,
            "everyone receives everyone's audio and video through the relay",
        )

        assert (await therapist_client.call("moderation.mute", {"member": alex_id}))["ok"]
        muted = await sam_client.wait_for("peer.media", lambda d: d["id"] == alex_id)
        assert muted["muted_by_moderator"] is True
        await asyncio.sleep(0.5)  # packets already in flight
        assert not await grows(sam, (alex_id, "audio")), "a muted member's audio still flows"
        assert await grows(sam, (alex_id, "video")), "muting must not stop video"
        assert await grows(sam, (t_id, "audio")), "the therapist is still heard"
        unmute_refused = await therapist_client.call("moderation.unmute", {"member": alex_id})
        assert unmute_refused["error"]["code"] == "unknown_event"  # there is no remote unmute

        assert (await alex_client.call("media.state", {"audio": True, "video": True}))["ok"]
        assert await grows(sam, (alex_id, "audio"), 3.0), "the member's own unmute reopens it"

        assert (await therapist_client.call("floor.mode", {"mode": "directed"}))["ok"]
        await asyncio.sleep(0.5)
        assert not await grows(therapist, (sam_id, "audio")), "no floor: participants gated"
        assert await grows(sam, (t_id, "audio")), "therapists are never gated"
        assert (await therapist_client.call("floor.give", {"member": sam_id}))["ok"]
        assert await grows(therapist, (sam_id, "audio"), 3.0), "the floor holder is heard"
        assert not await grows(therapist, (alex_id, "audio")), "others stay gated"

        async def forwarded_frames() -> float:
            reply = await live_server.get("/metrics")
            for line in str(reply.body).splitlines():
                if line.startswith(
                    'telehealth_relay_frames_total{kind="video",outcome="forwarded"}'
                ):
                    return float(line.rsplit(" ", 1)[1])
            return 0.0

        loop = asyncio.get_running_loop()
        deadline = loop.time() + 15
        while await forwarded_frames() <= 0:
            assert loop.time() < deadline, "relay frames never reached /metrics"
            await asyncio.sleep(0.5)
    finally:
        for member in members.values():
            with contextlib.suppress(Exception):
                await member.close()
