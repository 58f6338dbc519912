"""relay.offer and relay.answer with SDP the relay cannot use: a clear invalid_sdp refusal,
no leg left behind, and the member can still join with a good offer afterwards."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from server.app import COMPONENTS
from tests.e2e.wire_member import WireMember
from tests.relay.relay_members import eventually

if TYPE_CHECKING:
    from tests.conftest import Connector, LiveServer

DATA_CHANNEL_ONLY = (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
    "a=fingerprint:sha-256 " + ":".join(["AA"] * 32) + "\r\na=setup:actpass\r\na=mid:0\r\n"
    "a=sctp-port:5000\r\n"
)
# Trips asserts inside aiortc's SDP parser (a payload type out of range, a bad rtpmap).
PARSER_TRIPS = [
    "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 999\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:999 opus/48000/2\r\n",
    "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111\r\n",
    "v=0\r\nm=video\r\n",
    "v=0",
    "\x00" * 100,
]


@pytest.mark.parametrize(
    "sdp",
    [DATA_CHANNEL_ONLY, *PARSER_TRIPS],
    ids=[
        "data-channel-only",
        "payload-type-999",
        "rtpmap-without-codec",
        "bare-m-line",
        "v-only",
        "nul-bytes",
    ],
)
async def test_an_unusable_offer_is_refused_and_leaves_no_leg(
    live_server: LiveServer, connect: Connector, sdp: str
) -> None:
    room = await live_server.create_room("group", ["Alex"], admit="auto")
    client = await connect(live_server, live_server.token_of(room["links"][1]["url"]))
    await client.join()
    reply = await client.call("relay.offer", {"sdp": sdp})
    assert reply["ok"] is False, reply
    assert reply["error"]["code"] == "invalid_sdp", reply
    assert reply["error"]["message"].startswith("The relay could not use this offer")
    relay = live_server.app[COMPONENTS].relays.relay(room["room"])
    assert relay is None or relay.member_ids() == []


async def test_a_bad_answer_is_refused_and_a_good_offer_still_works(
    live_server: LiveServer, connect: Connector
) -> None:
    room = await live_server.create_room("group", ["Alex"], admit="auto")
    therapist_client = await connect(live_server, live_server.token_of(room["links"][0]["url"]))
    alex_client = await connect(live_server, live_server.token_of(room["links"][1]["url"]))
    await therapist_client.join()
    alex_id = (await alex_client.join())["self"]["id"]

    assert (await alex_client.call("relay.offer", {"sdp": "v=0"}))["error"]["code"] == (
        "invalid_sdp"
    )
    reply = await alex_client.call("relay.answer", {"sdp": PARSER_TRIPS[0]})
    assert reply["ok"] is False and reply["error"]["code"] in ("invalid_sdp", "not_joined")

    members = [WireMember(therapist_client), WireMember(alex_client)]
    try:
        for member in members:
            await member.publish()
        await eventually(
            lambda: members[0].received[(alex_id, "video")] > 5,
            20,
            "the therapist receives Alex after Alex's good offer",
        )
        # Now a leg exists and an offer may be in flight or not: a bad answer is refused.
        reply = await alex_client.call("relay.answer", {"sdp": "v=0\r\nm=audio\r\n"})
        assert reply["ok"] is False and reply["error"]["code"] == "invalid_sdp", reply
    finally:
        for member in members:
            await member.close()
