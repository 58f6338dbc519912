"""Waiting room over the wire: the therapist may drop and return; co-therapists share control."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.conftest import Connector, LiveServer


async def test_waiting_members_keep_waiting_while_the_therapist_is_away(
    live_server: LiveServer, connect: Connector
) -> None:
    room = await live_server.create_room("group", ["Alex"], admit="manual")
    therapist_token = live_server.token_of(room["links"][0]["url"])
    alex_token = live_server.token_of(room["links"][1]["url"])

    therapist = await connect(live_server, therapist_token)
    await therapist.join()
    alex = await connect(live_server, alex_token)
    alex_ack = await alex.join()
    assert alex_ack["admission"] == "waiting"

    await therapist.disconnect()
    # The therapist's page comes back with the same link: in control, the lobby intact.
    therapist_again = await connect(live_server, therapist_token)
    ack = await therapist_again.join()
    assert [w["id"] for w in ack["waiting"]] == [alex_ack["self"]["id"]]
    assert alex.connected and not alex.peek("lobby.admitted")

    # A co-therapist, invited later, shares control.
    co = await live_server.invite(room["room"], "therapist", "Co-therapist")
    co_therapist = await connect(live_server, live_server.token_of(co["url"]))
    co_ack = await co_therapist.join()
    assert co_ack["admission"] == "admitted"
    assert (await co_therapist.call("lobby.admit", {"member": alex_ack["self"]["id"]}))["ok"]
    admitted = await alex.wait_for("lobby.admitted")
    assert admitted["floor"]["mode"] == "open"
    joined = await therapist_again.wait_for(
        "peer.joined", lambda d: d["peer"]["id"] == alex_ack["self"]["id"]
    )
    assert joined["peer"]["name"] == "Alex"


async def test_an_admitted_member_is_told_who_is_already_in_the_room(
    live_server: LiveServer, connect: Connector
) -> None:
    """Without the others in `lobby.admitted` the page shows (and plays) nobody admitted
    before it: the default group flow was broken for all but the last one admitted."""
    room = await live_server.create_room("group", ["Alex", "Sam"], admit="manual")
    therapist_link, alex_link, sam_link = room["links"]
    therapist = await connect(live_server, live_server.token_of(therapist_link["url"]))
    therapist_ack = await therapist.join()
    alex = await connect(live_server, live_server.token_of(alex_link["url"]))
    alex_ack = await alex.join()
    sam = await connect(live_server, live_server.token_of(sam_link["url"]))
    sam_ack = await sam.join()
    assert alex_ack["peers"] == [] and sam_ack["peers"] == []  # waiting: they see nobody

    assert (await therapist.call("lobby.admit", {"member": alex_ack["self"]["id"]}))["ok"]
    admitted = await alex.wait_for("lobby.admitted")
    assert [p["id"] for p in admitted["peers"]] == [therapist_ack["self"]["id"]]
    assert admitted["peers"][0]["role"] == "therapist"

    assert (await therapist.call("lobby.admit", {"member": sam_ack["self"]["id"]}))["ok"]
    admitted = await sam.wait_for("lobby.admitted")
    assert sorted(p["id"] for p in admitted["peers"]) == sorted(
        [therapist_ack["self"]["id"], alex_ack["self"]["id"]]
    )


async def test_the_waiting_room_is_told_when_the_session_ends(
    live_server: LiveServer, connect: Connector
) -> None:
    room = await live_server.create_room("group", ["Alex"], admit="manual")
    therapist = await connect(live_server, live_server.token_of(room["links"][0]["url"]))
    await therapist.join()
    alex = await connect(live_server, live_server.token_of(room["links"][1]["url"]))
    assert (await alex.join())["admission"] == "waiting"
    assert (await therapist.call("room.end", {}))["ok"]
    assert await alex.wait_for("session.ended") == {"reason": "ended"}
