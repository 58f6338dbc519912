"""Hostile clients (issue 13): reserved event names, malformed frames, deep JSON, floods,
binary attachments, idle sockets and connection caps. Every refusal is a clear error and
costs nothing else: the connection (unless it is closed for a reason), the room and the
other member carry on."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from server.app import COMPONENTS
from tests.signaling.raw_socket import RawSocket

if TYPE_CHECKING:
    from tests.conftest import Client, Connector, LiveServer, StartServer

CANDIDATE = {
    "candidate": "candidate:1 1 UDP 2122252543 192.0.2.1 50000 typ host",
    "sdpMid": "0",
    "sdpMLineIndex": 0,
}


class LogBytes(logging.Handler):
    """Everything the process logs, formatted as a file handler would write it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        self.size = 0
        self.tracebacks = 0
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno < logging.INFO:
            return
        self.size += len(self.format(record)) + 1
        self.tracebacks += record.exc_info is not None
        self.records.append(record)


@pytest.fixture
def log_bytes() -> Iterator[LogBytes]:
    handler = LogBytes()
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


@pytest.fixture
async def raw(live_server: LiveServer) -> AsyncIterator[Any]:
    sockets: list[RawSocket] = []

    async def open_socket(
        server: LiveServer | None = None,
        headers: dict[str, str] | None = None,
    ) -> RawSocket:
        target = server or live_server
        socket = await RawSocket.open(target.http, target.base_url, headers)
        sockets.append(socket)
        return socket

    yield open_socket
    for socket in sockets:
        await socket.close()


async def joined_raw(
    raw: Any,
    server: LiveServer,
    connect: Connector,
) -> tuple[RawSocket, Client, str, str, str]:
    """A raw patient socket and a well-behaved therapist, both joined."""
    _, t_token, p_token = await server.individual_tokens()
    therapist = await connect(server, t_token)
    t_id = (await therapist.join())["self"]["id"]
    patient: RawSocket = await raw(server)
    assert (await patient.connect({"token": p_token})).startswith("40")
    await patient.send('421["session.join",{"resume":false}]')
    joined = await patient.ack(1)
    assert joined["ok"] is True, joined
    return patient, therapist, t_id, joined["self"]["id"], t_token


async def assert_still_relays(
    patient: RawSocket, therapist: Client, t_id: str, ack_id: int
) -> None:
    await patient.send(
        f"42{ack_id}" + json.dumps(["signal.candidate", {"to": t_id, "candidate": CANDIDATE}])
    )
    assert await patient.ack(ack_id) == {"ok": True}
    await therapist.wait_for("signal.candidate")
    assert therapist.connected


def metric(text: str, name: str, label: str) -> float:
    for line in text.splitlines():
        if line.startswith(f'{name}{{kind="{label}"}}'):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name}{{kind={label!r}}} not in /metrics")


# --- 1. reserved event names ------------------------------------------------------------


@pytest.mark.parametrize("name", ["disconnect", "connect", "connect_error", "disconnecting", "*"])
async def test_reserved_event_names_are_unknown_events(
    live_server: LiveServer, connect: Connector, raw: Any, name: str
) -> None:
    patient, therapist, t_id, _, _ = await joined_raw(raw, live_server, connect)
    await patient.send("422" + json.dumps([name, {}]))
    ack = await patient.ack(2)
    assert ack["ok"] is False and ack["error"]["code"] == "unknown_event", ack
    # Without an ack: the error event.
    await patient.send("42" + json.dumps([name]))
    error = await patient.event("error")
    assert error["code"] == "unknown_event" and error["event"] == name
    # The connection is still tracked: before, `disconnect` dropped it from the registry
    # (events then got not_connected, yet the socket stayed in the room's channels).
    await assert_still_relays(patient, therapist, t_id, 3)


