"""Payload types for m-lines the relay offers for the first time, consistent across BUNDLE."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from aiortc.codecs import is_rtx
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

# mime type, clock rate, channels, and for RTX the payload type it repairs
CodecKey = tuple[str, int, int | None, int | None]
DYNAMIC_PAYLOAD_TYPES = range(96, 128)


def payload_type(codec: RTCRtpCodecParameters) -> int:
    if codec.payloadType is None:  # aiortc gives every codec of a description one
        raise ValueError(f"{codec.mimeType} has no payload type")
    return codec.payloadType


def repaired_payload_type(codec: RTCRtpCodecParameters) -> int | None:
    apt = codec.parameters.get("apt")
    return apt if isinstance(apt, int) else None


def codec_key(codec: RTCRtpCodecParameters, apt: int | None = None) -> CodecKey:
    return (codec.mimeType.lower(), codec.clockRate, codec.channels, apt)


class BundleNumbering:
    """One meaning per payload type across the leg's BUNDLE group (RFC 8843).

    aiortc numbers a new m-line from its own defaults (VP8 97, RTX 98, Opus 96)
    while the member's m-lines keep the browser's numbers (Chrome: VP8 96, RTX
    97, Opus 111): one re-offer would then give 96 and 97 two codecs each. A
    codec the leg already uses keeps its number in new m-lines; any other keeps
    aiortc's number if free, else takes a dynamic payload type nobody uses yet.
    """

    def __init__(self, negotiated: Iterable[list[RTCRtpCodecParameters]]) -> None:
        self._meaning: dict[int, CodecKey] = {}
        self._chosen: dict[CodecKey, int] = {}
        for codecs in negotiated:
            for codec in codecs:
                apt = repaired_payload_type(codec) if is_rtx(codec) else None
                self._claim(codec_key(codec, apt), payload_type(codec))

    def renumber(self, codecs: list[RTCRtpCodecParameters]) -> list[RTCRtpCodecParameters]:
        """``codecs`` of a new m-line, with payload types (and RTX apt) made consistent."""
        numbers: dict[int, int] = {}
        for codec in codecs:
            if not is_rtx(codec):
                numbers[payload_type(codec)] = self._number(codec, codec_key(codec))
        out = []
        for codec in codecs:
            if not is_rtx(codec):
                out.append(replace(codec, payloadType=numbers[payload_type(codec)]))
                continue
            old_apt = repaired_payload_type(codec)
            apt = numbers.get(old_apt, old_apt) if old_apt is not None else None
            number = self._number(codec, codec_key(codec, apt))
            parameters = {**codec.parameters, "apt": apt} if apt is not None else codec.parameters
            out.append(replace(codec, payloadType=number, parameters=parameters))
        return out

    def _number(self, codec: RTCRtpCodecParameters, key: CodecKey) -> int:
        number = self._chosen.get(key)
        if number is not None:
            return number
        number = payload_type(codec)
        if self._meaning.get(number, key) != key and number in DYNAMIC_PAYLOAD_TYPES:
            number = next(n for n in DYNAMIC_PAYLOAD_TYPES if n not in self._meaning)
        self._claim(key, number)
        return number

    def _claim(self, key: CodecKey, number: int) -> None:
        self._meaning.setdefault(number, key)
        self._chosen.setdefault(key, number)
