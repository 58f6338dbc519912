"""Several `telehealth serve` processes on one Redis, behind HAProxy, all on loopback.

Each cluster test gets a Redis of its own (durable: append-only, fsync always, as
docs/operations.md asks of a deployment), N server processes sharing one data
directory, and HAProxy from Debian's package in front of them, health-checking
`/readyz` as a deployment would.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import subprocess
import time
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from server.cluster.leases import LEASE_KEY, SEATS_KEY
from tests.browser.browser_support import Server, free_port, running_server, token_of
from tests.chromium_support import stop_process
from tests.private_redis import PrivateRedis

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
BALANCER_READY_S = 10.0
# HAProxy checks /readyz this often; a process is out after 2 failed checks.
CHECK_INTERVAL_MS = 300

HAPROXY_CONFIG = """
global
    maxconn 4096
defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout tunnel 1h
    # A process that died since the last health check refuses the connection: try
    # another one instead of failing the member's reconnect.
    retries 3
    option redispatch
frontend sessions
    bind 127.0.0.1:{port}
    # Pages send their room as a query parameter on the socket (`room`): a room's
    # members meet in one process, which owns the room, so its commands and fan-out
    # stay there. Consistent hashing moves only a dead process's rooms, and keeps every
    # request of a long-polling connection on one process while the set is unchanged.
    use_backend rooms if {{ urlp(room) -m found }}
    default_backend telehealth
