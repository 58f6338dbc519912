"""Real aiortc members on loopback, talking to a real GroupRelay in the same event loop.

The members encode with aiortc's own sender (VP8, Opus) and decode what they
receive; the relay in between must only forward.
"""

from __future__ import annotations

import array
import asyncio
import fractions
import itertools
import math
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import (
    AUDIO_PTIME,
    VIDEO_CLOCK_RATE,
    VIDEO_PTIME,
    VIDEO_TIME_BASE,
    MediaStreamError,
)
from av import AudioFrame, VideoFrame

from server.media.relay import GroupRelay

BUNDLED = RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
SAMPLE_RATE = 48_000
SAMPLES_PER_FRAME = int(AUDIO_PTIME * SAMPLE_RATE)
LOUD_AMPLITUDE = 12_000  # about -8 dBov: RFC 6464 level ~8
QUIET_AMPLITUDE = 0  # digital silence: level 127


class ToneTrack(MediaStreamTrack):
    """A 440 Hz tone whose loudness a test can change, paced in real time."""

    kind = "audio"

    def __init__(self, amplitude: int = LOUD_AMPLITUDE) -> None:
        super().__init__()
        self.amplitude = amplitude
        self._start: float | None = None
        self._pts = 0
        self._unit = [
            math.sin(2 * math.pi * 440 * i / SAMPLE_RATE) for i in range(SAMPLES_PER_FRAME)
        ]
        self._cache: dict[int, bytes] = {}

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        else:
            self._pts += SAMPLES_PER_FRAME
            await asyncio.sleep(self._start + self._pts / SAMPLE_RATE - loop.time())
        frame = AudioFrame(format="s16", layout="mono", samples=SAMPLES_PER_FRAME)
        frame.planes[0].update(self._samples(self.amplitude))
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        return frame

    def _samples(self, amplitude: int) -> bytes:
        if amplitude not in self._cache:
            pcm = array.array("h", (int(v * amplitude) for v in self._unit))
            self._cache[amplitude] = pcm.tobytes()
        return self._cache[amplitude]


