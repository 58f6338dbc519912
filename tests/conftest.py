"""Shared fixtures: the real app on a loopback port, and real socket.io clients.

Every wait here is bounded; a hung server fails a test instead of the run.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
import socketio
from aiohttp import web

from server.app import create_app
from server.auth.keys import ADMIN_KEY_FILE
from server.settings import Settings

WAIT_S = 5.0


def token_of(link_url: str) -> str:
    """The token in a join link's fragment (`/join#t=TOKEN`)."""
    fragment = urlsplit(link_url).fragment
    assert fragment.startswith("t="), link_url
    return fragment[2:]


@dataclass
class HttpReply:
    status: int
    body: Any
    headers: dict[str, str]


@dataclass
class LiveServer:
    """The real app on a real loopback TCP port."""

    base_url: str
    port: int
    app: web.Application
    settings: Settings
    admin_key: str
    http: aiohttp.ClientSession

    token_of = staticmethod(token_of)

    async def post(
        self, path: str, body: Any, *, key: str | None = None, raw: bytes | None = None
    ) -> HttpReply:
        """POST to the admin API; `key=None` uses the real admin key, "" sends none."""
        admin_key = self.admin_key if key is None else key
        headers = {"Authorization": f"Bearer {admin_key}"} if admin_key else {}
        kwargs: dict[str, Any] = {"data": raw} if raw is not None else {"json": body}
        async with asyncio.timeout(WAIT_S):
            async with self.http.post(self.base_url + path, headers=headers, **kwargs) as resp:
                try:
                    parsed = await resp.json(content_type=None)
                except ValueError:
                    parsed = await resp.text()
                return HttpReply(resp.status, parsed, dict(resp.headers))

    async def get(self, path: str, **kwargs: Any) -> HttpReply:
        async with asyncio.timeout(WAIT_S):
            async with self.http.get(self.base_url + path, **kwargs) as resp:
                text = await resp.text()
                try:
                    parsed: Any = await resp.json(content_type=None)
                except ValueError:
                    parsed = text
                return HttpReply(resp.status, parsed, dict(resp.headers))

    async def create_room(
        self,
        kind: str,
        participants: list[str] | None = None,
        admit: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"kind": kind, "participants": list(participants or []), **extra}
        if admit is not None:
            body["admit"] = admit
        reply = await self.post("/api/rooms", body)
        assert reply.status == 201, reply.body
        result: dict[str, Any] = reply.body
        return result

    async def invite(self, room_id: str, role: str, name: str) -> dict[str, Any]:
        reply = await self.post(f"/api/rooms/{room_id}/invites", {"role": role, "name": name})
        assert reply.status == 201, reply.body
        result: dict[str, Any] = reply.body
        return result

    async def individual_tokens(self) -> tuple[str, str, str]:
        """A fresh individual room: (room id, therapist token, patient token)."""
        room = await self.create_room("individual")
        links = {link["role"]: link["url"] for link in room["links"]}
        return room["room"], token_of(links["therapist"]), token_of(links["participant"])


StartServer = Callable[..., Awaitable[LiveServer]]


@pytest.fixture
async def start_server(tmp_path: Path) -> AsyncIterator[StartServer]:
    """Factory: `await start_server(grace_s=1.5)` starts one app with those settings."""
    runners: list[web.AppRunner] = []
    sessions: list[aiohttp.ClientSession] = []

    async def start(**overrides: Any) -> LiveServer:
        data_dir = overrides.pop("data_dir", tmp_path / f"data{len(runners)}")
        # Rooms in memory unless a test asks for Redis or SQLite: tests stay fast.
        settings = Settings(data_dir=data_dir, host="127.0.0.1", port=0, embedded_store="memory")
        settings = replace(settings, **overrides)
        app = create_app(settings)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await asyncio.wait_for(runner.setup(), WAIT_S)
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await asyncio.wait_for(site.start(), WAIT_S)
        port = next(a[1] for a in runner.addresses if isinstance(a, tuple))
        http = aiohttp.ClientSession()
        sessions.append(http)
        admin_key = (Path(data_dir) / ADMIN_KEY_FILE).read_text().strip()
        return LiveServer(f"http://127.0.0.1:{port}", port, app, settings, admin_key, http)

    try:
        yield start
    finally:
        for http in sessions:
            await http.close()
        for runner in reversed(runners):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(runner.cleanup(), 10)


@pytest.fixture
async def live_server(start_server: StartServer) -> LiveServer:
    """The app with default settings."""
    return await start_server()