backend rooms
    balance url_param room
    hash-type consistent
{room_servers}
backend telehealth
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    # Engine.IO long-polling without a room (the ops dashboard behind a proxy that
    # refuses WebSockets) needs every request of one connection on one process.
    cookie srv insert indirect nocache
    default-server inter {interval}ms fall 2 rise 2
{servers}
"""


@dataclass
class Cluster:
    redis: PrivateRedis
    data_dir: Path
    servers: list[Server]
    balancer_url: str
    stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def url(self, index: int) -> str:
        return self.servers[index].base_url

    def create_room(self, kind: str, *participants: str) -> dict[str, Any]:
        """`telehealth room create --server BALANCER`, as an operator would."""
        args = ["room", "create", "--kind", kind, "--server", self.balancer_url]
        for name in participants:
            args += ["--participant", name]
        return self.servers[0].cli(*args)

    async def lease_holder(self, room_id: str) -> str | None:
        client = aioredis.Redis.from_url(self.redis.url, socket_timeout=2, decode_responses=True)
        try:
            value = await client.get(LEASE_KEY.format(room_id=room_id))
        finally:
            await client.aclose()
        return None if value is None else str(value)

    async def owner_index(self, room_id: str, within_s: float = 5.0) -> int:
        """Which of `servers` owns the room (node ids carry the process id)."""
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            holder = await self.lease_holder(room_id)
            index = None if holder is None else self._index_of(holder.rsplit("|", 1)[0])
            if index is not None:
                return index
            await asyncio.sleep(0.1)
        raise AssertionError(f"nobody owns {room_id} after {within_s}s")

    async def seat_indexes(self, room_id: str) -> dict[str, int | None]:
        """Which of `servers` holds each member's seat (member id -> index; None: a
        process that is gone)."""
        client = aioredis.Redis.from_url(self.redis.url, socket_timeout=2, decode_responses=True)
        try:
            holders = await client.hgetall(SEATS_KEY.format(room_id=room_id))
        finally:
            await client.aclose()
        return {str(member): self._index_of(str(node)) for member, node in holders.items()}

    def _index_of(self, node: str) -> int | None:
        """Which live one of `servers` a node id names (node ids carry the process id)."""
        pid = int(node.split("-")[-2])
        for index, server in enumerate(self.servers):
            if server.process.pid == pid and server.process.poll() is None:
                return index
        return None

    async def room(self, room_id: str) -> Any:
        """The room as stored in Redis (sealed with the deployment's key)."""
        room = await self.redis.room(room_id, self.data_dir)
        assert room is not None
        return room

    async def wait_ready(self, within_s: float) -> None:
        """Until every live process answers /readyz with 200."""
        deadline = time.monotonic() + within_s
        for server in self.servers:
            if server.process.poll() is not None:
                continue
            while not await asyncio.to_thread(_ready, server.base_url):
                assert time.monotonic() < deadline, f"{server.base_url} not ready in {within_s}s"
                await asyncio.sleep(0.1)

    def kill(self, index: int) -> None:
        process = self.servers[index].process
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def terminate(self, index: int, within_s: float = 10.0) -> float:
        """SIGTERM and wait; the seconds the process took to exit."""
        process = self.servers[index].process
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=within_s)
        return time.monotonic() - started

    def logs(self) -> str:
        return "\n".join(f"--- process {i}\n{s.log_tail(3000)}" for i, s in enumerate(self.servers))


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def _wait_balancer(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + BALANCER_READY_S
    while not _ready(url):
        assert process.poll() is None, "haproxy exited at start"
        assert time.monotonic() < deadline, f"haproxy not serving {url} in {BALANCER_READY_S}s"
        time.sleep(0.1)


def start_balancer(workdir: Path, port: int, urls: list[str]) -> subprocess.Popen[bytes]:
    """HAProxy on `port` in front of the processes at `urls`, serving once it returns
    (the caller stops it)."""
    addresses = [url.removeprefix("http://") for url in urls]
    servers = "\n".join(
        f"    server p{i} {address} check cookie p{i}" for i, address in enumerate(addresses)
    )
    # The room backend follows the other's health checks (`track`).
    room_servers = "\n".join(
        f"    server p{i} {address} track telehealth/p{i}" for i, address in enumerate(addresses)
    )
    config = workdir / "haproxy.cfg"
    config.write_text(
        HAPROXY_CONFIG.format(
            port=port, interval=CHECK_INTERVAL_MS, servers=servers, room_servers=room_servers
        )
    )
    with (workdir / "haproxy.log").open("wb") as log:
        balancer = subprocess.Popen(
            [HAPROXY, "-db", "-f", str(config)], stdout=subprocess.DEVNULL, stderr=log
        )
    _wait_balancer(f"http://127.0.0.1:{port}", balancer)
    return balancer


@contextlib.asynccontextmanager
async def running_cluster(
    workdir: Path, processes: int = 2, *extra_args: str
) -> AsyncIterator[Cluster]:
    redis = PrivateRedis(workdir, durable=True)
    await redis.start()
    data_dir = workdir / "data"
    data_dir.mkdir()
    balancer_port = free_port()
    balancer_url = f"http://127.0.0.1:{balancer_port}"
    args = ("--redis-url", redis.url, "--public-url", balancer_url, *extra_args)
    cluster = Cluster(redis, data_dir, [], balancer_url)
    try:
        with cluster.stack:
            for index in range(processes):
                server = cluster.stack.enter_context(
                    running_server(data_dir, *args, log_name=f"server-{index}.log")
                )
                cluster.servers.append(server)
            balancer = start_balancer(workdir, balancer_port, [s.base_url for s in cluster.servers])
            cluster.stack.callback(stop_process, balancer)
            yield cluster
    finally:
        await redis.kill()


@dataclass
class SplitGroup:
    """A group room: its therapist on process 0, Alex and Sam on process 1, all joined
    (the members waiting)."""

    room_id: str
    therapist: Any
    alex: Any
    sam: Any
    alex_ack: dict[str, Any]
    sam_ack: dict[str, Any]


async def group_split_over_processes(cluster: Cluster, connect: Any) -> SplitGroup:
    room = cluster.create_room("group", "Alex", "Sam")
    t_link, alex_link, sam_link = (token_of(link["url"]) for link in room["links"])
    therapist = await connect(cluster.url(0), t_link)
    alex = await connect(cluster.url(1), alex_link)
    sam = await connect(cluster.url(1), sam_link)
    await therapist.join()
    alex_ack, sam_ack = await alex.join(), await sam.join()
    return SplitGroup(room["room"], therapist, alex, sam, alex_ack, sam_ack)


async def owner_held_by_a_placeholder(
    cluster: Cluster, connect: Any, room_id: str, placeholder_token: str
) -> tuple[int, Any]:
    """(owner index, the placeholder's client): the room's owner, kept as owner by a
    member seated there first. A room follows its first member (server/cluster/router.py),
    so a test that wants everyone else connected away from the owner seats one member
    on it first, and has it leave once the others sit (`leave_placeholder`)."""
    owner = await cluster.owner_index(room_id)  # housekeeping claims a new room
    placeholder = await connect(cluster.url(owner), placeholder_token)
    await placeholder.join()
    assert await cluster.owner_index(room_id) == owner
    return owner, placeholder


async def leave_placeholder(placeholder: Any) -> None:
    reply = await placeholder.call("session.leave", {})
    assert reply.get("ok") is True, reply
    await placeholder.disconnect()
