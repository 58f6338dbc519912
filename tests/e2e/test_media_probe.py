"""The connection check's media probe (`net.probe`): a data-channel offer from a member
who has not joined reaches this process's media sockets (ICE and DTLS up), on the
relay's configured ports; bad offers get a clear error; probes are bounded."""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING

import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription

from rooms.errors import DomainError, ErrorCode
from server.app import COMPONENTS
from server.media.probe import MediaProbes
from server.media.relay.aiortc_hooks import HostCandidatePolicy

if TYPE_CHECKING:
    from tests.conftest import Connector, StartServer

PORTS = (47460, 47479)
CANDIDATE_PORT = re.compile(r"^a=candidate:\S+ \d+ udp \d+ \S+ (\d+) typ host", re.MULTILINE)
CONNECT_WAIT_S = 10.0


async def _probe_offer() -> RTCPeerConnection:
    pc = RTCPeerConnection()
    pc.createDataChannel("probe")
    await pc.setLocalDescription(await pc.createOffer())  # aiortc gathers here, in full
    return pc


async def _connected(pc: RTCPeerConnection) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CONNECT_WAIT_S
    while pc.connectionState != "connected":
        assert pc.connectionState not in ("failed", "closed"), pc.connectionState
        assert loop.time() < deadline, f"still {pc.connectionState}"
        await asyncio.sleep(0.05)


async def test_a_member_who_has_not_joined_reaches_the_media_ports(
    start_server: StartServer, connect: Connector
) -> None:
    server = await start_server(rtc_ports=PORTS)
    room = await server.create_room("group", ["Alex"])
    member = await connect(server, server.token_of(room["links"][1]["url"]))
    first, second = await _probe_offer(), await _probe_offer()
    try:
        reply = await member.call("net.probe", {"sdp": first.localDescription.sdp})
        assert reply["ok"], reply
        ports = [int(p) for p in CANDIDATE_PORT.findall(reply["sdp"])]
        assert ports and all(PORTS[0] <= p <= PORTS[1] for p in ports), reply["sdp"]
        await first.setRemoteDescription(RTCSessionDescription(reply["sdp"], "answer"))
        await _connected(first)
        # Checking again replaces the connection's probe: one open at a time.
        reply = await member.call("net.probe", {"sdp": second.localDescription.sdp})
        await second.setRemoteDescription(RTCSessionDescription(reply["sdp"], "answer"))
        await _connected(second)
        assert server.app[COMPONENTS].probes.open_count == 1
    finally:
        await first.close()
        await second.close()


@pytest.mark.parametrize(
    ("sdp", "code"),
    [
        ("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n", "invalid_sdp"),
        ("not sdp at all, but m=application in it", "invalid_sdp"),
        ("", "invalid_payload"),
        ("m=application " + "x" * 61_000, "invalid_payload"),
    ],
)
async def test_a_bad_probe_offer_gets_a_clear_error(
    start_server: StartServer, connect: Connector, sdp: str, code: str
) -> None:
    server = await start_server()
    room = await server.create_room("individual")
    client = await connect(server, server.token_of(room["links"][1]["url"]))
    reply = await client.call("net.probe", {"sdp": sdp})
    assert reply["ok"] is False and reply["error"]["code"] == code, reply
    assert reply["error"]["message"]
    assert server.app[COMPONENTS].probes.open_count == 0
    assert (await client.call("net.ping", {}))["ok"]  # the connection is unharmed


async def test_probes_are_bounded_in_number_and_in_time() -> None:
    probes = MediaProbes(HostCandidatePolicy(), lifetime_s=0.3, max_open=1)
    pages = [await _probe_offer(), await _probe_offer()]
    try:
        await probes.answer("a", pages[0].localDescription.sdp)
        with pytest.raises(DomainError) as refused:
            await probes.answer("b", pages[1].localDescription.sdp)
        assert refused.value.code is ErrorCode.UNAVAILABLE
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5.0
        while probes.open_count:
            assert loop.time() < deadline, "the probe outlived its lifetime"
            await asyncio.sleep(0.05)
        await probes.answer("b", pages[1].localDescription.sdp)  # room again
    finally:
        await probes.close()
        for page in pages:
            await page.close()
