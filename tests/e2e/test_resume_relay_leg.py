"""The join ack tells an admitted group member whether the relay holds its leg: after a
restart it does not, and the page opens a fresh leg at once (static/protocol/relay-media.js)
instead of waiting for ICE to give up on the old one."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from tests.e2e.wire_member import WireMember

if TYPE_CHECKING:
    from tests.conftest import Connector, LiveServer


async def test_the_join_ack_says_whether_the_relay_holds_the_members_leg(
    live_server: LiveServer, connect: Connector
) -> None:
    room = await live_server.create_room("group", ["Alex"])  # manual admission
    therapist_token = live_server.token_of(room["links"][0]["url"])
    alex_token = live_server.token_of(room["links"][1]["url"])
    therapist = await connect(live_server, therapist_token)
    first = await therapist.join()
    assert first["relay_leg"] is False  # nothing offered yet
    alex = await connect(live_server, alex_token)
    waiting = await alex.join()
    assert "relay_leg" not in waiting  # the waiting room has no relay

    member = WireMember(therapist)
    try:
        await member.publish()
        await therapist.disconnect()
        again = await connect(live_server, therapist_token)
        resumed = await again.join(resume=True)
        assert resumed["resumed"] is True
        assert resumed["relay_leg"] is True
    finally:
        with contextlib.suppress(Exception):
            await member.close()
