"""In-session chat over the wire: who reaches whom, members' chat off, the waiting-room
note, bounds, and that a message is kept nowhere (no store, no log, no audit line)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import pytest

from server.app import COMPONENTS
from signaling.chat_routes import CHAT_BURST
from tests.signaling.kept_nowhere import files_holding

if TYPE_CHECKING:
    from tests.conftest import Client, Connector, LiveServer

SECRET = "I feel unsafe at home tonight"


async def group_room(
    live_server: LiveServer, connect: Connector
) -> tuple[Client, dict[str, Client], dict[str, str], Client]:
    """A therapist, Alex and Sam admitted, and Kim still in the waiting room."""
    room = await live_server.create_room("group", ["Alex", "Sam", "Kim"], admit="manual")
    therapist_link, *member_links = room["links"]
    therapist = await connect(live_server, live_server.token_of(therapist_link["url"]))
    ids = {"therapist": (await therapist.join())["self"]["id"]}
    clients: dict[str, Client] = {}
    for link in member_links:
        client = await connect(live_server, live_server.token_of(link["url"]))
        ids[link["name"]] = (await client.join())["self"]["id"]
        clients[link["name"]] = client
    for name in ("Alex", "Sam"):
        assert (await therapist.call("lobby.admit", {"member": ids[name]}))["ok"]
        await clients[name].wait_for("lobby.admitted")
    return therapist, clients, ids, clients.pop("Kim")


def texts(client: Client) -> list[str]:
    return [message["text"] for message in client.peek("chat.message")]


async def test_individual_chat_is_between_the_two(
    live_server: LiveServer, connect: Connector
) -> None:
    _, therapist_token, patient_token = await live_server.individual_tokens()
    therapist = await connect(live_server, therapist_token)
    therapist_id = (await therapist.join())["self"]["id"]
    patient = await connect(live_server, patient_token)
    await patient.join()
    assert (await patient.call("chat.send", {"text": "Can you hear me?"}))["ok"]
    got = await therapist.wait_for("chat.message")
    assert got["text"] == "Can you hear me?" and got["name"] != "" and got["private"] is False
    await patient.wait_for("chat.message")  # the sender's page shows it in server order
    assert (await patient.call("chat.send", {"text": "Yes", "to": therapist_id}))["ok"]
    refused = await patient.call("chat.send", {"text": "x", "to": "p_nobody"})
    assert refused["error"]["code"] == "unknown_member"
    # Only group rooms have members' chat to turn off.
    refused = await therapist.call("chat.members", {"allowed": False})
    assert refused["error"]["code"] == "not_a_group"


async def test_group_chat_to_everyone_and_privately(
    live_server: LiveServer, connect: Connector
) -> None:
    therapist, members, ids, kim = await group_room(live_server, connect)
    alex, sam = members["Alex"], members["Sam"]

    assert (await alex.call("chat.send", {"text": "Hello all"}))["ok"]
    for client in (therapist, alex, sam):
        await client.wait_for("chat.message", lambda m: m["text"] == "Hello all")
    await kim.assert_none("chat.message")  # the waiting room is not the group

    # Therapist and member, privately: nobody else sees it.
    assert (await sam.call("chat.send", {"text": "Can we talk after?", "to": ids["therapist"]}))[
        "ok"
    ]
    private = await therapist.wait_for("chat.message", lambda m: m["private"])
    assert private["from"] == ids["Sam"] and private["to"] == ids["therapist"]
    await sam.wait_for("chat.message", lambda m: m["private"])
    assert "Can we talk after?" not in texts(alex)

    # Members do not message each other privately.
    refused = await alex.call("chat.send", {"text": "psst", "to": ids["Sam"]})
    assert refused["error"]["code"] == "private_chat_not_allowed"

    # The waiting room: the therapist's note reaches Kim; Kim cannot write yet.
    note = {"text": "Running 5 minutes late", "to": ids["Kim"]}
    assert (await therapist.call("chat.send", note))["ok"]
    assert (await kim.wait_for("chat.message"))["text"] == "Running 5 minutes late"
    assert (await kim.call("chat.send", {"text": "ok"}))["error"]["code"] == "waiting"


async def test_the_therapist_turns_members_chat_off_and_on(
    live_server: LiveServer, connect: Connector
) -> None:
    therapist, members, _, kim = await group_room(live_server, connect)
    alex = members["Alex"]
    assert (await therapist.call("chat.members", {"allowed": False}))["members_allowed"] is False
    assert (await alex.wait_for("chat.state"))["members_allowed"] is False
    assert (await alex.call("chat.state", {}))["members_allowed"] is False
    assert (await alex.call("chat.send", {"text": "hi"}))["error"]["code"] == "chat_off"
    assert (await alex.call("chat.members", {"allowed": True}))["error"]["code"] == "not_allowed"
    # Therapists still write (to everyone, and to someone in the waiting room).
    assert (await therapist.call("chat.send", {"text": "Let's listen for a while"}))["ok"]
    await alex.wait_for("chat.message")
    assert (await therapist.call("chat.members", {"allowed": True}))["ok"]
    assert (await alex.call("chat.send", {"text": "hi"}))["ok"]
    assert (await kim.call("chat.state", {}))["members_allowed"] is True


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"text": "x" * 1001}, "invalid_payload"),
        ({"text": ""}, "invalid_payload"),
        ({"text": "   \n "}, "empty_message"),
        ({"text": "<b>hi</b>", "html": True}, "invalid_payload"),
        ({"text": 5}, "invalid_payload"),
    ],
)
async def test_chat_is_bounded_text(
    live_server: LiveServer, connect: Connector, payload: dict[str, Any], code: str
) -> None:
    _, therapist_token, _ = await live_server.individual_tokens()
    therapist = await connect(live_server, therapist_token)
    await therapist.join()
    assert (await therapist.call("chat.send", payload))["error"]["code"] == code


async def test_chat_has_its_own_rate_limit(live_server: LiveServer, connect: Connector) -> None:
    _, therapist_token, _ = await live_server.individual_tokens()
    therapist = await connect(live_server, therapist_token)
    await therapist.join()
    replies = [await therapist.call("chat.send", {"text": f"n{i}"}) for i in range(8)]
    accepted = [r for r in replies if r["ok"]]
    assert len(accepted) == int(CHAT_BURST)
    assert {r["error"]["code"] for r in replies if not r["ok"]} == {"rate_limited"}
    # The connection itself is fine: other events still work.
    assert (await therapist.call("chat.state", {}))["ok"]


async def test_a_message_goes_through_the_fanout_and_is_kept_nowhere(
    start_server: Any, connect: Connector, caplog: pytest.LogCaptureFixture
) -> None:
    # The default durable store (SQLite), as a clinic runs it.
    live_server = await start_server(embedded_store="sqlite")
    fanout = live_server.app[COMPONENTS].signaling.fanout
    sent: list[tuple[str, str]] = []
    to_room, to_member = fanout.send_to_room, fanout.send_to_member

    async def record_room(room_id: str, event: str, payload: dict[str, Any]) -> None:
        sent.append(("room", event))
        await to_room(room_id, event, payload)

    async def record_member(room_id: str, member: str, event: str, payload: dict[str, Any]) -> None:
        sent.append(("member", event))
        await to_member(room_id, member, event, payload)

    fanout.send_to_room, fanout.send_to_member = record_room, record_member
    caplog.set_level(logging.DEBUG)
    therapist, members, ids, _ = await group_room(live_server, connect)
    assert (await members["Alex"].call("chat.send", {"text": SECRET}))["ok"]
    assert (await members["Sam"].call("chat.send", {"text": SECRET, "to": ids["therapist"]}))["ok"]
    await therapist.wait_for("chat.message", lambda m: m["private"])
    # Through the fan-out's own methods, which a cluster fan-out shares with the others.
    assert ("room", "chat.message") in sent and sent.count(("member", "chat.message")) == 2

    assert SECRET not in caplog.text
    assert files_holding(live_server.settings.data_dir, SECRET) == []