async def test_connect_event_cannot_switch_identity(
    live_server: LiveServer, connect: Connector, raw: Any
) -> None:
    patient, therapist, t_id, p_id, t_token = await joined_raw(raw, live_server, connect)
    fake_environ = {"HTTP_ORIGIN": live_server.base_url, "REMOTE_ADDR": "10.0.0.1"}
    await patient.send("427" + json.dumps(["connect", fake_environ, {"token": t_token}]))
    assert (await patient.ack(7))["error"]["code"] == "unknown_event"
    await patient.send('428["session.join",{"resume":true}]')
    rejoined = await patient.ack(8)
    assert rejoined["ok"] is True and rejoined["self"]["id"] == p_id
    assert rejoined["self"]["role"] == "participant"
    await assert_still_relays(patient, therapist, t_id, 9)


async def test_ops_namespace_refuses_reserved_and_unknown_names(
    live_server: LiveServer, raw: Any
) -> None:
    token = live_server.app[COMPONENTS].issuer.issue_ops(ttl_s=60)
    ops: RawSocket = await raw()
    assert (await ops.connect({"token": token}, "/ops")).startswith("40/ops,")
    await ops.event("ops.snapshot", "/ops")
    for ack_id, name in enumerate(["disconnect", "connect", "ops.nothing"], start=1):
        await ops.send(f"42/ops,{ack_id}" + json.dumps([name, {}]))
        ack = await ops.ack(ack_id, "/ops")
        assert ack["error"]["code"] == "unknown_event", (name, ack)
    # Still watched: ops.watch answers and pushes a snapshot.
    await ops.send('42/ops,9["ops.watch",{"room":null}]')
    assert await ops.ack(9, "/ops") == {"ok": True}
    await ops.event("ops.snapshot", "/ops")


# --- 2 and 3. malformed frames and deep JSON ---------------------------------------------

BAD_FRAMES = [
    "4x",
    "42[]",
    "42[123,{}]",
    '42{"a":1}',
    '42"str"',
    "42",
    "49",
    "4" + "[" * 1000,
    "42[" + "[" * 1000,
    "x",
    "",
    "b!!!",
    "44{}",
    '42["a"',
    "42"
    + json.dumps(
        [
            "signal.candidate",
            {"a": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]},
        ]
    ),
]


