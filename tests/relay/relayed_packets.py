"""One way to build the relay's shared packet in tests, with the fields a test leaves alone."""

from __future__ import annotations

from server.media.relay.relayed_packet import RelayedPacket, vp8_keyframe_start


def relayed_packet(
    sequence_number: int,
    payload: bytes,
    *,
    timestamp: int = 0,
    marker: int = 1,
    origin: int = 1,
    kind: str = "video",
    audio_level: int = 0x7F,
    abs_send_time: int = 0,
    ntp_time: int = 0,
) -> RelayedPacket:
    """A packet as the publisher's fan-out makes it; numbers wrap as on the wire."""
    return RelayedPacket(
        payload=payload,
        sequence_number=sequence_number & 0xFFFF,
        timestamp=timestamp & 0xFFFFFFFF,
        marker=marker,
        keyframe_start=kind == "audio" or vp8_keyframe_start(payload),
        audio_level=audio_level,
        abs_send_time=abs_send_time,
        ntp_time=ntp_time,
        origin=origin,
    )
