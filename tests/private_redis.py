"""A redis-server of a test's own, on a free loopback port, to stop, kill or freeze
without touching the machine's shared Redis (tests of Redis faults and readiness)."""

from __future__ import annotations

import asyncio
import shutil
import signal
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from server.stores.redis_store import ROOM_INDEX_KEY, ROOM_KEY
from server.stores.room_codec import room_from_json
from server.stores.sealed import Sealer

if TYPE_CHECKING:
    from rooms.room import Room

REDIS_SERVER = shutil.which("redis-server")
START_S = 5.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class PrivateRedis:
    """One redis-server process of our own; `kill()` and `start()` keep the port.

    `durable`: an append-only file with `appendfsync always` (what docs/operations.md
    asks of a deployment), so a killed and restarted server comes back with its data.
    """

    def __init__(self, workdir: Path, *, durable: bool = False) -> None:
        assert REDIS_SERVER is not None, "redis-server is not installed (scripts/test installs it)"
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._workdir = workdir
        self._durable = durable
        self._process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        assert self._process is None and REDIS_SERVER is not None
        persistence = (
            ["--appendonly", "yes", "--appendfsync", "always"]
            if self._durable
            else ["--appendonly", "no"]
        )
        self._process = await asyncio.create_subprocess_exec(
            REDIS_SERVER,
            *("--port", str(self.port), "--bind", "127.0.0.1", "--save", ""),
            *persistence,
            *("--dir", str(self._workdir), "--daemonize", "no"),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_S
        while not await self.answers():
            assert self._process.returncode is None, "redis-server exited at start"
            assert time.monotonic() < deadline, f"redis-server not up within {START_S}s"
            await asyncio.sleep(0.05)

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    async def kill(self) -> None:
        """SIGKILL our own child, by its pid: a crash, no clean shutdown."""
        process, self._process = self._process, None
        if process is None:
            return
        process.kill()
        await asyncio.wait_for(process.wait(), START_S)

    def freeze(self, frozen: bool) -> None:
        """SIGSTOP / SIGCONT our own child: a Redis that accepts but never answers."""
        assert self._process is not None
        self._process.send_signal(signal.SIGSTOP if frozen else signal.SIGCONT)

    async def answers(self) -> bool:
        client = aioredis.Redis.from_url(self.url, socket_timeout=0.5, socket_connect_timeout=0.5)
        try:
            return bool(await client.ping())
        except (RedisError, OSError):
            return False
        finally:
            await client.aclose()

    async def room(self, room_id: str, data_dir: Path) -> Room | None:
        """The room as stored, opened with the storage key of the server's data dir."""
        client = aioredis.Redis.from_url(self.url, socket_timeout=2)
        try:
            raw = await client.get(ROOM_KEY.format(room_id=room_id))
            if raw is None:
                return None
            return room_from_json(Sealer.in_data_dir(data_dir).open(room_id, raw))
        finally:
            await client.aclose()

    async def index(self) -> set[str]:
        client = aioredis.Redis.from_url(self.url, socket_timeout=2, decode_responses=True)
        try:
            return {str(member) for member in await client.smembers(ROOM_INDEX_KEY)}
        finally:
            await client.aclose()
