"""The pieces between a publisher's receiver and a subscriber's wire, without a network."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field

import pytest
from aiortc.rtp import RtcpSourceInfo, RtcpSrPacket
from hypothesis import given
from hypothesis import strategies as st

from server.media.relay.aiortc_hooks import BACKLOGGED, NOT_SENDABLE, SENT
from server.media.relay.forwarding_track import FRAME_STEPS, ForwardingTrack
from server.media.relay.keyframe_limiter import KeyframeLimiter
from server.media.relay.packet_history import PacketHistory
from server.media.relay.relayed_packet import RelayedPacket, vp8_keyframe_start
from tests.relay.relayed_packets import relayed_packet

# VP8 payload descriptors (RFC 7741) followed by a VP8 frame tag (RFC 6386 9.1).
KEY_START = b"\x10" + b"\x10\x02\x00\x9d\x01\x2a"  # S=1, PID=0; inter-frame bit clear
DELTA_START = b"\x10" + b"\x31\x02\x00"
CONTINUATION = b"\x00" + b"\x00\x01\x02"  # S=0: the middle of a frame


@dataclass
class FakeWire:
    """Records what a ForwardingTrack sends; answers what a test tells it to."""

    sent: list[tuple[int, int, RelayedPacket]] = field(default_factory=list)
    retransmitted: list[tuple[int, int, RelayedPacket]] = field(default_factory=list)
    answer: int = SENT

    def send(self, sequence_number: int, timestamp: int, packet: RelayedPacket) -> int:
        if self.answer == SENT:
            self.sent.append((sequence_number, timestamp, packet))
        return self.answer

    def retransmit(self, sequence_number: int, timestamp: int, packet: RelayedPacket) -> int:
        self.retransmitted.append((sequence_number, timestamp, packet))
        return SENT

    def sync_stats(self, packets: int, octets: int, rtp_timestamp: int, ntp_time: int) -> None:
        self.synced = (packets, octets, rtp_timestamp, ntp_time)

    def sender_report(
        self, packets: int, octets: int, rtp_timestamp: int, ntp_time: int
    ) -> tuple[RtcpSrPacket, RtcpSourceInfo]:
        raise AssertionError("not used here")

    async def send_rtcp(self, payload: bytes) -> None:
        raise AssertionError("not used here")

    @property
    def sequence_numbers(self) -> list[int]:
        return [s for s, _, _ in self.sent]

    @property
    def timestamps(self) -> list[int]:
        return [t for _, t, _ in self.sent]


def packet(
    sequence_number: int,
    timestamp: int,
    payload: bytes = CONTINUATION,
    *,
    marker: int = 1,
    origin: int = 1,
    kind: str = "video",
) -> RelayedPacket:
    return relayed_packet(
        sequence_number, payload, timestamp=timestamp, marker=marker, origin=origin, kind=kind
    )


async def started_track(kind: str = "video") -> tuple[ForwardingTrack, FakeWire, list[int]]:
    """A track whose sender has started (recv called once) and whose slot sends."""
    requests: list[int] = []
    wire = FakeWire()
    track = ForwardingTrack(kind, lambda: requests.append(1))
    track.use_wire(lambda: wire)
    track.set_sending(True)
    pending = asyncio.ensure_future(track.recv())  # aiortc's sender starts pulling
    await asyncio.sleep(0)
    pending.cancel()
    return track, wire, requests


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (KEY_START, True),
        (DELTA_START, False),
        (CONTINUATION, False),
        (b"\x11" + b"\x10\x02\x00", False),  # S=1 but partition 1
        (b"\x90\x80\x05" + b"\x10\x02\x00", True),  # X, I: 7-bit picture ID
        (b"\x90\x80\x85\x05" + b"\x10\x02\x00", True),  # X, I: 15-bit picture ID
        (b"\x90\xe0\x85\x05\x07\x20" + b"\x10\x02", True),  # X, I, L, T
        (b"\x90\xe0\x85\x05\x07\x20" + b"\x31\x02", False),
        (b"\x90\x80", False),  # truncated before the picture ID
        (b"", False),
    ],
)
def test_vp8_keyframe_start(payload: bytes, expected: bool) -> None:
    assert vp8_keyframe_start(payload) is expected


async def test_nothing_is_sent_before_the_sender_starts() -> None:
    wire = FakeWire()
    track = ForwardingTrack("audio", lambda: None)
    track.use_wire(lambda: wire)
    track.set_sending(True)
    track.push(packet(1, 960, kind="audio"))
    assert wire.sent == []


async def test_video_starts_on_a_keyframe_and_asks_for_one() -> None:
    track, wire, requests = await started_track()
    assert requests == [1]
    track.push(packet(10, 0, DELTA_START))
    track.push(packet(11, 3000, KEY_START, marker=0))
    track.push(packet(12, 3000, CONTINUATION))
    track.push(packet(13, 6000, DELTA_START))
    assert [p.sequence_number for _, _, p in wire.sent] == [11, 12, 13]
    assert wire.sequence_numbers == [11, 12, 13]  # the first source keeps its numbering
    assert track.counters.frames_skipped_awaiting_keyframe == 1
    assert track.counters.frames_forwarded == 2  # frames end at the marker bit
    assert track.counters.packets_forwarded == 3


async def test_a_closed_gate_leaves_no_gap_in_sequence_numbers() -> None:
    track, wire, _ = await started_track("audio")
    for n in range(5):
        track.push(packet(100 + n, n * 960, kind="audio"))
    track.restart()  # the gate closed and opened again; the publisher went on counting
    for n in range(50, 53):
        track.push(packet(100 + n, n * 960, kind="audio"))
    assert wire.sequence_numbers == list(range(100, 108))
    # Time went on while the gate was closed: timestamps say so.
    assert wire.timestamps[5] - wire.timestamps[4] == 46 * 960


async def test_timestamps_and_numbers_continue_across_a_change_of_source() -> None:
    track, wire, _ = await started_track()
    track.push(packet(65_534, 90_000, KEY_START, origin=1))
    track.push(packet(65_535, 93_000, DELTA_START, origin=1))
    track.restart()
    track.push(packet(7, 0, KEY_START, origin=2))  # a rejoined publisher starts anew
    assert wire.sequence_numbers == [65_534, 65_535, 0]
    assert wire.timestamps[2] == wire.timestamps[1] + FRAME_STEPS["video"]


async def test_reordered_packets_keep_their_place_and_older_ones_are_dropped() -> None:
    track, wire, _ = await started_track()
    track.push(packet(200, 0, KEY_START, marker=0))
    track.push(packet(202, 0, CONTINUATION))
    track.push(packet(201, 0, CONTINUATION, marker=0))  # late, but within the epoch
    track.push(packet(199, 0, CONTINUATION))  # from before the epoch began
    assert wire.sequence_numbers == [200, 202, 201]
    track.restart()
    track.push(packet(203, 3000, KEY_START))
    assert wire.sequence_numbers[-1] == 203  # one past the highest sent, not the last


async def test_numbering_survives_many_wraps_of_the_sequence_space() -> None:
    """Hours of audio: the publisher's numbers wrap; the subscriber's keep following."""
    track, wire, _ = await started_track("audio")
    history = PacketHistory()
    track.follow(history)
    start = 65_000
    for n in range(3 * 65_536):
        p = packet(start + n, n * 960, kind="audio")
        history.add(p)
        track.push(p)
    assert track.counters.packets_forwarded == 3 * 65_536
    assert wire.sequence_numbers[-1] == (start + 3 * 65_536 - 1) & 0xFFFF
    await track.retransmit(wire.sequence_numbers[-5])
    assert [s for s, _, _ in wire.retransmitted] == [wire.sequence_numbers[-5]]


async def test_a_nack_is_answered_from_the_publishers_history() -> None:
    track, wire, _ = await started_track()
    history = PacketHistory()
    track.follow(history)
    for p in (packet(500, 0, KEY_START, marker=0), packet(501, 0), packet(502, 3000, DELTA_START)):
        history.add(p)
        track.push(p)
    lost_on_the_way = wire.sent[1]  # the subscriber reports it missing
    await track.retransmit(lost_on_the_way[0])
    assert wire.retransmitted == [lost_on_the_way]  # same number, timestamp and payload
    await track.retransmit(12_345)  # never sent: ignored
    assert len(wire.retransmitted) == 1


async def test_a_held_track_answers_no_nack_until_it_restarts() -> None:
    track, wire, requests = await started_track()
    history = PacketHistory()
    track.follow(history)
    for p in (packet(500, 0, KEY_START), packet(501, 3000, DELTA_START)):
        history.add(p)
        track.push(p)
    asked = len(requests)
    track.hold()  # paused: what the pause cut off is not sent again
    await track.retransmit(wire.sent[1][0])
    assert wire.retransmitted == []
    assert len(requests) == asked  # holding asks the publisher for nothing
    track.restart()
    assert len(requests) == asked + 1  # resuming starts on a keyframe


async def test_a_nack_from_before_the_current_epoch_is_not_answered() -> None:
    track, wire, _ = await started_track()
    history = PacketHistory()
    track.follow(history)
    for p in (packet(500, 0, KEY_START), packet(510, 3000, KEY_START, origin=2)):
        history.add(p)
    track.push(history.get(500))  # type: ignore[arg-type]
    track.restart()
    track.push(history.get(510))  # type: ignore[arg-type]  # another source, new numbering
    assert wire.sequence_numbers == [500, 501]
    await track.retransmit(500)  # sent in the old epoch: its mapping is gone
    assert wire.retransmitted == []
    await track.retransmit(501)
    assert [p.sequence_number for _, _, p in wire.retransmitted] == [510]


@pytest.mark.parametrize(
    ("answer", "counter"),
    [(BACKLOGGED, "frames_dropped_overload"), (NOT_SENDABLE, "packets_not_sendable")],
)
async def test_a_packet_the_wire_could_not_send_costs_video_until_the_next_keyframe(
    answer: int, counter: str
) -> None:
    """A full socket buffer, or libsrtp refusing a packet: drop it, restart on a keyframe."""
    track, wire, requests = await started_track()
    track.push(packet(1, 0, KEY_START))
    wire.answer = answer
    track.push(packet(2, 3000, DELTA_START))
    wire.answer = SENT
    track.push(packet(3, 6000, DELTA_START))  # would not decode without 2
    track.push(packet(4, 9000, KEY_START))
    assert getattr(track.counters, counter) == 1
    assert len(requests) == 2  # at the start, and after the drop
    assert wire.sequence_numbers == [1, 2]  # no gap where the dropped packet was


async def test_a_slot_that_stops_sending_forwards_nothing() -> None:
    track, wire, _ = await started_track("audio")
    track.push(packet(1, 0, kind="audio"))
    track.set_sending(False)
    track.push(packet(2, 960, kind="audio"))
    track.set_sending(True)
    track.push(packet(3, 1920, kind="audio"))
    assert wire.sequence_numbers == [1, 2]


def test_history_answers_only_the_packet_it_holds() -> None:
    history = PacketHistory(size=4)
    for n in range(6):
        history.add(packet(n, 0))
    newest = history.get(5)
    assert newest is not None and newest.sequence_number == 5
    assert history.get(1) is None  # overwritten by 5
    assert history.get(9) is None


@given(st.lists(st.floats(0.0, 0.3, allow_nan=False), min_size=1, max_size=100))
def test_keyframe_requests_are_at_least_the_interval_apart(gaps: list[float]) -> None:
    limiter = KeyframeLimiter(0.5)
    now, sent = 0.0, []
    for gap in gaps:
        now += gap
        if limiter.request(now):
            sent.append(now)
    assert all(b - a >= 0.5 for a, b in itertools.pairwise(sent))
    assert sent[0] == gaps[0]


def test_a_held_back_request_is_due_when_the_interval_ends() -> None:
    limiter = KeyframeLimiter(0.5)
    assert limiter.request(10.0)
    assert limiter.pending_delay(10.1) is None
    assert not limiter.request(10.1)
    assert limiter.pending_delay(10.1) == pytest.approx(0.4)
    assert limiter.request(10.5)
    assert limiter.pending_delay(10.5) is None


async def test_the_track_knows_which_of_its_numbers_it_never_sent() -> None:
    """Gaps the publisher's uplink left (or the relay's own drops) are told apart from
    what the subscriber's downlink loses (downlink_loss.py reads this)."""
    track, wire, _ = await started_track("audio")
    for n in (65530, 65531, 65534, 65535, 3, 4):  # 65532-3 and 0-2 never reached the relay
        track.push(packet(n, n * 960, kind="audio"))
    sent = wire.sequence_numbers
    assert track.skipped_through(sent[0]) == 0
    assert track.skipped_through(sent[1]) == 0
    assert track.skipped_through(sent[2]) == 2
    assert track.skipped_through(sent[4]) == 5  # across the wrap
    assert track.skipped_through(sent[5]) == 5
    assert track.skipped_through((sent[5] + 1) & 0xFFFF) is None  # not sent yet
    wire.answer = BACKLOGGED  # dropped here: never sent, not the downlink's loss either
    track.push(packet(5, 5 * 960, kind="audio"))
    wire.answer = SENT
    track.push(packet(6, 6 * 960, kind="audio"))
    assert track.skipped_through(wire.sequence_numbers[-1]) == 6


async def test_only_the_newest_gaps_are_remembered() -> None:
    track, wire, _ = await started_track("audio")
    for n in range(0, 2 * 600, 2):  # every other number lost upstream: 599 gaps
        track.push(packet(n, n * 960, kind="audio"))
    sent = wire.sequence_numbers
    assert track.skipped_through(sent[-1]) == 599
    assert track.skipped_through(sent[0]) is None  # further back than the marks kept