async def test_malformed_frames_are_counted_and_logged_once(
    live_server: LiveServer, connect: Connector, raw: Any, log_bytes: LogBytes
) -> None:
    patient, therapist, t_id, _, _ = await joined_raw(raw, live_server, connect)
    before = (await live_server.get("/metrics")).body
    sent = 0
    for _ in range(1000 // len(BAD_FRAMES) + 1):
        for frame in BAD_FRAMES:
            await patient.send(frame)
            sent += 1
    await assert_still_relays(patient, therapist, t_id, 5)
    after = (await live_server.get("/metrics")).body
    counted = sum(
        metric(after, "telehealth_malformed_frames_total", kind)
        - metric(before, "telehealth_malformed_frames_total", kind)
        for kind in ("engineio", "packet", "nesting", "event_shape")
    )
    assert counted == sent, (counted, sent)
    assert log_bytes.tracebacks == 0, [r.getMessage() for r in log_bytes.records][:3]
    assert log_bytes.size < 1024 * sent / 1000, (log_bytes.size, sent)
    bad = [r for r in log_bytes.records if "bad frame" in r.getMessage()]
    assert len(bad) == 1, [r.getMessage() for r in bad]


async def test_a_websocket_closes_as_soon_as_its_client_sends_engineio_close(raw: Any) -> None:
    """engineio kept reading such a WebSocket for up to 45 s, outside the per-address cap."""
    socket = await raw()
    await socket.send("1")
    assert await asyncio.wait_for(socket.frames.get(), 2.0) is None


POLLING_BODIES = [
    "x",
    "4x\x1e42[]",
    "\x1e".join(["6"] * 40),
    "d=4",
    "\xff\xfe",
    "9",
    '42["a"\x1ezz',
]


async def test_bad_long_polling_bodies_are_counted_not_tracebacks(
    live_server: LiveServer, log_bytes: LogBytes
) -> None:
    url = live_server.base_url + "/socket.io/?EIO=4&transport=polling"
    async with live_server.http.get(url) as opened:
        sid = json.loads((await opened.text())[1:])["sid"]
    before = (await live_server.get("/metrics")).body
    for body in POLLING_BODIES:
        async with live_server.http.post(f"{url}&sid={sid}", data=body.encode()) as reply:
            assert reply.status in (200, 400), (body, reply.status)
    after = (await live_server.get("/metrics")).body
    counted = metric(after, "telehealth_malformed_frames_total", "engineio") - metric(
        before, "telehealth_malformed_frames_total", "engineio"
    )
    assert counted >= len(POLLING_BODIES) - 2, counted
    assert log_bytes.tracebacks == 0, [r.getMessage() for r in log_bytes.records][:3]
    assert (await live_server.get("/healthz")).status == 200


@pytest.mark.parametrize("frame", ["4x", "42[]", "42[123,{}]", '42"str"', "49"])
async def test_malformed_frame_gets_an_error_event(
    live_server: LiveServer, connect: Connector, raw: Any, frame: str
) -> None:
    patient, therapist, t_id, _, _ = await joined_raw(raw, live_server, connect)
    await patient.send(frame)
    assert (await patient.event("error"))["code"] == "malformed_frame"
    await assert_still_relays(patient, therapist, t_id, 2)


async def test_deep_json_gets_nesting_too_deep(
    live_server: LiveServer, connect: Connector, raw: Any, log_bytes: LogBytes
) -> None:
    patient, therapist, t_id, _, _ = await joined_raw(raw, live_server, connect)
    deep = "[" * 1000 + "]" * 1000  # 2 KB; the probe's 6 KB variant raised RecursionError
    await patient.send('423["stats.report",' + deep + "]")
    ack = await patient.ack(3)
    assert ack["ok"] is False and ack["error"]["code"] == "nesting_too_deep", ack
    await patient.send("4" + deep)  # below Socket.IO: Engine.IO's own JSON attempt
    assert (await patient.event("error"))["code"] == "malformed_frame"
    # 32 levels still decode (and fail the schema as usual).
    await patient.send('424["stats.report",' + "[" * 31 + "]" * 31 + "]")
    assert (await patient.ack(4))["error"]["code"] == "invalid_payload"
    await assert_still_relays(patient, therapist, t_id, 5)
    assert log_bytes.tracebacks == 0


async def test_deep_json_before_authenticating_is_a_connect_error(raw: Any) -> None:
    socket: RawSocket = await raw()
    await socket.send("40" + "[" * 1000 + "]" * 1000)
    reply = await socket.next()
    assert reply.startswith("44"), reply
    assert json.loads(reply[2:])["data"]["code"] == "nesting_too_deep"


# --- 4. floods --------------------------------------------------------------------------


async def test_sustained_flood_is_disconnected_with_a_reason(
    live_server: LiveServer, connect: Connector, raw: Any
) -> None:
    sio = live_server.app[COMPONENTS].signaling.sio
    eio_sids = set(sio.eio.sockets)
    patient, therapist, _, _, _ = await joined_raw(raw, live_server, connect)
    eio_sids = set(sio.eio.sockets) - eio_sids - {therapist.sio.eio.sid}
    loop = asyncio.get_running_loop()
    started = loop.time()
    frame = '42["media.connected",{}]'
    with contextlib.suppress(ConnectionError):
        while not patient.ws.closed and loop.time() - started < 6.0:
            for _ in range(23):  # the probe's 460 msg/s
                await patient.send(frame)
            await asyncio.sleep(0.05)
            if sio.eio.sockets.keys().isdisjoint(eio_sids):
                break  # the server closed it
    elapsed = loop.time() - started
    seen = await patient.closed(wait_s=3.0)
    assert any('"flooding"' in f for f in seen), seen[-3:]
    assert sio.eio.sockets.keys().isdisjoint(eio_sids) and elapsed < 6.0, elapsed
    # The other member carries on.
    assert therapist.connected
    ack = await therapist.call("media.state", {"audio": True, "video": True})
    assert ack == {"ok": True}


# --- 5. binary ----------------------------------------------------------------------------


async def test_binary_packets_are_refused_and_attachments_not_buffered(
    live_server: LiveServer, connect: Connector, raw: Any
) -> None:
    patient, therapist, t_id, _, _ = await joined_raw(raw, live_server, connect)
    sio = live_server.app[COMPONENTS].signaling.sio
    header = '4539-7["stats.report",{"_placeholder":true,"num":0}]'
    await patient.send(header)
    ack = await patient.ack(7)
    assert ack["ok"] is False and ack["error"]["code"] == "binary_not_allowed", ack
    chunk = b"\0" * (200 * 1024)
    for _ in range(38):
        await patient.send(chunk)
    await assert_still_relays(patient, therapist, t_id, 8)
    # Nothing held: python-socketio used to keep every attachment until the 39th arrived.
    assert not sio._binary_packet
    await patient.send('452-["media.connected",{"_placeholder":true,"num":0}]')
    error = await patient.event("error")
    assert error["code"] == "binary_not_allowed"


# --- 6. idle sockets and the per-address cap -----------------------------------------------


async def test_unauthenticated_socket_is_closed_at_the_deadline(start_server: StartServer) -> None:
    server = await start_server(auth_timeout_s=0.5)
    socket = await RawSocket.open(server.http, server.base_url)
    try:
        seen = await socket.closed(wait_s=3.0)
        refusal = next(f for f in seen if f.startswith("44"))
        assert json.loads(refusal[2:])["data"]["code"] == "auth_timeout"
    finally:
        await socket.close()


async def test_authenticated_socket_that_never_joins_is_closed(
    start_server: StartServer, connect: Connector
) -> None:
    server = await start_server(join_timeout_s=0.6)
    _, t_token, p_token = await server.individual_tokens()
    idle, member = await connect(server, p_token), await connect(server, t_token)
    await member.join()
    error = await idle.wait_for("error", wait_s=3.0)
    assert error["code"] == "join_timeout"
    await idle.wait_disconnected()
    await asyncio.sleep(0.4)
    assert member.connected  # joined in time: untouched
    assert (await member.call("media.state", {"audio": True, "video": True}))["ok"] is True


async def handshake(server: LiveServer, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    url = server.base_url + "/socket.io/?EIO=4&transport=polling"
    async with server.http.get(url, headers=headers or {}) as response:
        body = await response.text()
        try:
            return response.status, json.loads(body)
        except ValueError:
            return response.status, body


async def test_connections_per_address_are_capped(start_server: StartServer) -> None:
    server = await start_server(max_connections_per_address=2)
    sockets = [await RawSocket.open(server.http, server.base_url) for _ in range(2)]
    try:
        status, body = await handshake(server)
        assert status == 401 and body["code"] == "too_many_connections", (status, body)
        # X-Forwarded-For is the client's to write: ignored without --trust-proxy.
        status, _ = await handshake(server, {"X-Forwarded-For": "198.51.100.7"})
        assert status == 401
        await sockets.pop().close()
        await asyncio.sleep(0.2)
        status, _ = await handshake(server)
        assert status == 200
    finally:
        for socket in sockets:
            await socket.close()


async def test_cap_uses_forwarded_for_behind_a_trusted_proxy(start_server: StartServer) -> None:
    server = await start_server(max_connections_per_address=1, trust_proxy=True)
    first = {"X-Forwarded-For": "203.0.113.1"}
    assert (await handshake(server, first))[0] == 200
    status, body = await handshake(server, first)
    assert status == 401 and body["code"] == "too_many_connections"
    # The last entry is what our proxy saw; what the client put before it does not count.
    assert (await handshake(server, {"X-Forwarded-For": "203.0.113.1, 203.0.113.2"}))[0] == 200
    assert (await handshake(server, {"X-Forwarded-For": "198.51.100.9"}))[0] == 200


async def test_open_sockets_do_not_leak_cap_or_guard_state(
    live_server: LiveServer, connect: Connector, raw: Any
) -> None:
    sio = live_server.app[COMPONENTS].signaling.sio
    patient, _, _, _, _ = await joined_raw(raw, live_server, connect)
    await patient.send("4x")
    await patient.event("error")
    assert len(sio.frames) == 1
    await patient.close()
    await asyncio.sleep(0.3)
    assert len(sio.frames) == 0
    assert sio._address_cap.open_from("127.0.0.1") == 1  # the therapist's
