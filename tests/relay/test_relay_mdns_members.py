"""Members whose browsers hide host addresses behind mDNS names (Firefox, Safari): issue 17."""

from __future__ import annotations

from typing import Any

import pytest
from aioice.mdns import MDnsProtocol

from server.media.relay import aiortc_hooks
from tests.relay.mdns_sdp import hide_host_addresses
from tests.relay.relay_members import (
    MEDIA_TIMEOUT,
    Group,
    Member,
    eventually,
    everyone_hears_everyone,
)

MDNS_OFFER_LINES = [
    "a=candidate:1 1 udp 2122252543 0b4d9c1e-2f57-4c3a-9d1b-6f0e8a7c2b11.local 50001 typ host",
    "a=candidate:2 1 udp 1686052607 203.0.113.7 50002 typ srflx raddr 0.0.0.0 rport 0",
    "a=candidate:3 1 udp 2122252543 10.0.0.5 50003 typ host",
    "a=end-of-candidates",
]


def test_mdns_candidates_and_the_end_marker_are_withheld_and_the_rest_kept() -> None:
    sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n" + "\r\n".join(MDNS_OFFER_LINES) + "\r\n"

    usable = aiortc_hooks.expect_peer_reflexive_candidates(sdp)

    assert usable == (
        "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
        + MDNS_OFFER_LINES[1]
        + "\r\n"
        + MDNS_OFFER_LINES[2]
        + "\r\n"
    )
    # Only whole candidate lines with a .local address go: not a name in another line.
    other = "a=x-note:abc.local\na=candidate:4 1 udp 1 192.0.2.1 9 typ host\n"
    assert aiortc_hooks.expect_peer_reflexive_candidates(other) == other


async def test_members_behind_mdns_names_and_a_plain_one_all_exchange_media(
    group: Group, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Count aioice's multicast lookups instead of timing joins (a timed assertion fails
    # on a busy machine): with the hook, no name is ever looked up.
    lookups: list[str] = []
    resolve = MDnsProtocol.resolve

    async def counted(self: MDnsProtocol, hostname: str, *args: Any, **kwargs: Any) -> Any:
        lookups.append(hostname)
        return await resolve(self, hostname, *args, **kwargs)

    monkeypatch.setattr(MDnsProtocol, "resolve", counted)
    for name, disguise in (
        ("firefox", hide_host_addresses),
        ("safari", hide_host_addresses),
        ("chromium", None),
    ):
        member = Member(name, group.relay)
        if disguise is not None:
            member.disguise = disguise
        group.members[name] = member
        await member.join()

    await eventually(
        lambda: everyone_hears_everyone(group), MEDIA_TIMEOUT, "media between all pairs"
    )
    assert all(leg.connection_state == "connected" for leg in group.relay.stats().legs.values())
    # No name was looked up: aioice would have waited a second on each before answering.
    assert lookups == []
