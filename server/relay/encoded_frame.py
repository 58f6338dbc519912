"""One complete encoded audio or video frame on its way through the relay."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EncodedFrame:
    """A frame as the publisher's encoder made it; the relay never decodes it.

    ``timestamp`` is in the codec's clock (48 kHz Opus, 90 kHz VP8), counted
    from the publisher leg's first frame. ``origin`` names the publisher leg
    that produced it: when it changes (a rejoin), subscribers re-base their
    timestamps and wait for a keyframe.
    """

    data: bytes
    timestamp: int
    keyframe: bool
    origin: int


def is_vp8_keyframe(data: bytes) -> bool:
    """RFC 6386 9.1: bit 0 of the first byte of a VP8 frame is 0 for a key frame."""
    return len(data) >= 3 and data[0] & 0x01 == 0
