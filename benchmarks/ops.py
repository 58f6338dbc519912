"""Ops benchmark: what metrics and the ops dashboard add to signaling; audit verify time.

Run: `.venv/bin/python benchmarks/ops.py [--rounds 4] [--slices 10] [--slice 2]`
(about 3 minutes). Human-readable lines first; the last line is one JSON object
(`metrics_overhead_pct`, `metrics_overhead_cpu_pct`, `audit_verify_100k_s`, ...).

Targets (the issue): metrics and dashboard updates add under 5% to the signaling
benchmark's cost, same run, with and without; audit verify of 100,000 entries < 2 s.

How it is measured
* The workload is benchmarks/signaling.py's relay throughput workload, built from its
  code (ServerProcess, RawSocket, create_individual_rooms, joined_pair): K individual
  rooms, each client keeping W acknowledged `signal.candidate` calls in flight to its
  peer; servers in their own processes pinned to CPU 0, the clients here on CPU 1;
  Settings(rate_per_s=1e9, rate_burst=1e9) so the limiter admits everything.
* "on": the normal app (Settings.instrumentation=True: Prometheus counters on every
  message in and out, the metrics room listener, /metrics, the /ops feed) *and* the
  ops load it serves: one ops dashboard client on /ops with an ops token, receiving a
  snapshot every 2 s (the server's push interval) and, once rooms exist, drilled into
  one room as the page does (ops.watch, so snapshots carry that room's detail); plus a
  GET /metrics every second (far more eager than Prometheus's usual 15 s). Their CPU
  is the on server's, so it is inside the figures.
* "off": Settings(instrumentation=False): the signaling observer counts nothing (it
  still writes refused tokens to the audit log), no metrics room listener, no /metrics
  route (checked: 404), no /ops feed; no dashboard client, no scraper. The audit log
  stays on in both (it is not instrumentation; this workload writes nothing to it).
* Method `together` (default): each round starts one off and one on server and loads
  both at once, side by side on CPU 0, for `--slices` windows of `--slice` seconds.
  Both see the same background load at the same instant, so on a shared, noisy host
  the drift cancels within every window (alternating runs only cancel slow drift).
  The kernel shares CPU 0 evenly between the two busy servers, so the instrumented one
  delivers fewer messages in proportion to its extra CPU per message. Fresh servers per
  round average out per-process luck (memory layout, hash seeds).
  `--method slices`: both servers up, the load alternating between them window by
  window (order flipping each pair). `--method rounds`: signaling.py's `relay_rate` as
  is, a fresh server per run, off/on alternating (order flipping each round); the
  noisiest. `--null`: an A/A check of the method (both servers off, no dashboard, no
  scraper): what it reports is the noise floor.
* The cost has a per-message part (two counter increments per relayed message) and a
  per-second part (the scrape, the snapshot pushes). The latter's share of the server's
  CPU grows as the host leaves the server less CPU, so each round also measures it
  alone: `--idle` seconds with no messages, dashboard and scraper on (on minus off CPU:
  `ops_fixed_cpu_ms_per_s`). metrics_overhead_per_message_pct is the on server's CPU/msg
  without that part vs off; metrics_overhead_whole_cpu_pct what both come to for a
  server with a whole CPU to itself. A tight-loop timing of the observer in this process
  (`observer_us_per_message`) cross-checks the per-message part.
* Figures per window: delivered msg/s and the server's CPU-seconds per message (all its
  threads, /proc/PID/task/*/schedstat, ns resolution), the steadier figure on a busy
  host. metrics_overhead_pct = (median rate off / median rate on - 1) * 100;
  metrics_overhead_cpu_pct = (median CPU/msg on / median CPU/msg off - 1) * 100; also
  the medians of the per-window paired overheads, and pooled CPU / messages.
* Audit: benchmarks/audit_verify.py's `measure()` in a temporary directory (append
  100,000 entries, then verify the chain; wall and CPU seconds), in this process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the project importable from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp

from benchmarks.audit_verify import measure as measure_audit
from benchmarks.signaling import (
    CANDIDATE,
    WAIT_S,
    RawSocket,
    ServerProcess,
    _allowed_cpus,
    _cpu_seconds,
    _pin,
    _runqueue_wait_s,
    create_individual_rooms,
    joined_pair,
    new_session,
    relay_rate,
)

OPS_NAMESPACE = "/ops"
SCRAPE_INTERVAL_S = 1.0
RELAYED_COUNTER = re.compile(
    r'^telehealth_signaling_messages_total\{direction="in",event="signal\.candidate"\} (\S+)$',
    re.MULTILINE,
)


# --- the ops dashboard's feed, as the page uses it ----------------------------------------


def ops_token(server: ServerProcess) -> str:
    """What `telehealth ops-link` prints a link with: an ops token from the server's key."""
    from server.auth.keys import load_or_create
    from server.auth.tokens import TokenIssuer

    return TokenIssuer(load_or_create(server.data_dir).signing_key).issue_ops(ttl_s=3600.0)


