"""Through the real app and signaling (issue 14): a member whose REMB says its downlink
cannot carry even one camera is told `video.paused` for every camera and still hears
everyone; a member who chooses audio only is shown so to the therapist and sent no
camera by the relay.

Members are aiortc pages on the wire (WireMember); the weak member's receivers send a
real low REMB (tests/relay/test_relay_last_n.py's FixedEstimate). The app's own
last-N settings apply (10 s startup grace; with no loss on loopback, an estimate below
0.7 of what is needed for 10 s).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from server.app import COMPONENTS
from server.media.relay.aiortc_hooks import RECEIVER_BITRATE_ESTIMATOR
from tests.e2e.wire_member import WireMember
from tests.relay.relay_members import eventually
from tests.relay.test_relay_last_n import FixedEstimate

if TYPE_CHECKING:
    from tests.conftest import Client, Connector, LiveServer

NAMES = ("Alex", "Sam", "Kim")


async def admitted_group(
    live_server: LiveServer, connect: Connector
) -> tuple[dict[str, Any], dict[str, Client], dict[str, str]]:
    room = await live_server.create_room("group", list(NAMES))  # manual admission
    clients, ids = {}, {}
    for link in room["links"]:
        client = await connect(live_server, live_server.token_of(link["url"]))
        ids[link["name"]] = (await client.join())["self"]["id"]
        clients[link["name"]] = client
    for name in NAMES:
        ack = await clients["Therapist"].call("lobby.admit", {"member": ids[name]})
        assert ack == {"ok": True}, ack
        await clients[name].wait_for("lobby.admitted")
    return room, clients, ids


def estimate_downlink(member: WireMember, bitrate: int) -> None:
    for transceiver in member.pc.getTransceivers():
        if transceiver.kind == "video":
            setattr(transceiver.receiver, RECEIVER_BITRATE_ESTIMATOR, FixedEstimate(bitrate))


async def test_a_weak_member_is_told_video_paused_and_audio_only_shows_to_the_therapist(
    live_server: LiveServer, connect: Connector
) -> None:
    room, clients, ids = await admitted_group(live_server, connect)
    members = {name: WireMember(client) for name, client in clients.items()}
    try:
        for member in members.values():
            await member.publish()
        await eventually(
            lambda: all(
                members[a].received[(ids[b], kind)] > 10
                for a in members
                for b in members
                if a != b
                for kind in ("audio", "video")
            ),
            30,
            "everyone receives everyone",
        )
        relay = live_server.app[COMPONENTS].relays.relay(room["room"])
        assert relay is not None
        for name, member in members.items():
            estimate_downlink(member, 60_000 if name == "Sam" else 50_000_000)

        # Sam's link is too short for even one camera: audio comes first, so no camera
        # flows to Sam, and Sam still hears everyone. (Which camera goes last, the
        # therapist's, is tests/relay/test_relay_last_n.py's and test_last_n.py's.)
        others = {ids["Therapist"], ids["Alex"], ids["Kim"]}
        paused = await clients["Sam"].wait_for(
            "video.paused", lambda d: set(d["members"]) == others, wait_s=30
        )
        assert relay.paused_cameras(ids["Sam"]) == set(paused["members"])
        sam = members["Sam"]
        heard = {b: sam.received[(ids[b], "audio")] for b in ("Therapist", "Alex", "Kim")}
        await eventually(
            lambda: all(sam.received[(ids[b], "audio")] > n + 25 for b, n in heard.items()),
            10,
            "Sam still hears everyone",
        )
        assert not clients["Alex"].peek("video.paused")

        # Alex chooses audio only: its camera stops, the therapist is told, and the relay
        # sends Alex no camera at all.
        ack = await clients["Alex"].call(
            "media.state", {"audio": True, "video": False, "audio_only": True}
        )
        assert ack == {"ok": True}, ack
        shown = await clients["Therapist"].wait_for(
            "peer.media", lambda d: d["id"] == ids["Alex"] and d["audio_only"]
        )
        assert shown["video"] is False
        await eventually(
            lambda: relay.paused_cameras(ids["Alex"]) == {ids["Therapist"], ids["Sam"], ids["Kim"]},
            5,
            "Alex is sent no camera",
        )
        assert relay.stats().publishers[ids["Alex"]]["video"].gate_open is False
    finally:
        for member in members.values():
            with contextlib.suppress(Exception):
                await member.close()
