"""A MediaStreamTrack that yields encoded packets, so aiortc's sender packs without encoding."""

from __future__ import annotations

import asyncio
import fractions
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from server.relay.aiortc_hooks import PrepackedPacket
from server.relay.encoded_frame import EncodedFrame

CLOCK_RATES = {"audio": 48_000, "video": 90_000}
# Nominal frame durations, used to continue timestamps across a change of source.
FRAME_STEPS = {"audio": 960, "video": 3_000}
QUEUE_FRAMES = {"audio": 50, "video": 30}  # one second of media


@dataclass
class ForwardingCounters:
    frames_forwarded: int = 0
    bytes_forwarded: int = 0
    frames_dropped_overload: int = 0
    frames_skipped_awaiting_keyframe: int = 0


class ForwardingTrack(MediaStreamTrack):
    """One subscriber's copy of one publisher's audio or video.

    The relay ``push``es encoded frames; aiortc's RTCRtpSender calls ``recv``
    and gets a ``PrepackedPacket`` (what an ``av.Packet`` would carry, without
    copying the frame), which it packetizes (``codec.pack``) instead of
    encoding. The track belongs to one sender slot of a subscriber's leg for
    the leg's lifetime and may be re-pointed to another publisher.

    Frames are only queued while the sender is pulling and the slot is
    negotiated as sending, so a late-starting sender gets no stale burst.
    Video starts, and restarts after a drop or a change of source, on a
    keyframe; ``request_keyframe`` is called whenever one is needed.
    """

    def __init__(self, kind: str, request_keyframe: Callable[[], None]) -> None:
        super().__init__()
        if kind not in CLOCK_RATES:
            raise ValueError(f"unknown media kind {kind!r}")
        self.kind = kind
        self.counters = ForwardingCounters()
        self._request_keyframe = request_keyframe
        # A deque and one waiter instead of asyncio.Queue: this hand-off runs for
        # every frame and every subscriber, and asyncio.Queue's bookkeeping shows.
        self._frames: deque[EncodedFrame] = deque()
        self._capacity = QUEUE_FRAMES[kind]
        self._waiter: asyncio.Future[None] | None = None
        self._time_base = fractions.Fraction(1, CLOCK_RATES[kind])
        self._pulled = False
        self._sending = False
        self._awaiting_keyframe = kind == "video"
        self._origin: int | None = None
        self._offset = 0
        self._last_out: int | None = None

    @property
    def flowing(self) -> bool:
        return self._pulled and self._sending

    def set_sending(self, sending: bool) -> None:
        """The slot's negotiated direction includes sending (set after each answer)."""
        was_flowing = self.flowing
        self._sending = sending
        self._on_flow_change(was_flowing)

    def restart(self) -> None:
        """The slot now carries another publisher: drop what is queued, wait for a keyframe."""
        self._drain()
        if self.kind == "video":
            self._awaiting_keyframe = True
            if self.flowing:
                self._request_keyframe()

    def push(self, frame: EncodedFrame) -> None:
        if not self.flowing:
            return
        if self._awaiting_keyframe:
            if not frame.keyframe:
                self.counters.frames_skipped_awaiting_keyframe += 1
                return
            self._awaiting_keyframe = False
        if len(self._frames) >= self._capacity:
            # The subscriber's sender cannot keep up: drop rather than add delay.
            self.counters.frames_dropped_overload += 1
            if self.kind == "video":
                # A gap in VP8 breaks every later frame until the next keyframe.
                self._drain()
                self._awaiting_keyframe = True
                self._request_keyframe()
            return
        self._frames.append(frame)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    # aiortc types recv() as returning av.Frame | av.Packet; its sender packs any
    # non-Frame with Encoder.pack, which PrepackedPacket satisfies (aiortc_hooks).
    async def recv(self) -> PrepackedPacket:  # type: ignore[override]
        if self.readyState != "live":
            raise MediaStreamError
        if not self._pulled:
            was_flowing = self.flowing
            self._pulled = True
            self._on_flow_change(was_flowing)
        while not self._frames:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        frame = self._frames.popleft()
        counters = self.counters
        counters.frames_forwarded += 1
        counters.bytes_forwarded += len(frame.data)
        return PrepackedPacket(frame.data, self._continuous_timestamp(frame), self._time_base)

    def _continuous_timestamp(self, frame: EncodedFrame) -> int:
        # A subscriber's SSRC outlives publishers and publisher legs; its RTP
        # timestamps must keep moving forward when the source changes.
        if frame.origin != self._origin:
            self._origin = frame.origin
            if self._last_out is not None:
                self._offset = self._last_out + FRAME_STEPS[self.kind] - frame.timestamp
        out = frame.timestamp + self._offset
        self._last_out = out
        return out

    def _on_flow_change(self, was_flowing: bool) -> None:
        if self.flowing and not was_flowing and self.kind == "video":
            self._awaiting_keyframe = True
            self._request_keyframe()
        if was_flowing and not self.flowing:
            self._drain()

    def _drain(self) -> None:
        self._frames.clear()
