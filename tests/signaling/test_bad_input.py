"""Bad input gets a clear error; the connection, the room and the other member carry on."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.conftest import Client, Connector, LiveServer, StartServer

CANDIDATE = {
    "candidate": "candidate:1 1 UDP 2122252543 192.0.2.1 50000 typ host",
    "sdpMid": "0",
    "sdpMLineIndex": 0,
}


async def joined_pair(server: LiveServer, connect: Connector) -> tuple[Client, Client, str, str]:
    _, t_token, p_token = await server.individual_tokens()
    therapist, patient = await connect(server, t_token), await connect(server, p_token)
    t_id = (await therapist.join())["self"]["id"]
    p_id = (await patient.join())["self"]["id"]
    return therapist, patient, t_id, p_id


async def still_relays(sender: Client, receiver: Client, to: str) -> None:
    """The room carries on: a relayed message still arrives."""
    assert sender.connected and receiver.connected
    ack = await sender.call("signal.candidate", {"to": to, "candidate": CANDIDATE})
    assert ack == {"ok": True}
    await receiver.wait_for("signal.candidate")


BAD_PAYLOADS: list[tuple[str, Any, str]] = [
    ("session.join", {"resume": "yes"}, "resume"),
    ("session.join", {"resume": False, "extra": 1}, "extra"),
    ("session.join", [1, 2], "payload"),
    ("media.state", {"audio": True}, "video"),
    ("media.state", {"audio": 1, "video": 0}, "audio"),
    (
        "signal.description",
        {"to": "x", "description": {"type": "bogus", "sdp": ""}},
        "description.type",
    ),
    ("signal.description", {"description": {"type": "offer", "sdp": ""}}, "to"),
    ("signal.description", {"to": "", "description": {"type": "offer", "sdp": ""}}, "to"),
    ("signal.candidate", {"to": "x"}, "candidate"),
    ("signal.candidate", {"to": "x", "candidate": {"candidate": 5}}, "candidate"),
    (
        "signal.candidate",
        {"to": "x", "candidate": {"candidate": "a", "sdpMLineIndex": -1}},
        "sdpMLineIndex",
    ),
    ("signal.candidate", {"to": "x" * 65, "candidate": None}, "to"),
    ("session.leave", {"now": True}, "now"),
    ("signal.candidate", "a string", "payload"),
]


@pytest.mark.parametrize(
    ("event", "payload", "field"),
    BAD_PAYLOADS,
    ids=[f"{e}-{i}" for i, (e, _, _) in enumerate(BAD_PAYLOADS)],
)
async def test_schema_violation(
    live_server: LiveServer, connect: Connector, event: str, payload: Any, field: str
) -> None:
    therapist, patient, t_id, p_id = await joined_pair(live_server, connect)
    ack = await patient.call(event, payload)
    assert ack["ok"] is False
    assert ack["error"]["code"] == "invalid_payload"
    assert field in ack["error"]["message"], ack["error"]["message"]
    await still_relays(patient, therapist, t_id)
    await still_relays(therapist, patient, p_id)


async def test_unknown_event(live_server: LiveServer, connect: Connector) -> None:
    therapist, patient, t_id, _ = await joined_pair(live_server, connect)
    ack = await patient.call("room.destroy", {})
    assert ack["ok"] is False and ack["error"]["code"] == "unknown_event"
    assert "room.destroy" in ack["error"]["message"]
    await still_relays(patient, therapist, t_id)


async def test_oversize_payload(live_server: LiveServer, connect: Connector) -> None:
    therapist, patient, t_id, _ = await joined_pair(live_server, connect)
    big = {"to": t_id, "description": {"type": "offer", "sdp": "a" * (65 * 1024)}}
    ack = await patient.call("signal.description", big)
    assert ack["ok"] is False and ack["error"]["code"] == "message_too_large"
    await therapist.assert_none("signal.description", within=0.2)
    await still_relays(patient, therapist, t_id)


async def test_error_event_without_ack(live_server: LiveServer, connect: Connector) -> None:
    therapist, patient, t_id, _ = await joined_pair(live_server, connect)
    await patient.emit("signal.candidate", {"to": t_id})
    error = await patient.wait_for("error")
    assert error["code"] == "invalid_payload"
    assert error["event"] == "signal.candidate"
    assert error["message"]
    await patient.emit("no.such.event", {})
    error = await patient.wait_for("error")
    assert error == {"code": "unknown_event", "event": "no.such.event", "message": error["message"]}
    await patient.emit("signal.candidate", {"to": "p_nobody", "candidate": None})
    assert (await patient.wait_for("error"))["code"] == "unknown_peer"
    # Success without an ack sends nothing back.
    await patient.emit("signal.candidate", {"to": t_id, "candidate": None})
    await therapist.wait_for("signal.candidate")
    await patient.assert_none("error", within=0.2)
    # The other member got no error events.
    assert not therapist.peek("error")


async def test_rate_limit_then_recovery(live_server: LiveServer, connect: Connector) -> None:
    therapist, patient, t_id, _ = await joined_pair(live_server, connect)
    message = {"to": t_id, "candidate": CANDIDATE}
    loop = asyncio.get_running_loop()
    started = loop.time()
    acks = await asyncio.gather(*(patient.call("signal.candidate", message) for _ in range(100)))
    elapsed = loop.time() - started
    codes = [a["error"]["code"] if not a["ok"] else "ok" for a in acks]
    # The bucket held 59 after the join (burst 60) and refills at 20/s during the burst.
    assert 55 <= codes.count("ok") <= 59 + 20 * elapsed + 1, (codes, elapsed)
    assert "rate_limited" in codes, codes
    assert set(codes) == {"ok", "rate_limited"}
    delivered = codes.count("ok")
    for _ in range(delivered):
        await therapist.wait_for("signal.candidate")
    await therapist.assert_none("signal.candidate", within=0.2)
    # The bucket refills at 20/s.
    await asyncio.sleep(1.0)
    assert patient.connected
    await still_relays(patient, therapist, t_id)
    # The other member's bucket is its own.
    ack = await therapist.call("media.state", {"audio": False, "video": False})
    assert ack == {"ok": True}


async def test_rate_limit_per_settings(start_server: StartServer, connect: Connector) -> None:
    server = await start_server(rate_per_s=1.0, rate_burst=3.0)
    _, t_token, _ = await server.individual_tokens()
    therapist = await connect(server, t_token)
    await therapist.join()  # one token of three
    acks = [
        await therapist.call("media.state", {"audio": True, "video": bool(i % 2)}) for i in range(4)
    ]
    assert [a["ok"] for a in acks[:2]] == [True, True]
    assert [a["error"]["code"] for a in acks[2:]] == ["rate_limited", "rate_limited"]
