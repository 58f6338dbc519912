"""The /ops namespace goes through the session gateway's discipline: the Origin check on
connect, a schema per event (extra fields and wrong types refused), a per-connection rate
limit, and the same `{ok: false, error: {code, message}}` replies."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest
import socketio

from server.auth.keys import load_or_create
from server.auth.tokens import TokenIssuer

if TYPE_CHECKING:
    from tests.conftest import LiveServer, StartServer

OPS = "/ops"
WAIT_S = 5.0


class OpsClient:
    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False, logger=False, engineio_logger=False)
        self.connect_errors: list[Any] = []
        self.snapshots: list[Any] = []

        async def on_connect_error(data: Any = None) -> None:
            self.connect_errors.append(data)

        async def on_snapshot(data: Any = None) -> None:
            self.snapshots.append(data)

        self.sio.on("connect_error", on_connect_error, namespace=OPS)
        self.sio.on("ops.snapshot", on_snapshot, namespace=OPS)

    async def connect(
        self, server: LiveServer, token: str, headers: dict[str, str] | None = None
    ) -> bool:
        with contextlib.suppress(socketio.exceptions.ConnectionError):
            await asyncio.wait_for(
                self.sio.connect(
                    server.base_url,
                    namespaces=[OPS],
                    auth={"token": token},
                    headers=headers or {},
                    transports=["websocket"],
                    wait_timeout=WAIT_S,
                ),
                WAIT_S + 1,
            )
        return OPS in self.sio.namespaces

    async def watch(self, data: Any) -> Any:
        return await self.sio.call("ops.watch", data, namespace=OPS, timeout=WAIT_S)


@pytest.fixture
async def ops_clients() -> AsyncIterator[list[OpsClient]]:
    clients: list[OpsClient] = []
    try:
        yield clients
    finally:
        for client in clients:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.sio.disconnect(), WAIT_S)


def ops_token(server: LiveServer) -> str:
    return TokenIssuer(load_or_create(server.settings.data_dir).signing_key).issue_ops(ttl_s=600)


async def connected(server: LiveServer, clients: list[OpsClient]) -> OpsClient:
    client = OpsClient()
    clients.append(client)
    assert await client.connect(server, ops_token(server)), client.connect_errors
    return client


async def test_a_bad_ops_watch_payload_is_refused_as_invalid_payload(
    live_server: LiveServer, ops_clients: list[OpsClient]
) -> None:
    client = await connected(live_server, ops_clients)
    for bad in ({"room": None, "extra": 1}, {"room": 5}, {"room": "r" * 65}, "r_room", [1]):
        reply = await client.watch(bad)
        assert reply["ok"] is False, bad
        assert reply["error"]["code"] == "invalid_payload", (bad, reply)
        assert reply["error"]["message"]
    # The connection carries on, and good payloads still work.
    assert await client.watch({"room": None}) == {"ok": True}
    assert await client.watch({"room": "r_whatever"}) == {"ok": True}
    assert await client.watch(None) == {"ok": True}


async def test_a_flood_of_ops_watch_is_rate_limited(
    start_server: StartServer, ops_clients: list[OpsClient]
) -> None:
    server = await start_server(rate_per_s=1.0, rate_burst=3.0)
    client = await connected(server, ops_clients)
    replies = [await client.watch({"room": None}) for _ in range(8)]
    assert replies[0] == {"ok": True}
    codes = [r["error"]["code"] for r in replies if r.get("ok") is False]
    assert codes and set(codes) == {"rate_limited"}, replies


async def test_an_unknown_ops_event_is_refused_as_unknown_event(
    live_server: LiveServer, ops_clients: list[OpsClient]
) -> None:
    client = await connected(live_server, ops_clients)
    reply = await client.sio.call("session.join", {}, namespace=OPS, timeout=WAIT_S)
    assert reply["ok"] is False and reply["error"]["code"] == "unknown_event", reply


async def test_a_foreign_origin_is_refused_on_ops_connect(
    live_server: LiveServer, ops_clients: list[OpsClient]
) -> None:
    client = OpsClient()
    ops_clients.append(client)
    token = ops_token(live_server)
    assert not await client.connect(live_server, token, headers={"Origin": "https://evil.example"})
    assert client.connect_errors, "refused without a connect_error"
    error = client.connect_errors[-1]
    assert error["data"]["code"] == "origin_not_allowed", error
    assert not client.snapshots
    # Its own origin is let in.
    same = OpsClient()
    ops_clients.append(same)
    assert await same.connect(live_server, token, headers={"Origin": live_server.base_url})