class OpsDashboard:
    """Engine.IO v4 / Socket.IO v5 on the /ops namespace only (as static/ops/feed.js):
    counts snapshots, and drills into the first room that shows up (ops.watch)."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, early: list[str]) -> None:
        self.ws = ws
        self.snapshots = 0
        self.snapshot_bytes = 0
        self.max_rooms = 0
        self.watching: str | None = None
        self.watch_acked = False
        self.with_detail = 0
        self._reader = asyncio.ensure_future(self._read(early))

    @classmethod
    async def open(cls, session: aiohttp.ClientSession, base_url: str, token: str) -> OpsDashboard:
        url = base_url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
        ws = await session.ws_connect(url, autoping=False, max_msg_size=0)
        opening = await asyncio.wait_for(ws.receive_str(), WAIT_S)
        assert opening.startswith("0"), opening
        await ws.send_str(f"40{OPS_NAMESPACE}," + json.dumps({"token": token}))
        # The server pushes a first snapshot from its connect handler, which can arrive
        # before the connect reply itself: keep it for the reader.
        early: list[str] = []
        while True:
            reply = await asyncio.wait_for(ws.receive_str(), WAIT_S)
            if reply.startswith(f"40{OPS_NAMESPACE},"):
                return cls(ws, early)
            if not reply.startswith(f"42{OPS_NAMESPACE},"):
                await ws.close()
                raise ConnectionError(f"ops feed refused: {reply}")
            early.append(reply)

    async def _read(self, early: list[str]) -> None:
        for data in early:
            await self._handle(data)
        async for message in self.ws:
            if message.type is not aiohttp.WSMsgType.TEXT or not await self._handle(message.data):
                break

    async def _handle(self, data: str) -> bool:
        """Handle one Engine.IO packet; False when the connection is over."""
        events, acks = f"42{OPS_NAMESPACE},", f"43{OPS_NAMESPACE},"
        if data == "2":
            await self.ws.send_str("3")
        elif data.startswith(events):
            name, *args = json.loads(data[len(events) :])
            if name == "ops.snapshot" and args:
                snapshot = args[0]
                self.snapshots += 1
                self.snapshot_bytes += len(data)
                self.max_rooms = max(self.max_rooms, len(snapshot["rooms"]))
                if snapshot.get("room") is not None:
                    self.with_detail += 1
                if self.watching is None and snapshot["rooms"]:
                    self.watching = snapshot["rooms"][0]["id"]
                    await self.ws.send_str(
                        events + "1" + json.dumps(["ops.watch", {"room": self.watching}])
                    )
        elif data.startswith(acks):
            body = json.loads(data[len(acks) + 1 :])  # our only call has id 1
            self.watch_acked = bool(body and body[0].get("ok"))
        elif data.startswith(("41", "1")):
            return False
        return True

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.send_str(f"41{OPS_NAMESPACE},")
            await asyncio.wait_for(self.ws.close(), 2)
        self._reader.cancel()
        with contextlib.suppress(BaseException):
            await self._reader


class Scraper:
    """GET /metrics every `interval` seconds, as a (very eager) Prometheus would."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        server: ServerProcess,
        interval: float = SCRAPE_INTERVAL_S,
    ) -> None:
        self.scrapes = 0
        self.failures = 0
        self.body_bytes = 0
        self.last_body = ""
        self._session = session
        self._url = server.base_url + "/metrics"
        self._interval = interval
        self._running = asyncio.Event()
        self._running.set()
        self._busy = asyncio.Lock()
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        while True:
            await self._running.wait()
            async with self._busy:
                await self._scrape()
            await asyncio.sleep(self._interval)

    def resume(self) -> None:
        self._running.set()

    async def pause(self) -> None:
        """No new scrapes from now on; returns once the one under way (if any) is done."""
        self._running.clear()
        async with self._busy:
            pass

    async def _scrape(self) -> None:
        try:
            async with self._session.get(self._url) as response:
                body = await response.text()
            if response.status == 200:
                self.scrapes += 1
                self.body_bytes += len(body)
                self.last_body = body
            else:
                self.failures += 1
        except aiohttp.ClientError:
            self.failures += 1

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(BaseException):
            await self._task


# --- one round ------------------------------------------------------------------------------


