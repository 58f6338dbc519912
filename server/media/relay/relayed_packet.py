"""One publisher's RTP packet on its way through the relay, and the VP8 facts it needs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class RelayedPacket:
    """A media packet as the publisher sent it; the relay never decodes its payload.

    Made once per packet and shared by every subscriber's slot, which rewrites
    only the RTP header (sequence number, timestamp, SSRC, payload type) in its
    own buffer: nothing changes a RelayedPacket once made. (Not ``frozen``: a
    frozen dataclass's ``__init__`` costs eight times as much, once per packet.)
    ``sequence_number`` and ``timestamp`` are the publisher's. ``origin`` names
    the publisher leg that produced it: when it changes (a rejoin), subscribers
    re-base their numbering and, for video, wait for a keyframe.
    """

    payload: bytes
    sequence_number: int
    timestamp: int
    marker: int
    keyframe_start: bool  # the first packet of a VP8 keyframe (always True for audio)
    audio_level: int  # the RFC 6464 byte: voice flag (0x80) | -dBov; 0x7F when absent
    abs_send_time: int  # 24-bit 6.18 fixed-point seconds, when the relay received it
    ntp_time: int  # NTP 32.32 at the same moment, for sender reports
    origin: int


def vp8_keyframe_start(payload: bytes) -> bool:
    """Whether an RTP payload opens a VP8 keyframe (RFC 7741 4.2, RFC 6386 9.1).

    The payload descriptor must mark the start of partition 0 (S=1, PID=0);
    after its optional extension bytes, bit 0 of the VP8 frame tag is 0 for
    a key frame.
    """
    if len(payload) < 2 or payload[0] & 0x17 != 0x10:
        return False
    index = 1
    if payload[0] & 0x80:  # X: an extension byte follows
        extension = payload[1]
        index = 2
        if extension & 0x80:  # I: picture ID, 7 or 15 bits
            if len(payload) <= index:
                return False
            index += 2 if payload[index] & 0x80 else 1
        if extension & 0x40:  # L: TL0PICIDX
            index += 1
        if extension & 0x30:  # T or K: TID/Y/KEYIDX
            index += 1
    return len(payload) > index and payload[index] & 0x01 == 0
