"""Group relay benchmark: CPU of forwarding encoded media, against decode + re-encode.

The relay runs in this process; the simulated members run in child processes,
so ``time.process_time()`` here is the relay's CPU alone. Members publish a
pre-encoded loop of real-rate VP8 (640x360, ~500 kbps, 30 fps) and Opus
(20 ms frames) as ``av.Packet``s, so their own CPU stays low, and they count
what they receive without decoding it.

Baseline: aiortc's stock ``MediaRelay`` (the server decodes each publisher
once and every subscriber's sender re-encodes), for a smaller group.

    .venv/bin/python benchmarks/relay.py [--sizes 4,8,12,16] [--seconds 8]
        [--baseline-size 3] [--client-procs 1] [--repeat 3] [--uvloop | --no-uvloop]

``--uvloop`` runs this (the server) process's event loop on uvloop; the member
processes always use the default asyncio loop.

Before and after the runs, ``benchmarks/host_gauge.py`` times fixed work of
the relay's kind (reference Python; protect and send a packet), so figures
from different hosts can be compared: the same code gives about half the
tracks per core on a host twice as slow.

The last line of output is one JSON object.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import fractions
import json
import math
import multiprocessing
import multiprocessing.connection
import os
import random
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import host_gauge
from server.media.relay import GroupRelay

WIDTH, HEIGHT, FPS = 640, 360, 30
VIDEO_BITRATE = 500_000
LOOP_FRAMES = 60  # a keyframe every 2 s, when the loop restarts
AUDIO_RATE = 48_000
AUDIO_FRAME = 960
SETUP_TIMEOUT = 60.0

Connection = multiprocessing.connection.Connection


# --- members (child processes) ---------------------------------------------


def encode_video_loop() -> list[bytes]:
    """A 2 s VP8 loop at the target bitrate; the first frame is the only keyframe."""
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height = WIDTH, HEIGHT
    codec.pix_fmt = "yuv420p"
    codec.bit_rate = VIDEO_BITRATE
    codec.time_base = fractions.Fraction(1, FPS)
    codec.gop_size = 10 * LOOP_FRAMES
    codec.options = {
        "deadline": "realtime",
        "cpu-used": "-6",
        "lag-in-frames": "0",
        "minrate": str(VIDEO_BITRATE),
        "maxrate": str(VIDEO_BITRATE),
        "bufsize": str(VIDEO_BITRATE),
    }
    texture = blocky_texture(WIDTH * 2, HEIGHT)
    payloads: list[bytes] = []
    for index in range(LOOP_FRAMES):
        frame = av.VideoFrame(width=WIDTH, height=HEIGHT, format="yuv420p")
        for plane_index, plane in enumerate(frame.planes):
            if plane_index == 0:  # a textured scene panning right: like a moving camera
                plane.update(pan(texture, WIDTH, HEIGHT, plane.line_size, index * 3))
            else:
                plane.update(bytes([128]) * plane.buffer_size)
        frame.pts = index
        frame.time_base = codec.time_base
        if index == 0:
            frame.pict_type = av.video.frame.PictureType.I
        payloads += [bytes(p) for p in codec.encode(frame)]
    payloads += [bytes(p) for p in codec.encode(None)]
    return payloads[:LOOP_FRAMES]


def blocky_texture(width: int, height: int, block: int = 8) -> list[bytes]:
    """Rows of random 8x8 blocks: detailed enough to cost bits, compressible when it moves."""
    rng = random.Random(7)
    rows: list[bytes] = []
    for _ in range(height // block):
        row = bytes(v for _ in range(width // block) for v in [rng.randrange(256)] * block)
        rows += [row] * block
    return rows


def pan(texture: list[bytes], width: int, height: int, line_size: int, offset: int) -> bytes:
    start = offset % (len(texture[0]) - width)
    padding = bytes(line_size - width)
    return b"".join(texture[y][start : start + width] + padding for y in range(height))


def encode_audio_loop() -> list[bytes]:
    codec = av.CodecContext.create("libopus", "w")
    codec.sample_rate = AUDIO_RATE
    codec.layout = "stereo"
    codec.format = "s16"
    codec.bit_rate = 32_000
    codec.time_base = fractions.Fraction(1, AUDIO_RATE)
    payloads: list[bytes] = []
    for index in range(60):
        pcm = array.array(
            "h",
            (
                int(8000 * math.sin(2 * math.pi * 440 * (index * AUDIO_FRAME + i) / AUDIO_RATE))
                for i in range(AUDIO_FRAME)
                for _ in range(2)
            ),
        )
        frame = av.AudioFrame(format="s16", layout="stereo", samples=AUDIO_FRAME)
        frame.planes[0].update(pcm.tobytes())
        frame.sample_rate = AUDIO_RATE
        frame.pts = index * AUDIO_FRAME
        frame.time_base = codec.time_base
        payloads += [bytes(p) for p in codec.encode(frame)]
    return payloads[:50]


class PacketLoopTrack(MediaStreamTrack):
    """Plays pre-encoded packets in a loop, in real time: aiortc's sender only packs them."""

    def __init__(self, kind: str, payloads: list[bytes], step: int, rate: int) -> None:
        super().__init__()
        self.kind = kind
        self._payloads = payloads
        self._step = step
        self._time_base = fractions.Fraction(1, rate)
        self._period = step / rate
        self._index = 0
        self._start: float | None = None

    async def recv(self) -> av.Packet[Any]:
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        else:
            await asyncio.sleep(self._start + self._index * self._period - loop.time())
        packet = av.Packet(self._payloads[self._index % len(self._payloads)])
        packet.pts = self._index * self._step
        packet.time_base = self._time_base
        self._index += 1
        return packet


