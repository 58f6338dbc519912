"""The relay's sockets on a port range and its public address (aiortc_hooks.ports, issue 14).

The first tests fail loudly when an aioice upgrade moves the gathering that
``component_candidates`` mirrors; the others run real aiortc members.
"""

from __future__ import annotations

import inspect
import logging
import re
import socket
from collections.abc import AsyncIterator
from typing import Any

import aioice
import aioice.ice
import pytest
from aiortc import RTCPeerConnection
from aiortc.rtcicetransport import RTCIceGatherer

from server.media.relay import GroupRelay, aiortc_hooks
from server.media.relay.aiortc_hooks import ports
from tests.relay.relay_members import (
    MEDIA_TIMEOUT,
    Group,
    MemberPages,
    eventually,
    everyone_hears_everyone,
)

ANNOUNCED = "203.0.113.10"  # TEST-NET-3: nobody's real address
CANDIDATE = re.compile(r"^a=candidate:\S+ \d+ udp \d+ (\S+) (\d+) typ (\w+)", re.MULTILINE)


def test_aioice_is_the_pinned_version_and_gathers_as_the_hook_mirrors() -> None:
    assert aioice.__version__ == ports.PINNED_AIOICE_VERSION
    ports.check_aioice_version()
    # gather_candidates calls the one method the hook replaces per connection, by keyword.
    gather = inspect.getsource(aioice.Connection.gather_candidates)
    assert f"self.{ports.GATHER_METHOD}(component=component, addresses=addresses)" in gather
    parameters = list(inspect.signature(aioice.Connection.get_component_candidates).parameters)
    assert parameters == ["self", "component", "addresses", "timeout"]
    assert (
        inspect.signature(aioice.Connection.get_component_candidates).parameters["timeout"].default
        == ports.GATHER_TIMEOUT_S
    )
    # What the mirror replaces (port 0) and what it calls as aioice does.
    original = inspect.getsource(aioice.Connection.get_component_candidates)
    assert "local_addr=(address, 0)" in original
    assert "server_reflexive_candidate(protocol, self.stun_server)" in original
    assert "self._protocols += host_protocols" in original
    assert "self._protocols.append(relay_protocol)" in original
    assert "hide_related_address=(\n" in original or "hide_related_address=" in original
    relayed = inspect.signature(aioice.ice.relayed_candidate).parameters
    assert set(relayed) == {
        "component",
        "hide_related_address",
        "protocol_factory",
        "turn_server",
        "turn_username",
        "turn_password",
        "turn_ssl",
        "turn_transport",
    }
    # The private names the mirror reads, and where aiortc keeps the connection.
    connection = aioice.Connection(ice_controlling=False)
    assert isinstance(getattr(connection, aiortc_hooks.ICE_PROTOCOLS), list)
    assert getattr(connection, ports.ICE_TRANSPORT_POLICY) == aioice.TransportPolicy.ALL
    gatherer = RTCIceGatherer(iceServers=[])
    assert isinstance(getattr(gatherer, ports.GATHERER_CONNECTION), aioice.Connection)
    # The single-port mux: a StunProtocol takes any transport given to connection_made,
    # sends only through it, and its close() waits for connection_lost.
    stun_protocol = inspect.getsource(aioice.ice.StunProtocol)
    assert "self.transport = cast(asyncio.DatagramTransport, transport)" in stun_protocol
    assert "self.transport.sendto(data, addr)" in stun_protocol
    assert "self.transport.close()\n        await self.__closed" in stun_protocol
    assert "self.receiver.protocol_lost(self)" in stun_protocol
    assert "self.receiver.request_received(message, addr, self)" in stun_protocol


def test_announced_address_replaces_host_addresses_of_its_family_only() -> None:
    policy = aiortc_hooks.HostCandidatePolicy(announce_ip=ANNOUNCED)
    assert policy.announced("10.0.0.5") == ANNOUNCED
    assert policy.announced("fd00::2") == "fd00::2"
    assert aiortc_hooks.HostCandidatePolicy().announced("10.0.0.5") == "10.0.0.5"
    ranged = aiortc_hooks.HostCandidatePolicy(ports=(50010, 50019))
    assert sorted(ranged.port_order()) == list(range(50010, 50020))


def _free_range(size: int) -> tuple[int, int]:
    """A run of ports nobody here holds now (found, not assumed)."""
    for first in range(43000, 60000, size):
        probes = []
        try:
            for port in range(first, first + size):
                probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                probes.append(probe)
                probe.bind(("0.0.0.0", port))
        except OSError:
            continue
        finally:
            for probe in probes:
                probe.close()
        return first, first + size - 1
    raise AssertionError("no free UDP port range")