def server_overrides(instrumented: bool) -> dict[str, Any]:
    return {"rate_per_s": 1e9, "rate_burst": 1e9, "instrumentation": instrumented}


async def round_with_ops(
    server: ServerProcess,
    instrumented: bool,
    pairs: int,
    window: int,
    duration: float,
    warmup: float,
) -> dict[str, Any]:
    """benchmarks/signaling.py's relay run; with the dashboard and the scraper if on."""
    async with new_session() as session:
        async with session.get(server.base_url + "/metrics") as response:
            metrics_status = response.status
        if instrumented != (metrics_status == 200):
            raise RuntimeError(
                f"instrumentation={instrumented} but /metrics answered {metrics_status}"
            )
        dashboard: OpsDashboard | None = None
        scraper: Scraper | None = None
        if instrumented:
            dashboard = await OpsDashboard.open(session, server.base_url, ops_token(server))
            scraper = Scraper(session, server)
        started = time.perf_counter()
        try:
            run: dict[str, Any] = dict(await relay_rate(server, pairs, window, duration, warmup))
        finally:
            elapsed = time.perf_counter() - started
            if scraper is not None:
                await scraper.stop()
            if dashboard is not None:
                await dashboard.close()
    run["cpu_per_msg_us"] = run["server_cpu"] / run["rate"] * 1e6 if run["rate"] else 0.0
    run["ops_elapsed_s"] = elapsed
    if dashboard is not None and scraper is not None:
        counted = RELAYED_COUNTER.search(scraper.last_body)
        run.update(
            snapshots=dashboard.snapshots,
            snapshot_kib=dashboard.snapshot_bytes / 1024,
            snapshot_rooms=dashboard.max_rooms,
            watch_acked=dashboard.watch_acked,
            snapshots_with_detail=dashboard.with_detail,
            scrapes=scraper.scrapes,
            scrape_failures=scraper.failures,
            scrape_kib=scraper.body_bytes / max(1, scraper.scrapes) / 1024,
            counted_in=float(counted.group(1)) if counted else 0.0,
        )
    return run


def describe(mode: str, run: dict[str, Any], server: ServerProcess) -> str:
    line = (
        f"[{mode:>3}, server on CPU {server.cpus}] {run['rate']:.0f} msg/s delivered; "
        f"server CPU {run['server_cpu'] * 100:.0f}%, waiting for a CPU "
        f"{run['server_wait'] * 100:.0f}%; {run['cpu_per_msg_us']:.1f} us CPU/msg; "
        f"refused {run['refused']:.0f}"
    )
    if "snapshots" in run:
        line += (
            f"\n        ops: {run['snapshots']} snapshots ({run['snapshot_kib']:.1f} KiB, "
            f"{run['snapshot_rooms']} rooms listed, {run['snapshots_with_detail']} with "
            f"room detail, watch acked {run['watch_acked']}); {run['scrapes']} /metrics "
            f"scrapes ({run['scrape_kib']:.1f} KiB each, {run['scrape_failures']} failed) "
            f"in {run['ops_elapsed_s']:.1f} s; signal.candidate counted in: "
            f"{run['counted_in']:.0f}"
        )
    return line


def check_on_round(run: dict[str, Any]) -> list[str]:
    """The on case must really have paid for what it claims to measure."""
    problems = []
    if run["snapshots"] < 2:
        problems.append(f"only {run['snapshots']} ops snapshots")
    if not run["watch_acked"]:
        problems.append("ops.watch not acknowledged")
    if run["scrapes"] < 2:
        problems.append(f"only {run['scrapes']} /metrics scrapes")
    if run["counted_in"] <= 0:
        problems.append("no signal.candidate counted in /metrics")
    return problems


# --- interleaved slices: both servers up, the load switching between them ------------------