def max_bundle_peer_connection() -> RTCPeerConnection:
    # aiortc's default bundle policy strands the second video transceiver created
    # while applying one offer (the baseline's members offer several).
    return RTCPeerConnection(RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))


# Payload types of the relay's offers (aiortc's defaults) and of the baseline's answers.
KIND_BY_PAYLOAD_TYPE = {96: "audio", 97: "video"}


@dataclass(eq=False)
class SimulatedMember:
    member_id: str
    pc: RTCPeerConnection = field(default_factory=lambda: max_bundle_peer_connection())
    received: dict[str, int] = field(default_factory=lambda: {"audio": 0, "video": 0})

    def count_media_at_the_socket(self) -> None:
        """Benchmark-only shortcut into the member's ICE connection.

        Decrypting, parsing and reassembling every stream of a 16-member group
        costs the simulated members far more CPU than the relay spends, and on
        a small machine that starves the relay of input instead of loading it.
        SRTP leaves RTP headers in clear, so the member counts frames (packets
        with the marker bit) by payload type as datagrams arrive and drops
        them there; STUN, DTLS and RTCP go on to aiortc as usual.
        """
        transport = self.pc.getTransceivers()[0].receiver.transport
        connection = transport.transport._connection
        deliver = connection.data_received
        received = self.received

        def data_received(data: bytes, component: int) -> None:
            if len(data) > 12 and 127 < data[0] < 192 and not 192 <= data[1] <= 223:
                if data[1] & 0x80:  # marker bit: the last packet of a frame
                    kind = KIND_BY_PAYLOAD_TYPE.get(data[1] & 0x7F)
                    if kind is not None:
                        received[kind] += 1
                return
            deliver(data, component)

        setattr(connection, "data_received", data_received)  # noqa: B010


def member_process(
    conn: Connection, member_ids: list[str], mode: str, group_size: int, seed: int
) -> None:
    asyncio.run(run_members(conn, member_ids, mode, group_size, seed))


