"""TURN REST credentials against a real coturn, and the relay reached only through TURN."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator

import pytest
from aioice import stun, turn
from aiortc import RTCConfiguration, RTCIceServer, RTCIceTransportPolicy, RTCPeerConnection

from server.media.ice import turn_credentials
from server.media.relay import GroupRelay, aiortc_hooks
from tests.relay.relay_members import (
    MEDIA_TIMEOUT,
    Group,
    Member,
    MemberPages,
    eventually,
    everyone_hears_everyone,
)
from tests.turn.coturn import Coturn

pytestmark = [pytest.mark.turn, pytest.mark.timeout(60)]


class Quiet:
    """The TURN endpoint's user: nothing is sent through it."""

    def connection_made(self, transport: object) -> None: ...

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None: ...

    def connection_lost(self, exc: Exception | None) -> None: ...

    def error_received(self, exc: Exception) -> None: ...


async def allocate(coturn: Coturn, expires_at: int, *, lifetime: int = 600) -> turn.TurnTransport:
    username, password = turn_credentials(coturn.secret, "m-test", expires_at)
    transport, _ = await turn.create_turn_endpoint(
        Quiet,
        server_addr=(coturn.host, coturn.port),
        username=username,
        password=password,
        lifetime=lifetime,
    )
    return transport


async def test_fresh_credentials_allocate_and_expired_ones_are_refused(coturn: Coturn) -> None:
    fresh = await allocate(coturn, int(time.time()) + 60)
    try:
        assert fresh.get_extra_info("sockname")[0] == coturn.host  # a relayed address
    finally:
        fresh.close()

    with pytest.raises(stun.TransactionFailed) as refused:
        await allocate(coturn, int(time.time()) - 1)
    assert refused.value.response.attributes["ERROR-CODE"][0] == 401


async def test_an_allocation_outlives_its_credentials(
    coturn: Coturn, caplog: pytest.LogCaptureFixture
) -> None:
    # Why pages only need fresh credentials for *new* allocations: coturn keeps
    # refreshing one made while its credentials were valid.
    expires_at = int(time.time()) + 1
    with caplog.at_level(logging.INFO, logger="aioice.turn"):
        transport = await allocate(coturn, expires_at)
        inner = transport._TurnTransport__inner_protocol
        try:

            def refreshed_after_expiry() -> bool:
                return any(
                    record.created > expires_at + 0.5
                    and record.getMessage().startswith("TURN allocation refresh")
                    for record in caplog.records
                )

            await eventually(refreshed_after_expiry, 15, "a refresh after the expiry", 0.1)
            assert "TURN allocation refreshed" in caplog.text
            assert "refresh failed" not in caplog.text
            assert not inner.transport.is_closing(), "the refresh was refused"
        finally:
            transport.close()


@pytest.fixture
async def turn_only_group(coturn: Coturn) -> AsyncIterator[tuple[Group, RTCIceServer]]:
    """A relay whose legs gather with TURN, and members allowed TURN candidates only."""
    username, password = turn_credentials(coturn.secret, "relay-room", int(time.time()) + 600)
    relay_server = RTCIceServer(urls=[coturn.url("udp")], username=username, credential=password)
    members: dict[str, Member] = {}
    relay = GroupRelay(
        "room-turn", signals=MemberPages(members), ice_servers=lambda: [relay_server]
    )
    group = Group(relay, members, [])
    member_username, member_password = turn_credentials(
        coturn.secret, "member", int(time.time()) + 600
    )
    member_server = RTCIceServer(
        urls=[coturn.url("tcp")], username=member_username, credential=member_password
    )
    try:
        yield group, member_server
    finally:
        for member in list(members.values()):
            await member.close()
        await relay.close()


async def test_members_reach_the_relay_through_turn_over_tcp_only(
    turn_only_group: tuple[Group, RTCIceServer],
) -> None:
    group, server = turn_only_group
    for name in ("a", "b", "c"):
        configuration = RTCConfiguration(
            iceServers=[server], iceTransportPolicy=RTCIceTransportPolicy.RELAY
        )
        member = Member(name, group.relay, pc=RTCPeerConnection(configuration))
        group.members[name] = member
        await member.join()
    await eventually(lambda: everyone_hears_everyone(group), MEDIA_TIMEOUT, "media over TURN")

    for name, member in group.members.items():
        # The member's side: its nominated pair starts at its TURN allocation...
        local = [
            pair.local_candidate
            for connection in aiortc_hooks.ports.ice_connections(member.pc)
            for pair in connection._nominated.values()
        ]
        assert local and all(c.type == "relay" for c in local), (name, local)
        # ...and the relay sees the member at coturn's relayed address, never its own.
        leg = group.relay._legs[name]
        remote = [
            pair.remote_candidate
            for connection in aiortc_hooks.ports.ice_connections(leg.pc)
            for pair in connection._nominated.values()
        ]
        assert remote and all(c.host == "127.0.0.1" for c in remote), (name, remote)
