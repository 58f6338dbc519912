"""One subscriber's copy of one publisher's audio or video, forwarded packet by packet."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from typing import Protocol

from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from aiortc.rtp import RtcpSourceInfo, RtcpSrPacket

from server.media.relay.aiortc_hooks import BACKLOGGED, NOT_SENDABLE, SENT
from server.media.relay.packet_history import PacketHistory
from server.media.relay.relayed_packet import RelayedPacket

# Nominal frame durations, used to continue timestamps across a change of source.
FRAME_STEPS = {"audio": 960, "video": 3_000}
HALF_SEQUENCE_SPACE = 0x8000
# Gaps in the numbers sent (the publisher's uplink lost packets, or the relay dropped
# some) remembered, to tell them apart from what the subscriber's downlink loses.
SKIP_MARKS = 256


def _not_open(sequence_number: int, timestamp: int, packet: RelayedPacket) -> int:
    raise RuntimeError("a ForwardingTrack sent before its wire was open")


class Wire(Protocol):
    def send(self, sequence_number: int, timestamp: int, packet: RelayedPacket) -> int: ...

    def retransmit(self, sequence_number: int, timestamp: int, packet: RelayedPacket) -> int: ...

    def sync_stats(self, packets: int, octets: int, rtp_timestamp: int, ntp_time: int) -> None: ...

    def sender_report(
        self, packets: int, octets: int, rtp_timestamp: int, ntp_time: int
    ) -> tuple[RtcpSrPacket, RtcpSourceInfo]: ...

    async def send_rtcp(self, payload: bytes) -> None: ...


@dataclass
class ForwardingCounters:
    frames_forwarded: int = 0
    bytes_forwarded: int = 0
    packets_forwarded: int = 0
    packets_retransmitted: int = 0
    frames_dropped_overload: int = 0
    frames_skipped_awaiting_keyframe: int = 0
    packets_not_sendable: int = 0

    @classmethod
    def total(cls, parts: Iterable[ForwardingCounters]) -> ForwardingCounters:
        """The sum of several slots' counters, field by field."""
        result = cls()
        names = [f.name for f in fields(cls)]
        for part in parts:
            for name in names:
                setattr(result, name, getattr(result, name) + getattr(part, name))
        return result