async def run_members(
    conn: Connection, member_ids: list[str], mode: str, group_size: int, seed: int
) -> None:
    random.seed(seed)
    video, audio = encode_video_loop(), encode_audio_loop()
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()
    loop.add_reader(conn.fileno(), lambda: inbox.put_nowait(conn.recv()))
    members: dict[str, SimulatedMember] = {}
    tasks: set[asyncio.Task[None]] = set()

    async def answer(member: SimulatedMember, sdp: str) -> None:
        await member.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        await member.pc.setLocalDescription(await member.pc.createAnswer())
        conn.send(("answer", member.member_id, member.pc.localDescription.sdp))

    for member_id in member_ids:
        member = SimulatedMember(member_id)
        members[member_id] = member
        member.pc.addTransceiver(
            PacketLoopTrack("audio", audio, AUDIO_FRAME, AUDIO_RATE), direction="sendonly"
        )
        member.pc.addTransceiver(
            PacketLoopTrack("video", video, 90_000 // FPS, 90_000), direction="sendonly"
        )
        if mode == "transcode":  # no renegotiation: receive slots offered up front
            for _ in range(group_size - 1):
                member.pc.addTransceiver("audio", direction="recvonly")
                member.pc.addTransceiver("video", direction="recvonly")
        member.count_media_at_the_socket()
        await member.pc.setLocalDescription(await member.pc.createOffer())
        conn.send(("join", member_id, member.pc.localDescription.sdp))

    while True:
        message = await inbox.get()
        match message:
            case ("joined", member_id, sdp):
                await members[member_id].pc.setRemoteDescription(
                    RTCSessionDescription(sdp=sdp, type="answer")
                )
            case ("relay.offer", member_id, sdp):
                task = asyncio.ensure_future(answer(members[member_id], sdp))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            case ("counts",):
                conn.send(("counts", {m: dict(s.received) for m, s in members.items()}))
            case ("stop",):
                break
    loop.remove_reader(conn.fileno())
    for task in tasks:
        task.cancel()
    await asyncio.gather(*(m.pc.close() for m in members.values()), return_exceptions=True)
    conn.send(("stopped",))


# --- servers (this process) -------------------------------------------------


class LateSubscription(MediaStreamTrack):
    """Baseline: a subscriber's track for a publisher that may not have joined yet."""

    def __init__(
        self,
        kind: str,
        source: asyncio.Future[MediaStreamTrack],
        relay: MediaRelay,
        on_frame: Callable[[], None],
    ) -> None:
        super().__init__()
        self.kind = kind
        self._source = source
        self._relay = relay
        self._on_frame = on_frame
        self._proxy: MediaStreamTrack | None = None

    async def recv(self) -> Any:
        if self._proxy is None:
            self._proxy = self._relay.subscribe(await self._source, buffered=False)
        frame = await self._proxy.recv()
        self._on_frame()
        return frame


class TranscodingGroup:
    """aiortc's MediaRelay: each publisher decoded once, re-encoded per subscriber."""

    def __init__(self, member_ids: list[str]) -> None:
        self._order = member_ids
        self._relay = MediaRelay()
        self.frames_to_senders = 0
        self._pcs: list[RTCPeerConnection] = []
        loop = asyncio.get_running_loop()
        self._sources = {
            m: {k: loop.create_future() for k in ("audio", "video")} for m in member_ids
        }

    async def join(self, member_id: str, offer_sdp: str) -> str:
        pc = max_bundle_peer_connection()
        self._pcs.append(pc)

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            future = self._sources[member_id][track.kind]
            if not future.done():
                future.set_result(track)

        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        transceivers = pc.getTransceivers()
        others = [m for m in self._order if m != member_id]
        for index, transceiver in enumerate(transceivers[2:]):
            publisher = others[index // 2]
            source = self._sources[publisher][transceiver.kind]
            transceiver.sender.replaceTrack(
                LateSubscription(transceiver.kind, source, self._relay, self._count_frame)
            )
            transceiver.direction = "sendonly"
        await pc.setLocalDescription(await pc.createAnswer())
        return str(pc.localDescription.sdp)

    def _count_frame(self) -> None:
        self.frames_to_senders += 1

    async def close(self) -> None:
        await asyncio.gather(*(pc.close() for pc in self._pcs), return_exceptions=True)


@dataclass
class RunResult:
    mode: str
    members: int
    seconds: float
    cpu_cores: float  # user + kernel, all threads of this (the server) process
    kernel_cores: float  # loopback sendto also runs the receiving side of the kernel
    frames_forwarded: int  # frames handed to the subscribers' RTCRtpSenders
    frames_received_by_members: int
    frames_from_publishers: int  # what reached the server from all publishers
    server_drops: int  # the relay's own drops plus its sockets' kernel receive drops
    packets_forwarded: int = 0
    socket_drops: int = 0  # of server_drops: datagrams the kernel dropped for the relay

    @property
    def forwarded_tracks(self) -> int:
        return self.members * (self.members - 1) * 2

    @property
    def nominal_frames_per_second(self) -> float:
        """Every member receiving every other member's 30 fps video and 50 fps audio."""
        return self.members * (self.members - 1) * (FPS + AUDIO_RATE / AUDIO_FRAME)

    @property
    def forwarded_ratio(self) -> float:
        return self.frames_forwarded / self.seconds / self.nominal_frames_per_second

    @property
    def published_ratio(self) -> float:
        nominal = self.members * (FPS + AUDIO_RATE / AUDIO_FRAME)
        return self.frames_from_publishers / self.seconds / nominal

    @property
    def delivered_ratio(self) -> float:
        return self.frames_received_by_members / self.seconds / self.nominal_frames_per_second

    @property
    def cpu_per_forwarded_frame_us(self) -> float:
        return self.cpu_cores * self.seconds / max(1, self.frames_forwarded) * 1e6

    @property
    def cpu_per_forwarded_packet_us(self) -> float:
        return self.cpu_cores * self.seconds / max(1, self.packets_forwarded) * 1e6

    @property
    def cores_at_nominal_rate(self) -> float:
        """Measured cores if the run kept up; else CPU per frame times the nominal rate."""
        if self.forwarded_ratio >= 0.95:
            return self.cpu_cores
        return self.cpu_per_forwarded_frame_us * 1e-6 * self.nominal_frames_per_second

    @property
    def tracks_per_core(self) -> float:
        return self.forwarded_tracks / max(1e-9, self.cores_at_nominal_rate)


class Coordinator:
    """Signaling between the server in this process and the member processes."""

    def __init__(self, connections: dict[str, Connection]) -> None:
        self._by_member = connections
        self._signals: asyncio.Queue[tuple[Connection, tuple[Any, ...]]] = asyncio.Queue()
        self._replies: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        for conn in set(connections.values()):
            loop.add_reader(conn.fileno(), self._reader(conn))

    def _reader(self, conn: Connection) -> Callable[[], None]:
        def read() -> None:
            message = conn.recv()
            if message[0] in ("join", "answer"):
                self._signals.put_nowait((conn, message))
            else:
                self._replies.put_nowait(message)

        return read

    # RelaySignals: offers go to the member's process; track maps are not needed here.
    async def send_offer(self, member_id: str, sdp: str, tracks: dict[str, Any]) -> None:
        self._by_member[member_id].send(("relay.offer", member_id, sdp))

    async def send_tracks(self, member_id: str, tracks: dict[str, Any]) -> None:
        pass

    async def next_message(self) -> tuple[Connection, tuple[Any, ...]]:
        return await self._signals.get()

    async def counts(self) -> dict[str, dict[str, int]]:
        connections = set(self._by_member.values())
        for conn in connections:
            conn.send(("counts",))
        merged: dict[str, dict[str, int]] = {}
        pending = len(connections)
        while pending:
            message = await asyncio.wait_for(self._replies.get(), 30)
            if message[0] == "counts":
                merged.update(message[1])
                pending -= 1
        return merged

    async def stop(self) -> None:
        connections = set(self._by_member.values())
        for conn in connections:
            conn.send(("stop",))
        pending = len(connections)
        deadline = asyncio.get_running_loop().time() + 20
        while pending:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            try:
                message = await asyncio.wait_for(self._replies.get(), remaining)
            except TimeoutError:
                break
            if message[0] == "stopped":
                pending -= 1
        loop = asyncio.get_running_loop()
        for conn in connections:
            loop.remove_reader(conn.fileno())


async def run_group(mode: str, size: int, seconds: float, client_procs: int) -> RunResult:
    member_ids = [f"m{i:02d}" for i in range(size)]
    context = multiprocessing.get_context("spawn")
    processes = []
    connections: dict[str, Connection] = {}
    for proc_index in range(client_procs):
        ours, theirs = context.Pipe()
        chunk = member_ids[proc_index::client_procs]
        if not chunk:
            continue
        process = context.Process(
            target=member_process, args=(theirs, chunk, mode, size, proc_index), daemon=True
        )
        process.start()
        processes.append(process)
        connections.update({m: ours for m in chunk})
    coordinator = Coordinator(connections)
    relay: GroupRelay | None = None
    transcoder: TranscodingGroup | None = None
    if mode == "forward":
        relay = GroupRelay(f"bench-{size}", signals=coordinator)
    else:
        transcoder = TranscodingGroup(member_ids)

    def frames_from_publishers() -> int:
        if relay is None:
            return -1  # not measured for the baseline
        publishers = relay.stats().publishers.values()
        return sum(p.frames_received for kinds in publishers for p in kinds.values())

    def transcoded_frames() -> int:
        return transcoder.frames_to_senders if transcoder is not None else 0

    async def signaling() -> None:
        while True:
            conn, message = await coordinator.next_message()
            kind, member_id, sdp = message
            if kind == "join":
                if relay is not None:
                    answer = await relay.join(member_id, sdp)
                else:
                    assert transcoder is not None
                    answer = await transcoder.join(member_id, sdp)
                conn.send(("joined", member_id, answer))
            elif kind == "answer" and relay is not None:
                await relay.accept_answer(member_id, sdp)

    signaling_task = asyncio.ensure_future(signaling())
    try:
        await wait_until_everyone_receives(coordinator, member_ids, signaling_task)
        await asyncio.sleep(1.0)  # let keyframes and queues settle
        before = await coordinator.counts()
        drops_before = relay.stats().frames_dropped_overload if relay else 0
        socket_drops_before = kernel_udp_drops_of_this_process()
        forwarded_before = relay.stats().frames_forwarded if relay else transcoded_frames()
        packets_before = relay.stats().packets_forwarded if relay else 0
        published_before = frames_from_publishers()
        usage_before, wall_before = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
        await asyncio.sleep(seconds)
        usage_after, wall_after = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
        after = await coordinator.counts()
        drops_after = relay.stats().frames_dropped_overload if relay else 0
        socket_drops_after = kernel_udp_drops_of_this_process()
        forwarded_after = relay.stats().frames_forwarded if relay else transcoded_frames()
        packets_after = relay.stats().packets_forwarded if relay else 0
        published_after = frames_from_publishers()
    finally:
        signaling_task.cancel()
        await asyncio.gather(signaling_task, return_exceptions=True)
        await coordinator.stop()
        if relay is not None:
            await relay.close()
        if transcoder is not None:
            await transcoder.close()
        for process in processes:
            process.join(10)
            if process.is_alive():
                process.terminate()
    wall = wall_after - wall_before
    received = sum(after[m][k] - before[m][k] for m in member_ids for k in ("audio", "video"))
    return RunResult(
        mode=mode,
        members=size,
        seconds=wall,
        cpu_cores=(
            usage_after.ru_utime
            + usage_after.ru_stime
            - usage_before.ru_utime
            - usage_before.ru_stime
        )
        / wall,
        kernel_cores=(usage_after.ru_stime - usage_before.ru_stime) / wall,
        frames_forwarded=forwarded_after - forwarded_before,
        frames_received_by_members=received,
        frames_from_publishers=published_after - published_before if relay else -1,
        server_drops=drops_after - drops_before + socket_drops_after - socket_drops_before,
        packets_forwarded=packets_after - packets_before,
        socket_drops=socket_drops_after - socket_drops_before,
    )


def kernel_udp_drops_of_this_process() -> int:
    """Datagrams the kernel dropped on this process's UDP sockets (full receive buffers).

    A relay that falls behind loses packets there before its own code sees
    them, so they count as server drops. Linux only: /proc/net/udp's last
    column, for the socket inodes this process holds open.
    """
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    drops = 0
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) >= 13 and fields[9] in inodes:
                drops += int(fields[12])
    return drops


async def wait_until_everyone_receives(
    coordinator: Coordinator, member_ids: list[str], signaling_task: asyncio.Task[None]
) -> None:
    deadline = time.monotonic() + SETUP_TIMEOUT
    while time.monotonic() < deadline:
        if signaling_task.done():
            signaling_task.result()  # raise what broke signaling
        await asyncio.sleep(1.0)
        counts = await coordinator.counts()
        if all(counts.get(m, {}).get(k, 0) > 0 for m in member_ids for k in ("audio", "video")):
            return
    raise TimeoutError("not every member received media within the setup timeout")


def describe(result: RunResult) -> str:
    line = (
        f"{result.mode:9s} N={result.members:2d}: server CPU {result.cpu_cores:.3f} cores "
        f"({result.kernel_cores:.3f} kernel) for {result.frames_forwarded / result.seconds:.0f} "
        f"frames/s to senders ({result.forwarded_ratio:.0%} of nominal "
        f"{result.nominal_frames_per_second:.0f}), members got {result.delivered_ratio:.0%}; "
        f"{result.cpu_per_forwarded_frame_us:.0f} us CPU per forwarded frame"
        + (
            f" ({result.packets_forwarded / result.seconds:.0f} packets/s, "
            f"{result.cpu_per_forwarded_packet_us:.0f} us per packet); "
            if result.packets_forwarded
            else "; "
        )
        + (
            f"publishers reached the server at {result.published_ratio:.0%} of nominal; "
            if result.frames_from_publishers >= 0
            else ""
        )
        + f"{result.forwarded_tracks} tracks need {result.cores_at_nominal_rate:.2f} cores at "
        f"nominal rate = {result.tracks_per_core:.0f} tracks/core; "
        f"server drops {result.server_drops} ({result.socket_drops} at the relay's sockets)"
    )
    if result.forwarded_ratio < 0.95:
        line += " [did not keep up: machine busy; cores extrapolated from CPU per frame]"
    return line


def describe_gauge(gauge: dict[str, float]) -> str:
    return (
        f"{gauge['python_us']:.2f} us of reference Python, {gauge['send_us']:.2f} us to "
        f"protect and send a packet (benchmarks/host_gauge.py: lower is a faster host)"
    )


async def main(args: argparse.Namespace) -> dict[str, Any]:
    sizes: list[int] = args.size_list
    results: dict[int, RunResult] = {}
    loop_name = type(asyncio.get_running_loop()).__module__.split(".")[0]
    print(
        f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
        f"server event loop: {loop_name}",
        flush=True,
    )
    gauge_before = host_gauge.measure()
    print(f"host gauge before: {describe_gauge(gauge_before)}", flush=True)
    spreads: dict[int, tuple[float, float]] = {}
    drops: dict[int, int] = {}
    for size in sizes:
        runs = []
        for _ in range(args.repeat):
            run = await run_group("forward", size, args.seconds, args.client_procs)
            print(describe(run), flush=True)
            runs.append(run)
        # The median run by CPU: one busy moment on a shared machine moves a single run.
        runs.sort(key=lambda r: r.cores_at_nominal_rate)
        results[size] = runs[len(runs) // 2]
        per_core = [r.tracks_per_core for r in runs]
        spreads[size] = (min(per_core), max(per_core))
        drops[size] = sum(r.server_drops for r in runs)  # every run's, not the median's
        if args.repeat > 1:
            low, high = spreads[size]
            print(
                f"  N={size}: median of {args.repeat} runs {results[size].tracks_per_core:.0f} "
                f"tracks/core (range {low:.0f}-{high:.0f})",
                flush=True,
            )
    baseline = await run_group("transcode", args.baseline_size, args.seconds, args.client_procs)
    print(describe(baseline), flush=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}", flush=True)
    gauge_after = host_gauge.measure()
    print(f"host gauge after: {describe_gauge(gauge_after)}", flush=True)

    comparable = results[min(results, key=lambda n: abs(n - args.baseline_size))]
    ratio = baseline.cpu_per_forwarded_frame_us / max(1e-9, comparable.cpu_per_forwarded_frame_us)
    print(
        f"CPU per forwarded frame: transcoding {baseline.cpu_per_forwarded_frame_us:.0f} us "
        f"(N={baseline.members}) vs forwarding {comparable.cpu_per_forwarded_frame_us:.0f} us "
        f"(N={comparable.members}): {ratio:.1f}x",
        flush=True,
    )
    figures: dict[str, Any] = {
        "cpu_ratio_vs_transcoding": round(ratio, 2),
        "cores": os.cpu_count(),
        "server_event_loop": loop_name,
        "seconds_per_run": args.seconds,
        "baseline_members": baseline.members,
        "baseline_cpu_cores": round(baseline.cpu_cores, 3),
        "baseline_us_per_frame": round(baseline.cpu_per_forwarded_frame_us, 1),
        **{f"host_{name}_before": value for name, value in gauge_before.items()},
        **{f"host_{name}_after": value for name, value in gauge_after.items()},
    }
    for size, result in results.items():
        figures[f"cpu_cores_{size}"] = round(result.cpu_cores, 3)
        figures[f"kernel_cores_{size}"] = round(result.kernel_cores, 3)
        figures[f"us_per_frame_{size}"] = round(result.cpu_per_forwarded_frame_us, 1)
        figures[f"frames_per_second_{size}"] = round(result.frames_forwarded / result.seconds, 1)
        figures[f"packets_per_second_{size}"] = round(result.packets_forwarded / result.seconds, 1)
        figures[f"us_per_packet_{size}"] = round(result.cpu_per_forwarded_packet_us, 1)
        figures[f"forwarded_ratio_{size}"] = round(result.forwarded_ratio, 3)
        figures[f"delivered_ratio_{size}"] = round(result.delivered_ratio, 3)
        figures[f"published_ratio_{size}"] = round(result.published_ratio, 3)
        figures[f"cores_at_nominal_{size}"] = round(result.cores_at_nominal_rate, 3)
        figures[f"tracks_per_core_{size}"] = round(result.tracks_per_core, 1)
        figures[f"tracks_per_core_{size}_range"] = [round(v, 1) for v in spreads[size]]
        figures[f"server_drops_{size}"] = drops[size]
    return figures


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="4,8,12,16", help="group sizes, comma separated")
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds per run")
    parser.add_argument("--baseline-size", type=int, default=3, help="members for MediaRelay")
    parser.add_argument("--client-procs", type=int, default=1, help="member processes")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per group size; figures are the median's"
    )
    parser.add_argument(
        "--uvloop",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="run the relay (server) process on uvloop; members keep asyncio's loop",
    )
    args = parser.parse_args()
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--sizes takes whole numbers separated by commas, not {args.sizes!r}")
    if not sizes or min(sizes) < 2:
        parser.error("--sizes needs at least one group size, each of 2 members or more")
    if args.baseline_size < 2:
        parser.error("--baseline-size must be at least 2: one member alone forwards nothing")
    if args.seconds <= 0 or args.repeat < 1 or args.client_procs < 1:
        parser.error("--seconds must be positive; --repeat and --client-procs at least 1")
    args.size_list = sizes
    return args


def server_loop_factory(use_uvloop: bool) -> Callable[[], asyncio.AbstractEventLoop] | None:
    if not use_uvloop:
        return None
    import uvloop

    return uvloop.new_event_loop


if __name__ == "__main__":
    arguments = parse_args()
    # Only this process: the members are spawned and run asyncio.run with the default loop.
    with asyncio.Runner(loop_factory=server_loop_factory(arguments.uvloop)) as runner:
        print(json.dumps(runner.run(main(arguments))))