class PatternTrack(MediaStreamTrack):
    """Small moving-gradient video at 30 fps: cheap to encode, never all-static."""

    kind = "video"

    def __init__(self, width: int = 160, height: int = 120) -> None:
        super().__init__()
        self._width, self._height = width, height
        self._start: float | None = None
        self._pts = 0
        self._count = 0

    @property
    def frames_made(self) -> int:
        return self._count

    async def recv(self) -> VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        else:
            self._pts += int(VIDEO_PTIME * VIDEO_CLOCK_RATE)
            await asyncio.sleep(self._start + self._pts / VIDEO_CLOCK_RATE - loop.time())
        self._count += 1
        frame = VideoFrame(width=self._width, height=self._height, format="yuv420p")
        for index, plane in enumerate(frame.planes):
            size = plane.buffer_size
            if index == 0:  # a gradient that moves, so every frame differs
                shift = (self._count * 4) % 256
                luma = bytes((x + shift) % 256 for x in range(256))
                plane.update((luma * (size // 256 + 1))[:size])
            else:
                plane.update(bytes([128]) * size)
        frame.pts = self._pts
        frame.time_base = VIDEO_TIME_BASE
        return frame


@dataclass(eq=False)
class Member:
    """A group member's browser, played by aiortc: publishes, answers relay offers, decodes."""

    member_id: str
    relay: GroupRelay
    pc: RTCPeerConnection = field(default_factory=RTCPeerConnection)
    tone: ToneTrack = field(default_factory=ToneTrack)
    video: PatternTrack = field(default_factory=PatternTrack)
    # A second video track, the browser's screen share m-line (published from the start).
    screen: PatternTrack | None = None
    track_map: dict[str, dict[str, str]] = field(default_factory=dict)
    decoded: Counter[tuple[str, str]] = field(default_factory=Counter)  # (publisher, kind)
    first_video_at: dict[str, float] = field(default_factory=dict)
    offers_received: int = 0
    # What the browser's SDP looks like on the wire (e.g. host addresses behind mDNS names).
    disguise: Callable[[str], str] = field(default=lambda sdp: sdp)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _answering: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def join(self) -> None:
        self.pc.addTrack(self.tone)
        self.pc.addTrack(self.video)
        if self.screen is not None:
            self.pc.addTrack(self.screen)

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            transceiver = next(t for t in self.pc.getTransceivers() if t.receiver.track is track)
            self._spawn(self._consume(transceiver.mid, track))

        await self.pc.setLocalDescription(await self.pc.createOffer())
        answer = await self.relay.join(self.member_id, self.disguise(self.pc.localDescription.sdp))
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))

    def on_offer(self, sdp: str, tracks: dict[str, dict[str, str]]) -> None:
        self.offers_received += 1
        self._spawn(self._answer(sdp, tracks))

    def on_tracks(self, tracks: dict[str, dict[str, str]]) -> None:
        self.track_map = tracks

    async def _answer(self, sdp: str, tracks: dict[str, dict[str, str]]) -> None:
        async with self._answering:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            self.track_map = tracks
            await self.pc.setLocalDescription(await self.pc.createAnswer())
            answer = self.disguise(self.pc.localDescription.sdp)
            await self.relay.accept_answer(self.member_id, answer)

    async def _consume(self, mid: str | None, track: MediaStreamTrack) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                await track.recv()
            except MediaStreamError:
                return
            entry = self.track_map.get(mid or "")
            if entry is None:
                continue
            publisher = entry["member"]
            self.decoded[(publisher, entry["kind"])] += 1  # audio, video or screen
            if entry["kind"] == "video":
                self.first_video_at.setdefault(publisher, loop.time())

    def received(self, publisher: str, kind: str) -> int:
        return self.decoded[(publisher, kind)]

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.pc.close()


@dataclass
class MemberPages:
    """The relay's RelaySignals, delivered straight to the members' aiortc pages."""

    members: dict[str, Member]

    async def send_offer(self, member_id: str, sdp: str, tracks: dict[str, dict[str, str]]) -> None:
        member = self.members.get(member_id)
        if member is not None:
            member.on_offer(sdp, tracks)

    async def send_tracks(self, member_id: str, tracks: dict[str, dict[str, str]]) -> None:
        member = self.members.get(member_id)
        if member is not None:
            member.on_tracks(tracks)


@dataclass
class Group:
    relay: GroupRelay
    members: dict[str, Member]
    voice_events: list[tuple[str, bool, float]]

    async def add(
        self, member_id: str, amplitude: int = LOUD_AMPLITUDE, *, screen: bool = False
    ) -> Member:
        member = Member(
            member_id,
            self.relay,
            tone=ToneTrack(amplitude),
            screen=PatternTrack(320, 240) if screen else None,
            # Two video m-lines: aiortc's default "balanced" policy would send the second
            # on a transport of its own, which the relay's max-bundle answer stops.
            **({"pc": RTCPeerConnection(BUNDLED)} if screen else {}),
        )
        self.members[member_id] = member
        await member.join()
        return member

    async def rejoin(self, member_id: str) -> Member:
        """A member's fresh peer connection, as after a lost connection: same identity."""
        old = self.members[member_id]
        await old.close()
        return await self.add(member_id)


async def eventually(
    condition: Callable[[], bool], within: float, message: str, interval: float = 0.05
) -> None:
    """Wait (bounded) until ``condition`` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {within}s: {message}")
        await asyncio.sleep(interval)


MEDIA_TIMEOUT = 15.0


def everyone_hears_everyone(group: Group, minimum: int = 5) -> bool:
    return all(
        subscriber.received(publisher.member_id, kind) >= minimum
        for subscriber, publisher in itertools.permutations(group.members.values(), 2)
        for kind in ("audio", "video")
    )


async def settled(count: Callable[[], int], quiet: float = 0.5, within: float = 10.0) -> None:
    """Wait (bounded) until ``count`` has not changed for ``quiet`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    last, since = count(), loop.time()
    while loop.time() - since < quiet:
        if loop.time() > deadline:
            raise AssertionError(f"still changing after {within}s")
        await asyncio.sleep(0.05)
        if count() != last:
            last, since = count(), loop.time()