class ForwardingTrack(MediaStreamTrack):
    """The track on one sender slot of a subscriber's leg; its packets bypass aiortc's sender.

    aiortc's sender needs a track to negotiate and start; once it starts and
    asks for the first frame (``recv``), the track opens its ``Wire`` (see
    ``aiortc_hooks.SenderWire``) and parks the sender's loop. From then on the
    publisher ``push``es each packet and the track rewrites its header and
    sends it at once: no queue, no per-packet task.

    Sequence numbers and timestamps are the subscriber's own: they continue
    across every change the subscriber must not see as loss or a jump back
    (a closed gate, a new publisher on the slot, a rejoin). Each such change
    starts an *epoch*; within one, ``out = in + offset``, so reordering and
    retransmissions map exactly. Video starts each epoch on a keyframe;
    ``request_keyframe`` is called whenever one is needed.
    """

    def __init__(self, kind: str, request_keyframe: Callable[[], None]) -> None:
        super().__init__()
        if kind not in FRAME_STEPS:
            raise ValueError(f"unknown media kind {kind!r}")
        self.kind = kind
        self._audio = kind == "audio"
        self.counters = ForwardingCounters()
        self._request_keyframe = request_keyframe
        self._open_wire: Callable[[], Wire] | None = None
        self._wire: Wire | None = None
        self._send: Callable[[int, int, RelayedPacket], int] = _not_open
        self._history: PacketHistory | None = None
        self._sending = False
        self._ended: asyncio.Future[None] | None = None
        self._origin: int | None = None
        # The origin whose packets go straight out: set while the wire is open,
        # the slot sends and an epoch runs; None otherwise, and then the next
        # usable packet starts an epoch. One comparison per packet instead of four.
        self._live_origin: int | None = None
        # Publisher sequence numbers, extended past 16 bits within the epoch: the
        # highest forwarded (and its 16-bit value), and the epoch's first.
        self._highest_extended = 0
        self._highest_in = 0
        self._epoch_extended = 0
        self._sequence_offset = 0
        self._timestamp_offset = 0
        self._numbering_started = False
        self._last_timestamp: int | None = None
        self._last_ntp_time = 0  # when the packet with _last_timestamp reached the relay
        # Our own numbers, extended past 16 bits: the highest sent, how many were
        # skipped (never sent) so far, and where: (number, skipped through it, skipped there).
        self._out_highest = 0
        self._skipped = 0
        self._skips: deque[tuple[int, int, int]] = deque(maxlen=SKIP_MARKS)

    def use_wire(self, open_wire: Callable[[], Wire]) -> None:
        """How to open the wire once the sender has started (set once, by the leg)."""
        self._open_wire = open_wire

    @property
    def flowing(self) -> bool:
        return self._wire is not None and self._sending

    def set_sending(self, sending: bool) -> None:
        """The slot's negotiated direction includes sending (set after each answer)."""
        was_flowing = self.flowing
        self._sending = sending
        if not sending:
            self._live_origin = None
        self._on_flow_change(was_flowing)

    def follow(self, history: PacketHistory) -> None:
        """The slot now carries the publication that keeps ``history``."""
        self._history = history

    def restart(self) -> None:
        """Start a new epoch at the next usable packet (video: the next keyframe)."""
        self._live_origin = None
        if not self._audio and self.flowing:
            self._request_keyframe()

    def hold(self) -> None:
        """Paused (last-N, audio only): answer no NACK until ``restart``. A paused
        subscriber's browser keeps asking for what the pause cut off, and answering
        would fill the very link the pause is there to relieve."""
        self._live_origin = None

    def push(self, packet: RelayedPacket) -> None:
        if packet.origin != self._live_origin and not self._begin_epoch(packet):
            return
        ahead = (packet.sequence_number - self._highest_in) & 0xFFFF
        if ahead >= HALF_SEQUENCE_SPACE and (
            self._highest_extended - (0x10000 - ahead) < self._epoch_extended
        ):
            return  # older than the epoch: its number would collide with what was sent
        sequence_number = (packet.sequence_number + self._sequence_offset) & 0xFFFF
        timestamp = (packet.timestamp + self._timestamp_offset) & 0xFFFFFFFF
        result = self._send(sequence_number, timestamp, packet)
        if result != SENT:
            if result == BACKLOGGED:
                self._drop_for_overload()
            elif result == NOT_SENDABLE:  # libsrtp refused it: lose one, not the stream
                self.counters.packets_not_sendable += 1
                if not self._audio:
                    self.restart()
            return
        counters = self.counters
        counters.packets_forwarded += 1
        counters.bytes_forwarded += len(packet.payload)
        if packet.marker or self._audio:
            counters.frames_forwarded += 1
        if ahead < HALF_SEQUENCE_SPACE:
            if ahead > 1:  # numbers this subscriber will never get, through no fault of its own
                self._skipped += ahead - 1
                self._skips.append((self._out_highest + ahead, self._skipped, ahead - 1))
            self._out_highest += ahead
            self._highest_extended += ahead
            self._highest_in = packet.sequence_number
            self._last_timestamp = timestamp
            self._last_ntp_time = packet.ntp_time

    def skipped_through(self, sequence_number: int) -> int | None:
        """How many of our numbers up to ``sequence_number`` (16 bits, one we sent) were
        never sent: lost on the publisher's uplink or dropped here. None when that is no
        longer known (further back than the marks kept) or the number is not ours yet."""
        behind = (self._out_highest - sequence_number) & 0xFFFF
        if behind >= HALF_SEQUENCE_SPACE:
            return None
        extended = self._out_highest - behind
        skips = self._skips
        for at, through, _count in reversed(skips):
            if at <= extended:
                return through
        if not skips:
            return self._skipped
        if len(skips) == skips.maxlen:
            return None  # the marks before the oldest kept are gone
        return skips[0][1] - skips[0][2]

    async def retransmit(self, sequence_number: int) -> None:
        """Answer a subscriber's NACK for ``sequence_number`` from the publisher's history."""
        wire, history = self._wire, self._history
        if wire is None or history is None or self._live_origin is None:
            return
        sequence_in = (sequence_number - self._sequence_offset) & 0xFFFF
        behind = (self._highest_in - sequence_in) & 0xFFFF
        if behind >= HALF_SEQUENCE_SPACE or self._highest_extended - behind < self._epoch_extended:
            return  # not sent in this epoch: another mapping, or another publisher
        packet = history.get(sequence_in)
        if packet is None or packet.origin != self._origin:
            return
        timestamp = (packet.timestamp + self._timestamp_offset) & 0xFFFFFFFF
        if wire.retransmit(sequence_number, timestamp, packet) == SENT:
            self.counters.packets_retransmitted += 1

    def sync_stats(self) -> None:
        """Hand what was sent to aiortc's sender (its outbound stats)."""
        if self._wire is not None and self._last_timestamp is not None:
            counters = self.counters
            self._wire.sync_stats(
                counters.packets_forwarded,
                counters.bytes_forwarded,
                self._last_timestamp,
                self._last_ntp_time,
            )

    def sender_report(self) -> tuple[RtcpSrPacket, RtcpSourceInfo] | None:
        """This slot's RTCP sender report and SDES chunk; None before it sent anything."""
        if self._wire is None or self._last_timestamp is None:
            return None
        counters = self.counters
        return self._wire.sender_report(
            counters.packets_forwarded,
            counters.bytes_forwarded,
            self._last_timestamp,
            self._last_ntp_time,
        )

    @property
    def wire(self) -> Wire | None:
        return self._wire

    # aiortc types recv() as returning av.Frame | av.Packet; the relay's sender
    # never gets either: recv opens the wire and then waits for the end.
    async def recv(self) -> None:  # type: ignore[override]
        if self.readyState != "live":
            raise MediaStreamError
        if self._wire is None and self._open_wire is not None:
            was_flowing = self.flowing
            self._wire = self._open_wire()
            self._send = self._wire.send
            self._on_flow_change(was_flowing)
        if self._ended is None:
            self._ended = asyncio.get_running_loop().create_future()
        await asyncio.shield(self._ended)
        raise MediaStreamError

    def stop(self) -> None:
        super().stop()
        self._sending = False
        self._live_origin = None
        if self._ended is not None and not self._ended.done():
            self._ended.set_result(None)

    def _begin_epoch(self, packet: RelayedPacket) -> bool:
        if self._wire is None or not self._sending:
            return False
        if not packet.keyframe_start:  # only video packets can fail this
            if packet.marker:
                self.counters.frames_skipped_awaiting_keyframe += 1
            return False
        if packet.origin != self._origin:
            # A new source has its own timestamp base: continue from ours.
            if self._last_timestamp is not None:
                step = FRAME_STEPS[self.kind]
                self._timestamp_offset = self._last_timestamp + step - packet.timestamp
            self._origin = packet.origin
        if self._numbering_started:  # one past the highest number sent so far
            next_out = (self._highest_in + self._sequence_offset + 1) & 0xFFFF
        else:
            next_out = packet.sequence_number
            self._numbering_started = True
            self._out_highest = next_out - 1
        self._sequence_offset = (next_out - packet.sequence_number) & 0xFFFF
        # Until the packet that opens the epoch is sent, the one before it counts
        # as the highest; nothing before the opening packet is sent in this epoch.
        self._highest_in = (packet.sequence_number - 1) & 0xFFFF
        self._highest_extended = 0x10000
        self._epoch_extended = 0x10001
        self._live_origin = packet.origin
        return True

    def _drop_for_overload(self) -> None:
        # The subscriber's socket cannot take more: drop rather than add delay.
        self.counters.frames_dropped_overload += 1
        if not self._audio:  # a gap in VP8 breaks every later frame until a keyframe
            self.restart()

    def _on_flow_change(self, was_flowing: bool) -> None:
        if self.flowing and not was_flowing:
            self.restart()
