"""A point-to-point link between two network namespaces with netem's impairments, in
user space: one TUN device in each namespace, this process copying packets between
them with delay, jitter, random loss and a rate cap with a bounded queue, per direction.

Why not ``tc netem``: the kernel this project's machines and CI run (Firecracker's) is
built without it (``tc qdisc ... netem`` answers "Specified qdisc kind is unknown"; no
tbf, no classifiers either); TUN devices are there. ``tests/network_support.py`` starts
one of these per member link, so only members' links are impaired, never loopback.

    python tests/netem_link.py NS_A IF_A NS_B IF_B

prints ``ready`` once both devices exist (the caller addresses them and brings them
up); then reads one JSON object per line on stdin, ``{"up": {...}, "down": {...}}``
(``up``: packets read from IF_A, written to IF_B; ``down``: the other way; keys
``delay_ms``, ``jitter_ms``, ``loss_pct``, ``rate_kbit``, ``limit``), applies it and
prints ``ok``. It exits (and both devices disappear) when stdin closes or on SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import fcntl
import json
import os
import random
import signal
import struct
import sys
from collections import deque
from dataclasses import dataclass, field

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
CLONE_NEWNET = 0x40000000
MAX_PACKET = 65536


def enter_namespace(name: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/var/run/netns/{name}", os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {name}")
    finally:
        os.close(fd)


def open_tun(name: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


@dataclass
class Direction:
    """One direction's impairment and its queue (departure times of queued packets)."""

    delay_s: float = 0.0
    jitter_s: float = 0.0
    loss: float = 0.0
    rate_bps: float = 0.0
    limit: int = 1000
    next_free: float = 0.0
    queued: deque[float] = field(default_factory=deque)
    last_out: float = 0.0

    def configure(self, spec: dict[str, float]) -> None:
        self.delay_s = float(spec.get("delay_ms", 0)) / 1000
        self.jitter_s = float(spec.get("jitter_ms", 0)) / 1000
        self.loss = float(spec.get("loss_pct", 0)) / 100
        self.rate_bps = float(spec.get("rate_kbit", 0)) * 1000
        self.limit = int(spec.get("limit", 1000))

    def departure(self, now: float, size: int) -> float | None:
        """When this packet leaves the far end, or None if it is lost or the queue is full."""
        if self.loss and random.random() < self.loss:
            return None
        while self.queued and self.queued[0] <= now:
            self.queued.popleft()
        if len(self.queued) >= self.limit:
            return None
        sent = now
        if self.rate_bps:
            sent = max(now, self.next_free) + size * 8 / self.rate_bps
            self.next_free = sent
        self.queued.append(sent)
        out = sent + self.delay_s
        if self.jitter_s:
            out += random.uniform(-self.jitter_s, self.jitter_s)
        # Kept in order, as netem does with jitter and a rate.
        out = max(out, self.last_out)
        self.last_out = out
        return out


def main() -> None:
    ns_a, if_a, ns_b, if_b = sys.argv[1:5]
    enter_namespace(ns_a)
    fd_a = open_tun(if_a)
    enter_namespace(ns_b)
    fd_b = open_tun(if_b)
    asyncio.run(run(fd_a, fd_b))


async def run(fd_a: int, fd_b: int) -> None:
    loop = asyncio.get_running_loop()
    up, down = Direction(), Direction()
    done = asyncio.Event()

    def write(fd: int, packet: bytes) -> None:
        with contextlib.suppress(OSError):  # a full device or one going away: lost
            os.write(fd, packet)

    def pump(src: int, dst: int, direction: Direction) -> None:
        for _ in range(64):
            try:
                packet = os.read(src, MAX_PACKET)
            except BlockingIOError:
                return
            except OSError:
                done.set()
                return
            now = loop.time()
            at = direction.departure(now, len(packet))
            if at is None:
                continue
            if at <= now:
                write(dst, packet)
            else:
                loop.call_at(at, write, dst, packet)

    loop.add_reader(fd_a, pump, fd_a, fd_b, up)
    loop.add_reader(fd_b, pump, fd_b, fd_a, down)
    loop.add_signal_handler(signal.SIGTERM, done.set)

    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    async def commands() -> None:
        while line := await reader.readline():
            spec = json.loads(line)
            up.configure(spec.get("up", {}))
            down.configure(spec.get("down", {}))
            print("ok", flush=True)
        done.set()

    print("ready", flush=True)
    task = asyncio.create_task(commands())
    await done.wait()
    task.cancel()


if __name__ == "__main__":
    main()
