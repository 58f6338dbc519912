"""--rtc-ports, --rtc-announce-ip and --ice-policy through the real app and its wire."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from tests.e2e.wire_member import WireMember

if TYPE_CHECKING:
    from tests.conftest import Connector, StartServer

ANNOUNCED = "203.0.113.10"
PORTS = (47400, 47431)
CANDIDATE = re.compile(r"^a=candidate:\S+ \d+ udp \d+ (\S+) (\d+) typ (\w+)", re.MULTILINE)


async def test_the_relays_answer_announces_the_public_address_on_a_port_of_the_range(
    start_server: StartServer, connect: Connector
) -> None:
    server = await start_server(rtc_ports=PORTS, rtc_announce_ip=ANNOUNCED)
    room = await server.create_room("group", ["Alex"], admit="auto")
    therapist = await connect(server, server.token_of(room["links"][0]["url"]))
    ack = await therapist.join()
    assert ack["ice_transport_policy"] == "all" and "ice_servers_ttl_s" not in ack
    member = WireMember(therapist)
    try:
        await member.publish()
        answer = member.pc.remoteDescription.sdp
        v4 = [c for c in CANDIDATE.findall(answer) if ":" not in c[0]]
        assert v4 and {address for address, _, _ in v4} == {ANNOUNCED}, answer
        ports = [int(port) for _, port, _ in CANDIDATE.findall(answer)]
        assert ports and all(PORTS[0] <= port <= PORTS[1] for port in ports), ports
    finally:
        await member.close()


async def test_relay_policy_and_renewable_turn_credentials_reach_the_page(
    start_server: StartServer, connect: Connector
) -> None:
    server = await start_server(
        turn_urls=("turn:turn.test:3478?transport=udp",),
        turn_secret="s",
        turn_ttl_s=120.0,
        ice_policy="relay",
    )
    room = await server.create_room("individual")
    client = await connect(server, server.token_of(room["links"][0]["url"]))
    before_join = await client.call("net.ice", {})
    ack = await client.join()
    renewed = await client.call("net.ice", {})
    for reply in (before_join, ack, renewed):
        assert reply["ice_transport_policy"] == "relay"
        assert reply["ice_servers_ttl_s"] == 120.0
        [turn] = reply["ice_servers"]
        assert turn["urls"] == ["turn:turn.test:3478?transport=udp"]
        assert turn["username"].endswith(":" + ack["self"]["id"]) and turn["credential"]


async def test_one_port_for_every_leg_through_the_app_and_closed_with_it(
    start_server: StartServer, connect: Connector
) -> None:
    port = PORTS[1] + 1
    server = await start_server(rtc_ports=(port, port))
    room = await server.create_room("group", ["Alex"], admit="auto")
    clients = [await connect(server, server.token_of(link["url"])) for link in room["links"]]
    members = []
    try:
        for client in clients:
            await client.join()
            member = WireMember(client)
            members.append(member)
            await member.publish()
            answer = member.pc.remoteDescription.sdp
            ports = {int(p) for _, p, _ in CANDIDATE.findall(answer)}
            assert ports == {port}, answer
    finally:
        for member in members:
            await member.close()
    # The app's shutdown (the fixture's) closes the shared socket: no unclosed
    # transport is left for the warnings filter to turn into a failure.
