"""The relay's own send path, over a real DTLS/SRTP connection to an aiortc subscriber.

What the subscriber's aiortc receiver takes in must be exactly what was
pushed: payload, numbering, marker, mid, audio level; its NACKs must be
answered by RTX from the publisher's history, and aiortc's sender stats must
count what the wire sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiortc import RTCPeerConnection, RTCRtpTransceiver
from aiortc.rtp import RtpPacket

from server.media.relay import aiortc_hooks
from server.media.relay.forwarding_track import ForwardingTrack
from server.media.relay.packet_history import PacketHistory
from server.media.relay.relayed_packet import RelayedPacket
from tests.relay.relayed_packets import relayed_packet

KEY_START = b"\x10" + b"\x10\x02\x00\x9d\x01\x2a" + bytes(range(200))
CONTINUATION = b"\x00" + bytes(range(100, 250))
WAIT = 10.0


@dataclass
class Slot:
    track: ForwardingTrack
    sender_transceiver: RTCRtpTransceiver
    received: list[RtpPacket] = field(default_factory=list)
    arrived_ssrcs: set[int] = field(default_factory=set)  # before RTX unwrapping


@dataclass
class WiredPair:
    relay_side: RTCPeerConnection
    subscriber: RTCPeerConnection
    slots: dict[str, Slot]


def relayed(
    sequence_number: int,
    payload: bytes,
    *,
    marker: int = 1,
    timestamp: int = 0,
    audio_level: int = 0x7F,
    kind: str = "video",
) -> RelayedPacket:
    return relayed_packet(
        sequence_number,
        payload,
        timestamp=timestamp,
        marker=marker,
        kind=kind,
        audio_level=audio_level,
        abs_send_time=0x123456,
        ntp_time=aiortc_hooks.ntp_time_now(),
    )


async def until(condition: object, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + WAIT
    while not condition():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


@pytest.fixture
async def wired() -> AsyncIterator[WiredPair]:
    """A relay-side connection with one video and one audio slot, and its subscriber."""
    relay_side, subscriber = RTCPeerConnection(), RTCPeerConnection()
    slots: dict[str, Slot] = {}
    for kind in ("video", "audio"):
        track = ForwardingTrack(kind, lambda: None)
        transceiver = relay_side.addTransceiver(track, direction="sendonly")
        aiortc_hooks.redirect_retransmissions(transceiver.sender, track.retransmit)
        aiortc_hooks.take_over_sender_reports(transceiver.sender)
        track.use_wire(
            lambda t=transceiver: aiortc_hooks.SenderWire(t.sender, t)  # type: ignore[misc]
        )
        slots[kind] = Slot(track, transceiver)
    try:
        await relay_side.setLocalDescription(await relay_side.createOffer())
        await subscriber.setRemoteDescription(relay_side.localDescription)
        for transceiver in subscriber.getTransceivers():
            slot = slots[transceiver.kind]
            aiortc_hooks.tap_rtp_packets(
                transceiver.receiver,
                slot.received.append,
                lambda p, _media, slot=slot: slot.arrived_ssrcs.add(p.ssrc),  # type: ignore[misc]
            )
        await subscriber.setLocalDescription(await subscriber.createAnswer())
        await relay_side.setRemoteDescription(subscriber.localDescription)
        for slot in slots.values():
            slot.track.set_sending(True)
        await until(lambda: all(s.track.flowing for s in slots.values()), "the senders to start")
        yield WiredPair(relay_side, subscriber, slots)
    finally:
        await relay_side.close()
        await subscriber.close()


async def test_the_subscriber_receives_exactly_what_was_pushed(wired: WiredPair) -> None:
    video = wired.slots["video"]
    pushed = [
        relayed(1000, KEY_START, marker=0, timestamp=90_000),
        relayed(1001, CONTINUATION, timestamp=90_000),
    ]
    for p in pushed:
        video.track.push(p)
    await until(lambda: len(video.received) == 2, "both video packets")
    sender = video.sender_transceiver.sender
    assert video.track.counters.packets_forwarded == 2
    for got, sent in zip(video.received, pushed, strict=True):
        assert got.payload == sent.payload
        assert got.sequence_number == sent.sequence_number  # the first source's numbering
        assert got.timestamp == sent.timestamp
        assert got.marker == sent.marker
        assert got.ssrc == sender._ssrc
        assert got.extensions.mid == video.sender_transceiver.mid
        assert got.extensions.abs_send_time == 0x123456
    video.track.sync_stats()  # what the relay does before reading stats
    stats = await sender.getStats()
    outbound = next(s for s in stats.values() if s.type == "outbound-rtp")
    assert outbound.packetsSent == 2
    assert outbound.bytesSent == sum(len(p.payload) for p in pushed)
    transport = next(s for s in stats.values() if s.type == "transport")
    assert transport.packetsSent >= 2  # aiortc's own RTCP counts there too
    assert transport.bytesSent >= outbound.bytesSent + 2 * 12


async def test_sender_reports_reach_the_subscriber_and_give_a_round_trip_time(
    wired: WiredPair,
) -> None:
    video = wired.slots["video"]
    video.track.push(relayed(1, KEY_START, timestamp=90_000))
    await until(lambda: len(video.received) == 1, "the video packet")
    sender = video.sender_transceiver.sender
    subscriber_side = next(t for t in wired.subscriber.getTransceivers() if t.kind == "video")
    deadline = asyncio.get_running_loop().time() + WAIT
    reported: list[tuple[int, int]] = []
    round_trip: float | None = None
    while not (reported == [(1, len(KEY_START))] and round_trip is not None):
        assert asyncio.get_running_loop().time() < deadline, (reported, round_trip)
        # What the relay's ticker does every second for each leg.
        report = video.track.sender_report()
        assert report is not None
        await aiortc_hooks.send_compound_reports(video.track.wire.send_rtcp, [report])  # type: ignore[union-attr]
        await asyncio.sleep(0.2)
        seen = await subscriber_side.receiver.getStats()
        reported = [
            (s.packetsSent, s.bytesSent) for s in seen.values() if s.type == "remote-outbound-rtp"
        ]
        relay_stats = await sender.getStats()
        round_trip = next(
            (s.roundTripTime for s in relay_stats.values() if s.type == "remote-inbound-rtp"),
            None,
        )
    assert 0 <= round_trip < 1.0


async def test_audio_carries_the_publishers_audio_level(wired: WiredPair) -> None:
    audio = wired.slots["audio"]
    audio.track.push(relayed(7, b"\xfc\xff\xfe", audio_level=0x80 | 30, kind="audio"))
    audio.track.push(relayed(8, b"\xfc\xff\xfe", audio_level=90, kind="audio"))
    await until(lambda: len(audio.received) == 2, "both audio packets")
    assert [p.extensions.audio_level for p in audio.received] == [(True, 30), (False, 90)]


async def test_a_lost_packet_is_resent_as_rtx_when_the_subscriber_nacks(
    wired: WiredPair,
) -> None:
    video = wired.slots["video"]
    history = PacketHistory()
    video.track.follow(history)
    packets = [relayed(2000 + n, KEY_START if n == 0 else CONTINUATION, marker=0) for n in range(5)]
    for p in packets:
        history.add(p)
        if p.sequence_number != 2002:  # lost between the relay and the subscriber
            video.track.push(p)
    await until(lambda: 2002 in [p.sequence_number for p in video.received], "the retransmission")
    resent = next(p for p in video.received if p.sequence_number == 2002)
    assert resent.payload == packets[2].payload
    sender = video.sender_transceiver.sender
    assert resent.ssrc == sender._ssrc  # unwrapped from RTX...
    assert sender._rtx_ssrc in video.arrived_ssrcs  # ...which it arrived as
    assert video.track.counters.packets_retransmitted >= 1
    assert video.track.counters.packets_forwarded == 4


async def test_without_a_raw_socket_the_wire_sends_through_the_transport(
    wired: WiredPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another event loop's transport (uvloop's) has no ``_sock``: the wire uses its sendto."""
    monkeypatch.setattr(aiortc_hooks.send, "ASYNCIO_TRANSPORT_SOCKET", "_no_socket_here")
    video = wired.slots["video"]
    pushed = [relayed(7, KEY_START, marker=0), relayed(8, CONTINUATION)]
    for p in pushed:
        video.track.push(p)
    await until(lambda: len(video.received) == 2, "both video packets")
    assert [p.payload for p in video.received] == [p.payload for p in pushed]
    wire = video.track.wire
    assert isinstance(wire, aiortc_hooks.SenderWire)
    assert isinstance(wire._send_datagram.__self__, asyncio.BaseTransport)  # type: ignore[union-attr]