@pytest.fixture
async def ranged_group() -> AsyncIterator[Group]:
    members: dict[str, object] = {}
    relay = GroupRelay(
        "room-ports",
        signals=MemberPages(members),  # type: ignore[arg-type]
        host_candidates=aiortc_hooks.HostCandidatePolicy(ports=_free_range(16)),
    )
    group = Group(relay, members, [])  # type: ignore[arg-type]
    try:
        yield group
    finally:
        for member in list(group.members.values()):
            await member.close()
        await relay.close()


async def test_every_relay_socket_is_bound_in_the_range_and_media_flows(
    ranged_group: Group,
) -> None:
    policy = ranged_group.relay._host_candidates
    assert policy.ports is not None
    first, last = policy.ports
    for name in ("a", "b", "c"):
        await ranged_group.add(name)

    bound = [
        address
        for leg in ranged_group.relay._legs.values()
        for address in aiortc_hooks.host_sockets(leg.pc)
    ]
    assert len(bound) >= 3  # one per leg at least (one per host address each)
    assert all(first <= port <= last for _, port in bound), bound
    for member in ranged_group.members.values():
        answer = member.pc.remoteDescription.sdp
        hosts = [c for c in CANDIDATE.findall(answer) if c[2] == "host"]
        assert hosts and all(first <= int(port) <= last for _, port, _ in hosts), hosts
    await eventually(
        lambda: everyone_hears_everyone(ranged_group), MEDIA_TIMEOUT, "media in the range"
    )


async def test_a_range_with_no_free_port_left_is_logged_not_silent(
    caplog: pytest.LogCaptureFixture,
) -> None:
    first, last = _free_range(2)  # one port would be shared by every leg
    relay = GroupRelay(
        "room-full",
        signals=MemberPages({}),
        host_candidates=aiortc_hooks.HostCandidatePolicy(ports=(first, last)),
    )
    holders = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in (first, last)]
    pc = RTCPeerConnection()
    try:
        for holder, port in zip(holders, (first, last), strict=True):
            holder.bind(("0.0.0.0", port))  # both ports, taken on every IPv4 address
        pc.addTransceiver("audio")
        pc.addTransceiver("video")
        await pc.setLocalDescription(await pc.createOffer())
        with caplog.at_level(logging.WARNING, logger=ports.__name__):
            answer = await relay.join("m", pc.localDescription.sdp)
        v4_hosts = [c for c in CANDIDATE.findall(answer) if c[2] == "host" and ":" not in c[0]]
        assert v4_hosts == []
        assert f"every UDP port of {first}-{last} is taken" in caplog.text
    finally:
        for holder in holders:
            holder.close()
        await pc.close()
        await relay.close()


async def test_the_answer_announces_the_public_address_instead_of_the_hosts() -> None:
    relay = GroupRelay(
        "room-nat",
        signals=MemberPages({}),
        host_candidates=aiortc_hooks.HostCandidatePolicy(announce_ip=ANNOUNCED),
    )
    pc = RTCPeerConnection()
    try:
        pc.addTransceiver("audio")
        pc.addTransceiver("video")
        await pc.setLocalDescription(await pc.createOffer())
        answer = await relay.join("m", pc.localDescription.sdp)
        v4_hosts = [c for c in CANDIDATE.findall(answer) if ":" not in c[0]]
        assert v4_hosts, answer
        assert {address for address, _, _ in v4_hosts} == {ANNOUNCED}
        own = set(aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=False))
        assert not any(address in answer for address in own), "a host address leaked"
        assert f"c=IN IP4 {ANNOUNCED}" in answer
    finally:
        await pc.close()
        await relay.close()


async def test_one_port_for_every_leg_muxes_them_and_a_rejoin_is_rerouted() -> None:
    first, _ = _free_range(1)
    members: dict[str, Any] = {}
    policy = aiortc_hooks.HostCandidatePolicy(ports=(first, first))
    relay = GroupRelay("room-mux", signals=MemberPages(members), host_candidates=policy)
    group = Group(relay, members, [])
    try:
        for name in ("a", "b", "c"):
            await group.add(name)
        bound = {
            address for leg in relay._legs.values() for address in aiortc_hooks.host_sockets(leg.pc)
        }
        assert bound and {port for _, port in bound} == {first}, bound
        for member in members.values():
            hosts = [c for c in CANDIDATE.findall(member.pc.remoteDescription.sdp)]
            assert hosts and {int(port) for _, port, _ in hosts} == {first}, hosts
        await eventually(lambda: everyone_hears_everyone(group), MEDIA_TIMEOUT, "muxed media")

        # A member's fresh peer connection (a new leg, new ufrag) on the same shared port.
        await group.rejoin("b")
        await eventually(
            lambda: everyone_hears_everyone(group), MEDIA_TIMEOUT, "media after the rejoin"
        )
    finally:
        for member in list(members.values()):
            await member.close()
        await relay.close()
        assert policy.mux is not None
        policy.mux.close()