@dataclass(eq=False)
class Client:
    """A python-socketio AsyncClient that keeps every server event in an inbox."""

    sio: socketio.AsyncClient
    inbox: list[tuple[str, Any]] = field(default_factory=list)
    connect_errors: list[Any] = field(default_factory=list)
    disconnects: list[Any] = field(default_factory=list)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def _record(self, event: str, data: Any) -> None:
        self.inbox.append((event, data))
        self._arrived.set()

    @property
    def connected(self) -> bool:
        return bool(self.sio.connected)

    async def call(self, event: str, data: Any = None, wait_s: float = WAIT_S) -> Any:
        """Emit with an acknowledgement and return the ack payload."""
        return await self.sio.call(event, data, timeout=wait_s)

    async def emit(self, event: str, data: Any = None) -> None:
        await self.sio.emit(event, data)

    async def join(self, resume: bool = False) -> dict[str, Any]:
        ack: dict[str, Any] = await self.call("session.join", {"resume": resume})
        assert ack.get("ok") is True, ack
        return ack

    def peek(self, event: str) -> list[Any]:
        return [data for name, data in self.inbox if name == event]

    async def wait_for(
        self, event: str, where: Callable[[Any], bool] | None = None, wait_s: float = WAIT_S
    ) -> Any:
        """Take the first unconsumed `event` (matching `where`) out of the inbox."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        while True:
            for index, (name, data) in enumerate(self.inbox):
                if name == event and (where is None or where(data)):
                    del self.inbox[index]
                    return data
            remaining = deadline - loop.time()
            if remaining <= 0:
                seen = [name for name, _ in self.inbox]
                raise AssertionError(f"no {event!r} within {wait_s}s; inbox has {seen}")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), remaining)

    async def wait_disconnected(self, wait_s: float = WAIT_S) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        while self.sio.connected or not self.disconnects:
            if loop.time() > deadline:
                raise AssertionError(f"still connected after {wait_s}s")
            await asyncio.sleep(0.02)

    async def assert_none(self, event: str, within: float = 0.3) -> None:
        await asyncio.sleep(within)
        assert not self.peek(event), f"unexpected {event!r}: {self.peek(event)}"

    async def disconnect(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.sio.disconnect(), WAIT_S)


def new_client() -> Client:
    sio = socketio.AsyncClient(reconnection=False, logger=False, engineio_logger=False)
    client = Client(sio)

    async def on_any(event: str, data: Any = None, *rest: Any) -> None:
        client._record(event, data)

    async def on_connect_error(data: Any = None) -> None:
        client.connect_errors.append(data)
        client._arrived.set()

    async def on_disconnect(reason: Any = None) -> None:
        client.disconnects.append(reason)
        client._arrived.set()

    sio.on("*", on_any)
    sio.on("connect_error", on_connect_error)
    sio.on("disconnect", on_disconnect)
    return client


class Connector:
    """Makes socket.io clients against a server; all are disconnected at teardown."""

    def __init__(self) -> None:
        self.clients: list[Client] = []

    async def __call__(
        self, server: LiveServer | str, token: str | None, headers: dict[str, str] | None = None
    ) -> Client:
        """A connected client; fails the test if the server refuses."""
        client = await self._connect(server, token, headers)
        assert client.connected, f"connection refused: {client.connect_errors}"
        return client

    async def refused(
        self,
        server: LiveServer | str,
        token: str | None,
        headers: dict[str, str] | None = None,
        *,
        auth: Any = ...,
    ) -> dict[str, Any]:
        """The `err.data` of a refused connection: {code, message}."""
        client = await self._connect(server, token, headers, auth=auth)
        assert not client.connected, "the server accepted a connection it should refuse"
        assert client.connect_errors, "refused without a connect_error"
        error = client.connect_errors[-1]
        assert isinstance(error, dict) and isinstance(error.get("data"), dict), error
        data: dict[str, Any] = error["data"]
        return data

    async def _connect(
        self,
        server: LiveServer | str,
        token: str | None,
        headers: dict[str, str] | None,
        auth: Any = ...,
    ) -> Client:
        url = server.base_url if isinstance(server, LiveServer) else server
        client = new_client()
        self.clients.append(client)
        if auth is ...:
            auth = {"token": token} if token is not None else {}
        with contextlib.suppress(socketio.exceptions.ConnectionError):
            await asyncio.wait_for(
                client.sio.connect(
                    url,
                    headers=headers or {},
                    auth=auth,
                    transports=["websocket"],
                    wait_timeout=WAIT_S,
                ),
                WAIT_S + 1,
            )
        return client

    async def close_all(self) -> None:
        await asyncio.gather(*(c.disconnect() for c in self.clients))


@pytest.fixture
async def connect() -> AsyncIterator[Connector]:
    """`await connect(server, token)` -> connected Client; `connect.refused(...)` -> err.data."""
    connector = Connector()
    try:
        yield connector
    finally:
        await connector.close_all()