class PausableRelay:
    """benchmarks/signaling.py's relay workload on one server (same rooms, clients, payload
    and window), except that its senders only send while `active` is set."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.active = asyncio.Event()
        self.delivered = 0
        self.refused = 0
        self.in_flight = 0
        self._closed = False
        self._sockets: list[tuple[RawSocket, RawSocket, str, str]] = []
        self._workers: list[asyncio.Future[None]] = []
        self._idle = asyncio.Event()

    async def start(self, session: aiohttp.ClientSession, pairs: int, window: int) -> None:
        for tokens in await create_individual_rooms(session, self.server, pairs):
            self._sockets.append(await joined_pair(session, self.server, tokens))
        for a, b, a_id, b_id in self._sockets:
            a.handlers["signal.candidate"] = self._count
            b.handlers["signal.candidate"] = self._count
            for _ in range(window):
                self._workers.append(asyncio.ensure_future(self._sender(a, b_id)))
                self._workers.append(asyncio.ensure_future(self._sender(b, a_id)))

    def _count(self, _: Any) -> None:
        self.delivered += 1

    async def _sender(self, sock: RawSocket, to: str) -> None:
        payload = {"to": to, "candidate": CANDIDATE}
        while True:
            await self.active.wait()
            if self._closed:
                return
            self.in_flight += 1
            self._idle.clear()
            try:
                ack = await sock.call("signal.candidate", payload)
            finally:
                self.in_flight -= 1
                if self.in_flight == 0:
                    self._idle.set()
            if not ack.get("ok"):
                self.refused += 1

    async def pause(self) -> None:
        """Stop sending and wait for the calls in flight (and their deliveries) to finish."""
        self.active.clear()
        if self.in_flight:
            await asyncio.wait_for(self._idle.wait(), WAIT_S)
        await asyncio.sleep(0.05)  # the last relayed messages reach the peers

    async def close(self) -> None:
        self._closed = True
        self.active.set()
        await asyncio.gather(*self._workers, return_exceptions=True)
        for a, b, _, _ in self._sockets:
            await a.close()
            await b.close()


def server_cpu_s(pid: int) -> float:
    """CPU time of all the server's threads, to the nanosecond (/proc/PID/task/*/schedstat);
    /proc/PID/stat (benchmarks/signaling.py's `_cpu_seconds`) counts in 10 ms ticks, too
    coarse for short slices."""
    total = 0
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                total += int((task / "schedstat").read_text().split()[0])
    except OSError:
        return _cpu_seconds(pid)
    return total / 1e9


def _sample(relay: PausableRelay) -> tuple[int, float, float, float]:
    pid = relay.server.pid
    return relay.delivered, server_cpu_s(pid), _runqueue_wait_s(pid), time.perf_counter()


def _figures(
    before: tuple[int, float, float, float], after: tuple[int, float, float, float]
) -> dict[str, float]:
    count, cpu, wait, elapsed = (a - b for a, b in zip(after, before, strict=True))
    return {
        "rate": count / elapsed,
        "server_cpu": cpu / elapsed,
        "server_wait": wait / elapsed,
        "cpu_per_msg_us": cpu / count * 1e6 if count else float("nan"),
        "messages": float(count),
        "cpu_s": cpu,
        "elapsed_s": elapsed,
    }


async def measure_window(
    relays: list[PausableRelay], settle: float, length: float
) -> list[dict[str, float]]:
    """Load `relays` (one: a slice; both: side by side) for `settle` + `length` seconds;
    figures over the last `length` seconds, one dict per relay."""
    for relay in relays:
        relay.active.set()
    await asyncio.sleep(settle)
    before = [_sample(relay) for relay in relays]
    await asyncio.sleep(length)
    after = [_sample(relay) for relay in relays]
    await asyncio.gather(*(relay.pause() for relay in relays))
    return [_figures(b, a) for b, a in zip(before, after, strict=True)]


async def sliced_round(
    off_server: ServerProcess,
    on_server: ServerProcess,
    pairs: int,
    window: int,
    slices: int,
    length: float,
    warmup: float,
    together: bool,
    null: bool = False,
    idle: float = 3.0,
) -> tuple[list[dict[str, float]], list[dict[str, float]], dict[str, Any]]:
    """`slices` windows per server: alternating off/on (order flipping each pair), or with
    `together` both servers loaded at once (sharing CPU 0) in every window. `null`: the
    "on" server is off too, and gets no dashboard and no scraper (an A/A check of the
    method: its overhead should come out near 0)."""
    async with new_session() as session:
        for server, expected in ((off_server, 404), (on_server, 404 if null else 200)):
            async with session.get(server.base_url + "/metrics") as response:
                if response.status != expected:
                    raise RuntimeError(f"{server.base_url}/metrics answered {response.status}")
        dashboard = (
            None
            if null
            else await OpsDashboard.open(session, on_server.base_url, ops_token(on_server))
        )
        relays = {"off": PausableRelay(off_server), "on": PausableRelay(on_server)}
        scraper: Scraper | None = None
        try:
            for relay in relays.values():
                await relay.start(session, pairs, window)
            # Warm both up (first-use costs, caches).
            await measure_window(list(relays.values()), 0.0, warmup)
            if not null:
                scraper = Scraper(session, on_server)
            runs: dict[str, list[dict[str, float]]] = {"off": [], "on": []}
            if together:
                for _ in range(slices):
                    off, on = await measure_window([relays["off"], relays["on"]], 0.2, length)
                    runs["off"].append(off)
                    runs["on"].append(on)
            else:
                # The scraper runs while the on server carries the load, so that its cost
                # is counted in the on slices at its own rate and does not slow the off ones.
                if scraper is not None:
                    await scraper.pause()
                for n in range(slices):
                    for mode in ("off", "on") if n % 2 == 0 else ("on", "off"):
                        if mode == "on" and scraper is not None:
                            scraper.resume()
                        runs[mode] += await measure_window([relays[mode]], 0.2, length)
                        if mode == "on" and scraper is not None:
                            await scraper.pause()
            refused = relays["off"].refused + relays["on"].refused
            # No messages: what the ops load costs per second on its own (on minus off:
            # housekeeping runs in both), with the rooms and connections still there.
            if scraper is not None:
                scraper.resume()
            await asyncio.sleep(0.5)
            before = [server_cpu_s(relay.server.pid) for relay in relays.values()]
            started = time.perf_counter()
            await asyncio.sleep(idle)
            elapsed = time.perf_counter() - started
            idle_off, idle_on = (
                (server_cpu_s(relay.server.pid) - b) / elapsed
                for relay, b in zip(relays.values(), before, strict=True)
            )
        finally:
            if scraper is not None:
                await scraper.stop()
            for relay in relays.values():
                await relay.close()
            if dashboard is not None:
                await dashboard.close()
    counted = RELAYED_COUNTER.search(scraper.last_body) if scraper is not None else None
    ops: dict[str, Any] = {
        "refused": refused,
        "scrapes": 0,
        "snapshots": 0,
        "idle_cpu_ms_per_s_off": idle_off * 1e3,
        "idle_cpu_ms_per_s_on": idle_on * 1e3,
    }
    if dashboard is not None and scraper is not None:
        ops.update(
            snapshots=dashboard.snapshots,
            snapshot_kib=dashboard.snapshot_bytes / 1024,
            snapshot_rooms=dashboard.max_rooms,
            watch_acked=dashboard.watch_acked,
            snapshots_with_detail=dashboard.with_detail,
            scrapes=scraper.scrapes,
            scrape_failures=scraper.failures,
            scrape_kib=scraper.body_bytes / max(1, scraper.scrapes) / 1024,
            counted_in=float(counted.group(1)) if counted else 0.0,
        )
    return runs["off"], runs["on"], ops


def observer_cost_us(loops: int = 200_000) -> float:
    """Microseconds per relayed message (one message in, one out) that OpsObserver adds
    over the off server's RefusalAuditObserver, timed in a loop in this process."""
    from server.ops.listeners import OpsObserver, RefusalAuditObserver
    from server.ops.metrics import Metrics

    def per_message(observer: Any) -> float:
        message_in, message_out = observer.message_in, observer.message_out
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            for _ in range(loops):
                message_in("signal.candidate")
                message_out("signal.candidate")
            best = min(best, time.perf_counter() - started)
        return best / loops * 1e6

    on = per_message(OpsObserver(Metrics(), None))
    return on - per_message(RefusalAuditObserver(None))


# --- main ---------------------------------------------------------------------------------


def summarize(runs: dict[str, list[dict[str, float]]], unit: str) -> dict[str, Any]:
    rate = {m: statistics.median(r["rate"] for r in rows) for m, rows in runs.items()}
    cpu_msg = {m: statistics.median(r["cpu_per_msg_us"] for r in rows) for m, rows in runs.items()}
    wait = {m: statistics.median(r["server_wait"] for r in rows) for m, rows in runs.items()}
    paired = [
        (off["rate"] / on["rate"] - 1) * 100
        for off, on in zip(runs["off"], runs["on"], strict=True)
    ]
    paired_cpu = [
        (on["cpu_per_msg_us"] / off["cpu_per_msg_us"] - 1) * 100
        for off, on in zip(runs["off"], runs["on"], strict=True)
    ]
    overhead = (rate["off"] / rate["on"] - 1) * 100
    overhead_cpu = (cpu_msg["on"] / cpu_msg["off"] - 1) * 100
    print(
        f"  median rate over {len(runs['on'])} {unit}s each: off {rate['off']:.0f} msg/s, "
        f"on {rate['on']:.0f} msg/s -> metrics_overhead_pct {overhead:+.1f}% (target < 5%); "
        f"median of the paired {unit} overheads {statistics.median(paired):+.1f}%"
    )
    print(
        f"  median server CPU per message: off {cpu_msg['off']:.1f} us, on "
        f"{cpu_msg['on']:.1f} us -> metrics_overhead_cpu_pct {overhead_cpu:+.1f}% "
        f"(independent of how much CPU the host leaves the server); median of the paired "
        f"{unit} overheads {statistics.median(paired_cpu):+.1f}%"
    )
    totals = {
        m: sum(r["cpu_s"] for r in rows) / sum(r["messages"] for r in rows) * 1e6
        for m, rows in runs.items()
        if all("cpu_s" in r for r in rows)
    }
    result: dict[str, Any] = {
        "metrics_overhead_pct": round(overhead, 2),
        "metrics_overhead_cpu_pct": round(overhead_cpu, 2),
        "metrics_overhead_paired_median_pct": round(statistics.median(paired), 2),
        "metrics_overhead_cpu_paired_median_pct": round(statistics.median(paired_cpu), 2),
        "rate_off": round(rate["off"], 1),
        "rate_on": round(rate["on"], 1),
        "cpu_per_msg_us_off": round(cpu_msg["off"], 2),
        "cpu_per_msg_us_on": round(cpu_msg["on"], 2),
        "server_cpu_wait_off": round(wait["off"], 2),
        "server_cpu_wait_on": round(wait["on"], 2),
    }
    if len(totals) == 2:
        pooled = (totals["on"] / totals["off"] - 1) * 100
        print(
            f"  pooled (all CPU / all messages): off {totals['off']:.1f} us, on "
            f"{totals['on']:.1f} us per message -> {pooled:+.1f}%"
        )
        result["metrics_overhead_cpu_pooled_pct"] = round(pooled, 2)
    return result


def run_sliced(args: argparse.Namespace) -> tuple[dict[str, Any], list[str]]:
    print(
        f"metrics overhead: signaling relay workload ({args.relay_pairs} pairs x 2 senders x "
        f"{args.window} in flight) on two servers up at once, instrumentation off and on "
        f"(+ ops dashboard on /ops, /metrics every {SCRAPE_INTERVAL_S:.0f} s); "
        + (
            "both loaded side by side on CPU 0"
            if args.method == "together"
            else "the load alternating between them"
        )
        + f", {args.slices} windows of {args.slice:.1f} s per server per round, "
        f"{args.rounds} rounds of fresh servers"
    )
    runs: dict[str, list[dict[str, float]]] = {"off": [], "on": []}
    problems: list[str] = []
    per_round = []
    fixed_costs: list[float] = []
    for round_no in range(args.rounds):
        off_server = ServerProcess("ours", server_overrides(False))
        try:
            on_server = ServerProcess("ours", server_overrides(not args.null))
            try:
                off, on, ops = asyncio.run(
                    sliced_round(
                        off_server,
                        on_server,
                        args.relay_pairs,
                        args.window,
                        args.slices,
                        args.slice,
                        args.warmup,
                        args.method == "together",
                        args.null,
                        args.idle,
                    )
                )
            finally:
                on_server.stop()
        finally:
            off_server.stop()
        fixed = max(0.0, ops["idle_cpu_ms_per_s_on"] - ops["idle_cpu_ms_per_s_off"]) / 1e3
        for window in on:  # the on server's CPU/msg without the per-second ops load
            window["cpu_per_msg_us_per_message_part"] = (
                (window["cpu_s"] - fixed * window["elapsed_s"]) / window["messages"] * 1e6
                if window["messages"]
                else float("nan")
            )
        runs["off"] += off
        runs["on"] += on
        fixed_costs.append(fixed * 1e3)
        rate = {
            m: statistics.median(r["rate"] for r in rows) for m, rows in (("off", off), ("on", on))
        }
        cpu = {
            m: statistics.median(r["cpu_per_msg_us"] for r in rows)
            for m, rows in (("off", off), ("on", on))
        }
        wait = statistics.median(r["server_wait"] for r in off + on)
        row = {
            "rate_off": round(rate["off"], 1),
            "rate_on": round(rate["on"], 1),
            "cpu_per_msg_us_off": round(cpu["off"], 2),
            "cpu_per_msg_us_on": round(cpu["on"], 2),
            "overhead_pct": round((rate["off"] / rate["on"] - 1) * 100, 2),
            "overhead_cpu_pct": round((cpu["on"] / cpu["off"] - 1) * 100, 2),
            "snapshots": ops["snapshots"],
            "scrapes": ops["scrapes"],
            "ops_fixed_cpu_ms_per_s": round(fixed * 1e3, 2),
        }
        per_round.append(row)
        print(
            f"  round {round_no + 1} [servers on CPU {on_server.cpus}]: median rate off "
            f"{rate['off']:.0f} / on {rate['on']:.0f} msg/s ({row['overhead_pct']:+.1f}%); "
            f"CPU/msg off {cpu['off']:.1f} / on {cpu['on']:.1f} us "
            f"({row['overhead_cpu_pct']:+.1f}%); server waiting for a CPU {wait * 100:.0f}%; "
            f"with no messages: off {ops['idle_cpu_ms_per_s_off']:.1f}, on "
            f"{ops['idle_cpu_ms_per_s_on']:.1f} ms CPU per s"
        )
        print(
            "    windows off: "
            + " ".join(f"{r['rate']:.0f}" for r in off)
            + " msg/s; "
            + " ".join(f"{r['cpu_per_msg_us']:.0f}" for r in off)
            + " us/msg"
        )
        print(
            "    windows on:  "
            + " ".join(f"{r['rate']:.0f}" for r in on)
            + " msg/s; "
            + " ".join(f"{r['cpu_per_msg_us']:.0f}" for r in on)
            + " us/msg"
        )
        if args.null:
            print(
                f"    A/A check: both servers off, no dashboard, no scraper; refused "
                f"{ops['refused']}"
            )
            continue
        print(
            f"    ops: {ops['snapshots']} snapshots ({ops['snapshot_kib']:.1f} KiB, "
            f"{ops['snapshot_rooms']} rooms listed, {ops['snapshots_with_detail']} with room "
            f"detail, watch acked {ops['watch_acked']}); {ops['scrapes']} /metrics scrapes "
            f"({ops['scrape_kib']:.1f} KiB each, {ops['scrape_failures']} failed); "
            f"signal.candidate counted in: {ops['counted_in']:.0f}; refused "
            f"{ops['refused']}"
        )
        problems += [f"round {round_no + 1}: {p}" for p in check_on_round(ops)]
    result = summarize(runs, "window")
    # Two parts: per message (counters on every message in and out) and per second (the
    # scrape, the snapshot pushes), whose share of the server's CPU grows as the host
    # leaves the server less CPU: split them, and say what they come to for a server
    # with a whole CPU to itself (the signaling benchmark's setting on a quiet host).
    fixed_ms = statistics.median(fixed_costs)
    off_us = statistics.median(r["cpu_per_msg_us"] for r in runs["off"])
    part_us = statistics.median(r["cpu_per_msg_us_per_message_part"] for r in runs["on"])
    per_message_pct = statistics.median(
        (on["cpu_per_msg_us_per_message_part"] / off["cpu_per_msg_us"] - 1) * 100
        for off, on in zip(runs["off"], runs["on"], strict=True)
    )
    whole_cpu_pct = ((1 + per_message_pct / 100) / (1 - fixed_ms / 1e3) - 1) * 100
    median_cpu = statistics.median(r["server_cpu"] for r in runs["on"])
    print(
        f"  split: the per-second ops load (scrape + snapshot pushes, measured with no "
        f"messages) costs {fixed_ms:.1f} ms CPU per s; without it the on server spends "
        f"{part_us:.1f} us/msg vs {off_us:.1f} off (medians): per-message part "
        f"{per_message_pct:+.1f}% (median of the paired windows)"
    )
    observer_us = observer_cost_us()
    print(
        f"  cross-check in this process: the on server's observer (message_in + message_out "
        f"counters) costs {observer_us:.2f} us per relayed message more than the off one "
        f"(a tight loop, so warm caches): {observer_us / off_us * 100:.1f}% of {off_us:.0f} us"
    )
    print(
        f"  the servers had a median {median_cpu * 100:.0f}% of a CPU each here; with a whole "
        f"CPU to itself the on server would pay {per_message_pct:+.1f}% per message + "
        f"{fixed_ms / 10:.1f}% of its CPU per second -> {whole_cpu_pct:+.1f}% "
        f"(metrics_overhead_whole_cpu_pct)"
    )
    result.update(
        ops_fixed_cpu_ms_per_s=round(fixed_ms, 2),
        observer_us_per_message=round(observer_us, 3),
        metrics_overhead_per_message_pct=round(per_message_pct, 2),
        metrics_overhead_whole_cpu_pct=round(whole_cpu_pct, 2),
        server_cpu_share=round(median_cpu, 3),
    )
    result["rounds_detail"] = per_round
    if args.null:
        result["null_check"] = True
    result.update(
        method=args.method,
        rounds=args.rounds,
        slices=args.slices,
        slice_s=args.slice,
        relay_pairs=args.relay_pairs,
        relay_window=args.window,
    )
    return result, problems


def run_rounds(args: argparse.Namespace) -> tuple[dict[str, Any], list[str]]:
    """benchmarks/signaling.py's relay_rate as is: one fresh server per run."""
    print(
        f"metrics overhead: signaling relay run ({args.relay_pairs} pairs x 2 senders x "
        f"{args.window} in flight, {args.warmup:.0f} s warm-up + {args.duration:.0f} s "
        f"measured), instrumentation off vs on (+ ops dashboard on /ops, /metrics every "
        f"{SCRAPE_INTERVAL_S:.0f} s), a fresh server per run"
    )
    runs: dict[str, list[dict[str, Any]]] = {"off": [], "on": []}
    problems: list[str] = []
    for round_no in range(args.rounds):
        order = ("off", "on") if round_no % 2 == 0 else ("on", "off")
        for mode in order:
            server = ServerProcess("ours", server_overrides(mode == "on"))
            try:
                run = asyncio.run(
                    round_with_ops(
                        server,
                        mode == "on",
                        args.relay_pairs,
                        args.window,
                        args.duration,
                        args.warmup,
                    )
                )
            finally:
                server.stop()
            runs[mode].append(run)
            print(f"  round {round_no + 1} " + describe(mode, run, server))
            if mode == "on":
                problems += [f"round {round_no + 1}: {p}" for p in check_on_round(run)]
        off, on = runs["off"][-1], runs["on"][-1]
        print(
            f"    round {round_no + 1}: rate overhead "
            f"{(off['rate'] / on['rate'] - 1) * 100:+.1f}%, CPU/msg overhead "
            f"{(on['cpu_per_msg_us'] / off['cpu_per_msg_us'] - 1) * 100:+.1f}%"
        )
    result = summarize(runs, "round")
    result.update(
        rates_off=[round(r["rate"], 1) for r in runs["off"]],
        rates_on=[round(r["rate"], 1) for r in runs["on"]],
        cpu_per_msg_us_rounds_off=[round(r["cpu_per_msg_us"], 2) for r in runs["off"]],
        cpu_per_msg_us_rounds_on=[round(r["cpu_per_msg_us"], 2) for r in runs["on"]],
        method="rounds",
        rounds=args.rounds,
        duration_s=args.duration,
        relay_pairs=args.relay_pairs,
        relay_window=args.window,
    )
    return result, problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--method",
        choices=("together", "slices", "rounds"),
        default="together",
        help="together: off and on servers loaded side by side (default); "
        "slices: the load alternating between them; rounds: "
        "signaling.py's relay_rate, a fresh server per run",
    )
    parser.add_argument(
        "--rounds", type=int, default=4, help="rounds (fresh servers); each measures off and on"
    )
    parser.add_argument(
        "--slices",
        type=int,
        default=10,
        help="measured windows per server per round (together/slices)",
    )
    parser.add_argument("--slice", type=float, default=2.0, help="seconds per window")
    parser.add_argument(
        "--duration", type=float, default=8.0, help="measured seconds per run (--method rounds)"
    )
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before measuring")
    parser.add_argument("--relay-pairs", type=int, default=20)
    parser.add_argument("--window", type=int, default=8, help="calls in flight per client")
    parser.add_argument(
        "--idle",
        type=float,
        default=3.0,
        help="seconds per round measuring the ops load with no messages",
    )
    parser.add_argument(
        "--null",
        action="store_true",
        help="A/A check of the method (slices/together): both servers off, "
        "no dashboard or scraper; the overhead should come out near 0",
    )
    parser.add_argument("--skip-audit", action="store_true", help="no audit verify figure")
    args = parser.parse_args()
    _pin(1)
    load = os.getloadavg()[0]
    print(
        f"ops benchmark: {os.cpu_count()} CPUs; servers pinned to CPU 0, clients to CPU "
        f"{_allowed_cpus(os.getpid())}; 1-min load average {load:.1f} at start"
    )
    started = time.perf_counter()
    result, problems = (run_rounds if args.method == "rounds" else run_sliced)(args)
    for problem in problems:
        print(f"  WARNING: {problem}")
    result["ops_checks_ok"] = not problems
    print(f"  ({time.perf_counter() - started:.0f} s)")

    if not args.skip_audit:
        with tempfile.TemporaryDirectory(prefix="bench-ops-audit-") as tmpdir:
            audit = measure_audit(tmpdir)
        print(
            f"audit: appended 100,000 entries at {audit['audit_append_per_s']:.0f}/s; "
            f"verified them in {audit['audit_verify_100k_s']:.3f} s "
            f"({audit['audit_verify_100k_cpu_s']:.3f} s CPU; target < 2 s)"
        )
        result.update(audit)
    result["load_average_start"] = round(load, 1)
    result["load_average_end"] = round(os.getloadavg()[0], 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
