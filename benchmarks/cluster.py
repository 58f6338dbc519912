"""Cluster benchmark: one process against two on Redis, and failover of a group room.

Run: `.venv/bin/python benchmarks/cluster.py [--participants 1000] [--kills 10]`.
Human-readable lines first; the last line is one JSON object.

How it is measured
* Servers are `telehealth serve` processes on loopback; the two-process deployment
  shares one data directory and a redis-server of the benchmark's own (append-only,
  as docs/operations.md asks), whose CPU is counted with the servers'.
* Two processes are measured twice. As deployed (docs/operations.md): HAProxy in front
  (tests/cluster/cluster_support.py's configuration), every client sending its room as
  the routing hint pages send, so a room's members meet in the process that owns it.
  And spread: each room's members connected straight to alternate processes, the case
  of a room whose members are split (a process that came back after a failover takes
  new connections of rooms that moved away): its speakers are never on the owner.
* Load: `--participants` per process, idle and joined (individual rooms), opened
  through a small Engine.IO client (RawSocket, benchmarks/signaling.py) so the servers,
  not the clients, saturate. Joins per second counts connect + authenticate +
  session.join acknowledged, 32 in flight.
* Memory per participant: each server's VmRSS after the load, minus before, divided
  by the participants it holds.
* Fan-out: a 16-member group room (admitted on arrival); four members in turn toggle
  their microphone, `--toggles` times in all, 50 a second, and the time from the emit
  to each other member's `peer.media` is one sample (15 per toggle). With the members
  split, the four are all on the process that does not own the room. Delivered messages are those
  samples; CPU-seconds per 1,000 delivered messages are the servers' (and Redis's)
  CPU over the fan-out phase, with the idle load connected, less their CPU in idle
  spells of the same length between bursts of 250 toggles. `cluster_cpu_ratio` divides
  the two-process figure (as deployed) by the one-process figure measured in the same
  run; `cluster_cpu_ratio_spread`, the
  spread figure. HAProxy's CPU is not in them (a single process sits behind a TLS
  proxy too) and is reported on its own, `balancer_cpu_s_per_1000`.
* Failover: a group room of three aiortc members (therapist and two members, audio and
  video through the relay); the owner is killed with SIGKILL, and the time until every
  member receives every other's audio and video again (10 frames of each on a fresh
  leg) is one sample; then the killed process is started again. Room state (members,
  admission, presence) is compared before and after every kill. Two cases, `--kills`
  each: members connected to the process that does not own the room (only the relay
  moves), and as deployed, members through HAProxy and so on the owner: they lose their
  socket too and come back through the balancer on the page's schedule (first try
  after 0.5 s, then after 0.5, 1, 2, 4 s while refused).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the project importable from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp

# /proc readings and percentiles as the signaling benchmark takes them.
from benchmarks.signaling import RawSocket, new_session, percentile, token_of
from benchmarks.signaling import _cpu_seconds as cpu_seconds
from benchmarks.signaling import _rss_kib as rss_kib
from tests.browser.browser_support import Server, free_port, running_server
from tests.chromium_support import stop_process
from tests.cluster.cluster_members import RelayMember, all_receive, fresh_counts
from tests.cluster.cluster_support import (
    Cluster,
    leave_placeholder,
    owner_held_by_a_placeholder,
    start_balancer,
)
from tests.conftest import Connector
from tests.private_redis import PrivateRedis

GROUP_SIZE = 16
JOINS_IN_FLIGHT = 32
FAILOVER_BUDGET_S = 30.0
# 50 toggles a second: the idle load (1,000 participants' housekeeping, leases and
# pings per process) burns about as much as 20 a second of messages, and at 20 the
# two-process ratio swung 0.84x-1.25x over three runs; the messages must outweigh it.
TOGGLE_EVERY_S = 0.02
TOGGLES_PER_BURST = 250  # 5 s of toggles (about five housekeeping beats), then 5 s idle
SERVE_ARGS = ("--max-connections-per-address", "0", "--log-level", "WARNING")


class Deployment:
    """N server processes (one data directory); with Redis when N > 1, and HAProxy in
    front when `balanced`."""

    def __init__(self, workdir: Path, processes: int, *, balanced: bool = False) -> None:
        self.workdir = workdir
        self.processes = processes
        self.redis: PrivateRedis | None = None
        self.servers: list[Server] = []
        self.balancer: subprocess.Popen[bytes] | None = None
        self._balancer_url = ""
        self._balanced = balanced
        self._stack = contextlib.ExitStack()

    async def __aenter__(self) -> Deployment:
        data_dir = self.workdir / "data"
        data_dir.mkdir()
        args: tuple[str, ...] = SERVE_ARGS
        if self.processes > 1:
            self.redis = PrivateRedis(self.workdir, durable=True)
            await self.redis.start()
            args = (*args, "--redis-url", self.redis.url)
        for index in range(self.processes):
            self.servers.append(
                self._stack.enter_context(
                    running_server(data_dir, *args, log_name=f"server-{index}.log")
                )
            )
        if self._balanced:
            port = free_port()
            self.balancer = start_balancer(self.workdir, port, [s.base_url for s in self.servers])
            self._stack.callback(stop_process, self.balancer)
            self._balancer_url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stack.close()
        if self.redis is not None:
            await self.redis.kill()

    @property
    def admin_key(self) -> str:
        return (self.servers[0].data_dir / "admin.key").read_text().strip()

    def pids(self) -> list[int]:
        pids = [s.process.pid for s in self.servers]
        if self.redis is not None and self.redis.pid is not None:
            pids.append(self.redis.pid)
        return pids

    def cpu(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.pids())

    def balancer_cpu(self) -> float:
        return 0.0 if self.balancer is None else cpu_seconds(self.balancer.pid)

    def entry(self, index: int) -> tuple[str, bool]:
        """Where the `index`th client connects, and whether it sends its room."""
        if self.balancer is not None:
            return self._balancer_url, True
        return self.servers[index % self.processes].base_url, False

    async def create_room(
        self, http: aiohttp.ClientSession, kind: str, names: list[str], admit: str
    ) -> tuple[str, list[str]]:
        """(room id, a token per person, therapist first)."""
        body = {"kind": kind, "participants": names, "admit": admit}
        headers = {"Authorization": f"Bearer {self.admin_key}"}
        async with http.post(
            self.servers[0].base_url + "/api/rooms", json=body, headers=headers
        ) as response:
            assert response.status == 201, await response.text()
            room = await response.json()
        return str(room["room"]), [token_of(link["url"]) for link in room["links"]]


async def joined(
    http: aiohttp.ClientSession, entry: tuple[str, bool], room: str, token: str
) -> tuple[RawSocket, Any]:
    url, hinted = entry
    socket = await RawSocket.open(http, url, {"token": token}, room if hinted else None)
    ack = await socket.call("session.join", {"resume": False})
    assert ack["ok"], ack
    return socket, ack


async def idle_load(
    deployment: Deployment, http: aiohttp.ClientSession, per_process: int
) -> tuple[list[RawSocket], float, int]:
    """`per_process` joined participants on each process: sockets, joins/s, errors."""
    rooms = per_process * deployment.processes // 2
    seats: list[tuple[str, str]] = []  # (room, token)
    for _ in range(rooms):
        room_id, tokens = await deployment.create_room(http, "individual", [], "manual")
        seats += [(room_id, token) for token in tokens]
    semaphore = asyncio.Semaphore(JOINS_IN_FLIGHT)
    errors = 0

    async def one(index: int, room_id: str, token: str) -> RawSocket | None:
        nonlocal errors
        async with semaphore:
            try:
                return (await joined(http, deployment.entry(index), room_id, token))[0]
            except Exception as error:
                errors += 1
                print(f"a join failed: {error!r:.300}", file=sys.stderr)
                return None

    started = time.monotonic()
    results = await asyncio.gather(*(one(i, room, token) for i, (room, token) in enumerate(seats)))
    rate = len(results) / (time.monotonic() - started)
    return [s for s in results if s is not None], rate, errors


async def fan_out(
    deployment: Deployment, http: aiohttp.ClientSession, toggles: int
) -> dict[str, float]:
    names = [f"M{i}" for i in range(GROUP_SIZE - 1)]
    room_id, tokens = await deployment.create_room(http, "group", names, "auto")
    members = [
        (await joined(http, deployment.entry(i), room_id, token))[0]
        for i, token in enumerate(tokens)
    ]
    samples: list[float] = []
    errors = 0
    # Four speakers in turn (a connection may send 20 events a second). Odd places: with
    # the members split, all on the process the first member's join did not make owner.
    speakers = members[1:8:2]
    spoken = dict.fromkeys(speakers, 0)
    # What the processes burn with nobody talking (housekeeping, leases, the idle
    # load's pings) is subtracted: the figure is the cost of messages. At 1,000 idle
    # participants a process that is most of the CPU, so bursts of toggles alternate
    # with idle spells of the same length, and the idle spells' CPU is subtracted: a
    # drift or a beat then weighs on both sides alike (one idle reading before the
    # toggles made the ratio swing by a third between runs).
    busy_cpu = idle_cpu = busy_s = idle_s = busy_balancer = idle_balancer = 0.0
    toggle = 0
    while toggle < toggles:
        started, cpu_before = time.monotonic(), deployment.cpu()
        balancer_before = deployment.balancer_cpu()
        for _ in range(min(TOGGLES_PER_BURST, toggles - toggle)):
            speaker = speakers[toggle % len(speakers)]
            listeners = [m for m in members if m is not speaker]
            sent = time.monotonic()
            # Off first: members join with their microphone on; no change sends nothing.
            audio = spoken[speaker] % 2 == 1
            spoken[speaker] += 1
            reply = await speaker.call("media.state", {"audio": audio, "video": True})
            errors += not reply.get("ok")
            try:
                samples += await asyncio.gather(*(_arrival(m, sent) for m in listeners))
            except TimeoutError:
                errors += 1
            toggle += 1
            await asyncio.sleep(max(0.0, TOGGLE_EVERY_S - (time.monotonic() - sent)))
        busy_s += time.monotonic() - started
        busy_cpu += deployment.cpu() - cpu_before
        busy_balancer += deployment.balancer_cpu() - balancer_before
        started, cpu_before = time.monotonic(), deployment.cpu()
        balancer_before = deployment.balancer_cpu()
        await asyncio.sleep(TOGGLES_PER_BURST * TOGGLE_EVERY_S)
        idle_s += time.monotonic() - started
        idle_cpu += deployment.cpu() - cpu_before
        idle_balancer += deployment.balancer_cpu() - balancer_before
    idle_rate = idle_cpu / idle_s
    cpu = busy_cpu - idle_rate * busy_s
    balancer_cpu = busy_balancer - idle_balancer / idle_s * busy_s
    for member in members:
        await member.close()
    return {
        "p50_ms": percentile(samples, 50) * 1000,
        "p99_ms": percentile(samples, 99) * 1000,
        "delivered": len(samples),
        "errors": errors,
        "cpu_s_per_1000": cpu / max(1, len(samples)) * 1000,
        "idle_cpu_s_per_s": idle_rate,
        "balancer_cpu_s_per_1000": balancer_cpu / max(1, len(samples)) * 1000,
    }


async def _arrival(listener: RawSocket, sent: float) -> float:
    await listener.next("peer.media")
    return time.monotonic() - sent


async def load_and_fan_out(
    workdir: Path, processes: int, per_process: int, toggles: int, *, balanced: bool = False
) -> dict[str, float]:
    async with (
        Deployment(workdir, processes, balanced=balanced) as deployment,
        new_session() as http,
    ):
        before = [rss_kib(s.process.pid) for s in deployment.servers]
        sockets, joins_per_s, errors = await idle_load(deployment, http, per_process)
        await asyncio.sleep(1.0)
        after = [rss_kib(s.process.pid) for s in deployment.servers]
        per_participant_kib = (sum(after) - sum(before)) / max(1, len(sockets))
        figures = await fan_out(deployment, http, toggles)
        for socket in sockets:
            await socket.close()
    return {
        "participants": len(sockets),
        "joins_per_s": joins_per_s,
        "join_errors": errors,
        "kib_per_participant": per_participant_kib,
        **figures,
    }


async def failover(workdir: Path, kills: int, *, members_on_owner: bool) -> dict[str, Any]:
    """Kills of a group room's owner. `members_on_owner`: as deployed, every member
    through HAProxy with its room hint, so all sit on the owner and come back as pages
    do; otherwise all on the other process (only the relay moves)."""
    async with Deployment(workdir, 2, balanced=members_on_owner) as deployment:
        cluster = Cluster(
            deployment.redis,  # type: ignore[arg-type]
            deployment.servers[0].data_dir,
            deployment.servers,
            deployment.servers[0].base_url,
        )
        samples: list[float] = []
        intact = 0
        connector = Connector()
        for _ in range(kills):
            async with new_session() as http:
                room_id, tokens = await deployment.create_room(
                    http, "group", ["Alex", "Sam", "Pat"], "auto"
                )
            names = ("Therapist", "Alex", "Sam")
            if members_on_owner:
                url = f"{deployment.entry(0)[0]}/?room={room_id}"
                members = await _joined_members(connector, url, names, tokens)
                owner = await cluster.owner_index(room_id)
                seats = await cluster.seat_indexes(room_id)
                assert set(seats.values()) == {owner}, (seats, owner)
            else:
                # Pat keeps the room on its owner while the others join the other one.
                owner, pat = await owner_held_by_a_placeholder(
                    cluster, connector, room_id, tokens[3]
                )
                url = cluster.url(1 - owner)
                members = await _joined_members(connector, url, names, tokens)
                await leave_placeholder(pat)
            for member in members:
                member.follow_restarts()
                await member.open_leg()
            await all_receive(members, FAILOVER_BUDGET_S)
            before = await cluster.room(room_id)
            killed_at = time.monotonic()
            cluster.kill(owner)
            fresh_counts(members)
            if members_on_owner:
                await asyncio.gather(
                    *(m.come_back_as_a_page(connector, url, FAILOVER_BUDGET_S) for m in members)
                )
            await all_receive(members, FAILOVER_BUDGET_S)
            samples.append(time.monotonic() - killed_at)
            after = await cluster.room(room_id)
            states = [{(m.id, m.admission, m.presence) for m in r.members} for r in (before, after)]
            intact += states[0] == states[1]
            if states[0] != states[1]:
                print(f"state changed: {states[0] ^ states[1]}", file=sys.stderr)
            for member in members:
                await member.close()
            await connector.close_all()
            _restart(deployment, owner)
            await cluster.wait_ready(within_s=FAILOVER_BUDGET_S)
    return {
        "kills": kills,
        "p50_s": percentile(samples, 50),
        "p95_s": percentile(samples, 95),
        "max_s": max(samples),
        "state_intact": intact,
    }


async def _joined_members(
    connector: Connector, url: str, names: tuple[str, ...], tokens: list[str]
) -> list[RelayMember]:
    members = []
    for name, token in zip(names, tokens, strict=False):
        client = await connector(url, token)
        members.append(RelayMember(name, client, await client.join()))
    return members


def _restart(deployment: Deployment, index: int) -> None:
    old = deployment.servers[index]
    port = int(old.base_url.rsplit(":", 1)[1])
    args = (*SERVE_ARGS, "--redis-url", deployment.redis.url) if deployment.redis else SERVE_ARGS
    deployment.servers[index] = deployment._stack.enter_context(
        running_server(old.data_dir, *args, port=port, log_name=f"server-{index}.log")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=1000, help="per process")
    # 10 bursts: with 1,000 idle participants per process the idle CPU is as large as
    # the messages' own, and fewer left the ratio swinging between runs.
    parser.add_argument("--toggles", type=int, default=2500)
    parser.add_argument("--kills", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
        root = Path(tmp)
        for name in ("one", "two", "spread", "failover", "failover-on-owner"):
            (root / name).mkdir()
        one = asyncio.run(load_and_fan_out(root / "one", 1, args.participants, args.toggles))
        two = asyncio.run(
            load_and_fan_out(root / "two", 2, args.participants, args.toggles, balanced=True)
        )
        spread = asyncio.run(load_and_fan_out(root / "spread", 2, args.participants, args.toggles))
        kills = asyncio.run(failover(root / "failover", args.kills, members_on_owner=False))
        kills_on_owner = asyncio.run(
            failover(root / "failover-on-owner", args.kills, members_on_owner=True)
        )
    ratio = two["cpu_s_per_1000"] / one["cpu_s_per_1000"]
    spread_ratio = spread["cpu_s_per_1000"] / one["cpu_s_per_1000"]
    labelled = (
        ("one process", one),
        ("two processes on Redis behind HAProxy", two),
        ("two processes, each room's members split", spread),
    )
    for label, figures in labelled:
        print(
            f"{label}: {figures['participants']} participants, {figures['joins_per_s']:.0f} "
            f"joins/s, {figures['join_errors']} join errors, "
            f"{figures['kib_per_participant']:.1f} KiB each; fan-out to {GROUP_SIZE - 1}: "
            f"p50 {figures['p50_ms']:.1f} ms, p99 {figures['p99_ms']:.1f} ms, "
            f"{figures['errors']} errors, {figures['cpu_s_per_1000']:.3f} CPU-s per 1000"
        )
    print(
        f"cluster CPU per delivered message: {ratio:.2f}x one process as deployed (target "
        f"<= 1.5x; HAProxy adds {two['balancer_cpu_s_per_1000']:.3f} CPU-s per 1000), "
        f"{spread_ratio:.2f}x with each room's members split"
    )
    for label, figures in (
        ("members on the other process", kills),
        ("members on the owner, back through HAProxy", kills_on_owner),
    ):
        print(
            f"failover over {figures['kills']} owner kills, {label}: p50 "
            f"{figures['p50_s']:.1f} s, p95 {figures['p95_s']:.1f} s, max "
            f"{figures['max_s']:.1f} s; state intact {figures['state_intact']}/"
            f"{figures['kills']} (target p95 <= 10 s)"
        )
    figures = {
        "one_process": one,
        "two_processes": two,
        "two_processes_spread": spread,
        "cluster_cpu_ratio": ratio,
        "cluster_cpu_ratio_spread": spread_ratio,
    }
    print(json.dumps({**figures, "failover": kills, "failover_on_owner": kills_on_owner}))


if __name__ == "__main__":
    main()
