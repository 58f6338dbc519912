"""One member's audio or video as published to the group: fan-out, gate, keyframes, history."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass

from aiortc import RTCRtpReceiver
from aiortc.rtp import RtpPacket

from server.media.relay import aiortc_hooks
from server.media.relay.forwarding_track import ForwardingTrack
from server.media.relay.keyframe_limiter import KeyframeLimiter
from server.media.relay.packet_history import PacketHistory
from server.media.relay.relayed_packet import RelayedPacket, vp8_keyframe_start

logger = logging.getLogger(__name__)

_origins = itertools.count(1)
NO_AUDIO_LEVEL = 0x7F  # RFC 6464: -127 dBov, no voice


@dataclass
class PublisherCounters:
    rtp_packets_received: int = 0
    frames_received: int = 0
    bytes_received: int = 0
    frames_dropped_by_gate: int = 0
    keyframe_requests_sent: int = 0
    keyframe_requests_held_back: int = 0


class PublishedTrack:
    """Fans one publisher's RTP packets out to its subscribers' ForwardingTracks.

    Outlives the publisher's legs: a rejoin re-points it to the new leg's
    receiver (``attach``) and the subscribers' tracks keep their senders, so
    their peer connections need no renegotiation.
    """

    def __init__(
        self, member_id: str, kind: str, clock: Callable[[], float], *, source: str | None = None
    ) -> None:
        self.member_id = member_id
        self.kind = kind
        # What it carries, for track maps: "audio", "video" (camera) or "screen" (kind video).
        self.source = source or kind
        self.gate_open = True
        self.counters = PublisherCounters()
        self._clock = clock
        self._subscribers: set[ForwardingTrack] = set()
        self.history = PacketHistory()
        self._receiver: RTCRtpReceiver | None = None
        self._media_ssrc: int | None = None
        self._origin = 0
        self._limiter = KeyframeLimiter()
        self._held_back_request: asyncio.TimerHandle | None = None
        self._pli_tasks: set[asyncio.Task[None]] = set()

    def attach(
        self,
        receiver: RTCRtpReceiver,
        on_rtp: aiortc_hooks.RtpObserver | None = None,
        *,
        remb: bool = False,
    ) -> aiortc_hooks.ReceiverTap:
        """Take packets from ``receiver`` (a new leg) from now on.

        ``remb``: keep aiortc's receive-side bandwidth estimator and its REMB
        feedback to the publisher (off by default, see docs/relay.md).
        """
        origin = next(_origins)
        if self._receiver is not None:  # a rejoin: subscribers restart on a keyframe
            for track in self._subscribers:
                track.restart()
        self._receiver = receiver
        self._media_ssrc = None
        self._origin = origin
        self.history.clear()

        def on_packet(packet: RtpPacket) -> None:
            if self._origin == origin:
                self._fan_out(packet)

        def observe_rtp(packet: RtpPacket, media_ssrc: int) -> None:
            if self._origin != origin:
                return
            self.counters.rtp_packets_received += 1
            if self._media_ssrc is None:
                self._media_ssrc = media_ssrc
                if self.kind == "video" and self._subscribers:
                    self.request_keyframe()
            if on_rtp is not None:
                on_rtp(packet, media_ssrc)

        return aiortc_hooks.tap_rtp_packets(receiver, on_packet, observe_rtp, remb=remb)

    def subscribe(self, track: ForwardingTrack) -> None:
        track.follow(self.history)
        self._subscribers.add(track)

    def unsubscribe(self, track: ForwardingTrack) -> None:
        self._subscribers.discard(track)

    def set_gate(self, open_: bool) -> None:
        was_open, self.gate_open = self.gate_open, open_
        if open_ and not was_open and self.kind == "video":
            # Subscribers missed frames while closed: they need a fresh keyframe.
            for track in self._subscribers:
                track.restart()
            self.request_keyframe()

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def request_keyframe(self) -> None:
        """A subscriber needs a keyframe: send a PLI to the publisher, at most one per interval."""
        receiver, media_ssrc = self._receiver, self._media_ssrc
        if self.kind != "video" or receiver is None:
            return
        if media_ssrc is None:
            return  # asked again when the publisher's first packet names its SSRC
        now = self._clock()
        if not self._limiter.request(now):
            self.counters.keyframe_requests_held_back += 1
            self._schedule_held_back_request(now)
            return
        self.counters.keyframe_requests_sent += 1
        task = asyncio.ensure_future(
            aiortc_hooks.send_picture_loss_indication(receiver, media_ssrc)
        )
        self._pli_tasks.add(task)
        task.add_done_callback(self._pli_tasks.discard)

    async def close(self) -> None:
        if self._held_back_request is not None:
            self._held_back_request.cancel()
            self._held_back_request = None
        for task in list(self._pli_tasks):
            task.cancel()
        await asyncio.gather(*self._pli_tasks, return_exceptions=True)
        self._subscribers.clear()
        self._receiver = None

    def _schedule_held_back_request(self, now: float) -> None:
        delay = self._limiter.pending_delay(now)
        if delay is None or self._held_back_request is not None:
            return

        def send_held_back() -> None:
            self._held_back_request = None
            self.request_keyframe()

        self._held_back_request = asyncio.get_running_loop().call_later(delay, send_held_back)

    def _fan_out(self, rtp: RtpPacket) -> None:
        payload = rtp.payload
        counters = self.counters
        audio = self.kind == "audio"
        if rtp.marker or audio:
            counters.frames_received += 1
        counters.bytes_received += len(payload)
        if not self.gate_open:
            if rtp.marker or audio:
                counters.frames_dropped_by_gate += 1
            return
        level = rtp.extensions.audio_level
        ntp_time = aiortc_hooks.ntp_time_now()
        packet = RelayedPacket(
            payload=payload,
            sequence_number=rtp.sequence_number,
            timestamp=rtp.timestamp,
            marker=rtp.marker,
            keyframe_start=audio or vp8_keyframe_start(payload),
            audio_level=NO_AUDIO_LEVEL if level is None else (level[0] << 7) | level[1],
            abs_send_time=(ntp_time >> 14) & 0xFFFFFF,
            ntp_time=ntp_time,
            origin=self._origin,
        )
        self.history.add(packet)
        for track in self._subscribers:
            track.push(packet)
