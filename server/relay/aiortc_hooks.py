"""Every touch of aiortc internals that the relay needs, and nothing else.

The relay forwards encoded media, which aiortc does not offer as a public API.
Each function here names the private attribute or method it relies on, and
``tests/relay/test_aiortc_hooks.py`` checks that they all still exist, so an
aiortc upgrade fails loudly in one place instead of silently decoding media
or dropping keyframe requests. aiortc is pinned to ``PINNED_AIORTC_VERSION``.
"""

from __future__ import annotations

import fractions
import threading
import time
import types
from collections.abc import Awaitable, Callable
from typing import Any

import aiortc
import aiortc.rtcrtpsender
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender, RTCSessionDescription
from aiortc import clock as aiortc_clock
from aiortc import sdp as aiortc_sdp
from aiortc.codecs import is_rtx
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpHeaderExtensionParameters
from aiortc.rtcrtptransceiver import RTCRtpTransceiver
from aiortc.rtp import RtpPacket

PINNED_AIORTC_VERSION = "1.16.0"

# Name-mangled attributes of RTCRtpReceiver that the hooks read or replace.
RECEIVER_DECODER_QUEUE = "_RTCRtpReceiver__decoder_queue"
RECEIVER_JITTER_BUFFER = "_RTCRtpReceiver__jitter_buffer"
RECEIVER_BITRATE_ESTIMATOR = "_RTCRtpReceiver__remote_bitrate_estimator"
RECEIVER_RTX_SSRC = "_RTCRtpReceiver__rtx_ssrc"
RECEIVER_STARTED = "_RTCRtpReceiver__started"
# Single-underscore methods and attributes the hooks call or replace.
RECEIVER_HANDLE_RTP = "_handle_rtp_packet"
RECEIVER_SEND_PLI = "_send_rtcp_pli"
SENDER_SEND_KEYFRAME = "_send_keyframe"
TRANSCEIVER_CODECS = "_codecs"
TRANSCEIVER_HEADER_EXTENSIONS = "_headerExtensions"
# aiortc.rtcrtpsender does ``from . import clock`` and calls ``clock.current_ntp_time()``.
SENDER_MODULE_CLOCK = "clock"
NTP_UNIX_EPOCH_OFFSET = 2_208_988_800  # seconds from 1900-01-01 to 1970-01-01

# aiortc's audio receiver holds 4 frames (80 ms) before decoding, to smooth
# playout. A relay does no playout, so it hands on each frame at once.
RELAY_AUDIO_JITTER_CAPACITY = 16

EncodedFrameHandler = Callable[[JitterFrame], None]
RtpObserver = Callable[[RtpPacket, int], None]


class AiortcHookError(RuntimeError):
    """aiortc no longer looks the way these hooks expect."""


def check_aiortc_version() -> None:
    if aiortc.__version__ != PINNED_AIORTC_VERSION:
        raise AiortcHookError(
            f"server/relay/aiortc_hooks.py was written for aiortc {PINNED_AIORTC_VERSION}, "
            f"found {aiortc.__version__}: re-check every hook before changing the pin"
        )


def ntp_time_now() -> int:
    """What ``aiortc.clock.current_ntp_time()`` returns, without building datetimes.

    NTP 32.32 fixed point at microsecond resolution, as aiortc computes it. aiortc's
    sender calls it twice per RTP packet (abs-send-time, sender report), and its
    datetime arithmetic was ~5 % of the relay's CPU.
    """
    seconds, nanoseconds = divmod(time.time_ns(), 1_000_000_000)
    fraction = ((nanoseconds // 1_000) << 32) // 1_000_000
    return ((seconds + NTP_UNIX_EPOCH_OFFSET) << 32) | fraction


def use_fast_sender_clock() -> None:
    """Give ``aiortc.rtcrtpsender`` a clock whose ``current_ntp_time`` is ``ntp_time_now``.

    Process-wide and idempotent; every other clock function the sender module
    uses is aiortc's own (the hook test checks the sender needs no other).
    """
    sender_clock = types.SimpleNamespace(
        current_datetime=aiortc_clock.current_datetime, current_ntp_time=ntp_time_now
    )
    setattr(aiortc.rtcrtpsender, SENDER_MODULE_CLOCK, sender_clock)


class PrepackedPacket:
    """An encoded frame for aiortc's sender to packetize, lighter than an ``av.Packet``.

    ``RTCRtpSender._next_encoded_frame`` hands whatever ``track.recv()`` returns
    that is not an ``av.Frame`` to ``Encoder.pack``, and aiortc's VP8 and Opus
    ``pack`` read only ``bytes(packet)``, ``packet.pts`` and ``packet.time_base``.
    An ``av.Packet`` would cost an allocation and a copy of the frame per
    subscriber (and a new ``Fraction`` each time ``time_base`` is read); this
    hands the publisher's bytes object itself to the packetizer.
    """

    __slots__ = ("data", "pts", "time_base")

    def __init__(self, data: bytes, pts: int, time_base: fractions.Fraction) -> None:
        self.data = data
        self.pts = pts
        self.time_base = time_base

    def __bytes__(self) -> bytes:
        return self.data

    def __len__(self) -> int:
        return len(self.data)


class EncodedFrameTap:
    """Stands in for the receiver's decoder queue (a ``queue.Queue``).

    aiortc puts ``(codec, JitterFrame)`` on that queue for its decoder thread.
    ``put`` hands the encoded frame to the relay instead, on the event loop
    thread. ``get`` is what the decoder thread calls first: answering ``None``
    (aiortc's stop signal) makes the thread end at once, before it creates a
    decoder. ``worker_threads`` records that thread so tests can prove no
    decoder was ever created on it.
    """

    def __init__(self, on_frame: EncodedFrameHandler) -> None:
        self._on_frame = on_frame
        self.worker_threads: list[threading.Thread] = []
        self.frames_tapped = 0

    def put(self, item: tuple[RTCRtpCodecParameters, JitterFrame] | None) -> None:
        if item is None:  # aiortc stopping the (already ended) decoder thread
            return
        _codec, frame = item
        self.frames_tapped += 1
        self._on_frame(frame)

    def get(self) -> None:
        self.worker_threads.append(threading.current_thread())
        return None


def tap_encoded_frames(
    receiver: RTCRtpReceiver,
    kind: str,
    on_frame: EncodedFrameHandler,
    on_rtp: RtpObserver,
    *,
    remb: bool = False,
) -> EncodedFrameTap:
    """Make ``receiver`` hand complete encoded frames to ``on_frame`` instead of decoding.

    Must be called before the receiver starts (``RTCRtpReceiver.receive``), that is
    between ``setRemoteDescription(offer)`` and the connection coming up.
    ``on_rtp(packet, media_ssrc)`` sees every RTP packet first (for RFC 6464
    audio levels and the SSRC to send PLIs for); RTX packets report the SSRC of
    the stream they repair.

    Unless ``remb``, the video receiver's remote bitrate estimator is removed:
    aiortc then sends no REMB to the publisher (and skips the estimator's
    per-packet work). Its delay-based estimate, taken after the relay's event
    loop, mostly measures the relay's own scheduling delay under load, where it
    sends a REMB for almost every packet; see docs/relay.md for what publishers
    rely on instead. NACKs, PLIs and receiver reports are unaffected.
    """
    if getattr(receiver, RECEIVER_STARTED):
        raise AiortcHookError("the receiver already started its decoder thread")
    tap = EncodedFrameTap(on_frame)
    setattr(receiver, RECEIVER_DECODER_QUEUE, tap)
    if kind == "audio":
        setattr(receiver, RECEIVER_JITTER_BUFFER, JitterBuffer(RELAY_AUDIO_JITTER_CAPACITY))
    if not remb:
        setattr(receiver, RECEIVER_BITRATE_ESTIMATOR, None)

    rtx_to_media: dict[int, int] = getattr(receiver, RECEIVER_RTX_SSRC)
    handle_rtp_packet = getattr(receiver, RECEIVER_HANDLE_RTP)

    async def observe_then_handle(packet: RtpPacket, arrival_time_ms: int) -> None:
        on_rtp(packet, rtx_to_media.get(packet.ssrc, packet.ssrc))
        await handle_rtp_packet(packet, arrival_time_ms=arrival_time_ms)

    setattr(receiver, RECEIVER_HANDLE_RTP, observe_then_handle)
    return tap


async def send_picture_loss_indication(receiver: RTCRtpReceiver, media_ssrc: int) -> None:
    """Ask the publisher for a keyframe (RTCP PLI, RFC 4585 6.3.1)."""
    send_pli: Callable[[int], Awaitable[None]] = getattr(receiver, RECEIVER_SEND_PLI)
    await send_pli(media_ssrc)


def redirect_keyframe_requests(sender: RTCRtpSender, on_request: Callable[[], None]) -> None:
    """Route a subscriber's PLI/FIR on ``sender`` to the relay.

    aiortc's sender answers PLI/FIR by forcing its own encoder to make a
    keyframe; a relay has no encoder, so the request must reach the publisher.
    """
    setattr(sender, SENDER_SEND_KEYFRAME, on_request)


def restrict_codecs(transceiver: RTCRtpTransceiver, mime_type: str) -> None:
    """Keep only ``mime_type`` (and its RTX) in what a transceiver negotiated.

    Called after ``setRemoteDescription(offer)`` and before ``createAnswer``:
    the relay can only forward a codec that every subscriber also receives, so
    publishers must send VP8 and Opus even if their offer prefers another codec.
    """
    codecs: list[RTCRtpCodecParameters] = getattr(transceiver, TRANSCEIVER_CODECS)
    kept = [c for c in codecs if c.mimeType.lower() == mime_type.lower()][:1]
    if not kept:
        raise ValueError(f"the offer does not allow {mime_type}")
    kept_payload_types = {c.payloadType for c in kept}
    kept += [c for c in codecs if is_rtx(c) and c.parameters.get("apt") in kept_payload_types]
    setattr(transceiver, TRANSCEIVER_CODECS, kept)


def negotiated_header_extension_ids(pc: RTCPeerConnection) -> dict[str, int]:
    """URI -> id of every RTP header extension negotiated on ``pc`` so far."""
    ids: dict[str, int] = {}
    for transceiver in pc.getTransceivers():
        extensions: list[RTCRtpHeaderExtensionParameters] = getattr(
            transceiver, TRANSCEIVER_HEADER_EXTENSIONS
        )
        for extension in extensions:
            ids.setdefault(extension.uri, extension.id)
    return ids


async def create_stable_offer(
    pc: RTCPeerConnection, extension_ids: dict[str, int]
) -> RTCSessionDescription:
    """``pc.createOffer()`` that keeps what earlier negotiations settled.

    aiortc's ``createOffer`` re-offers every m-line with its own default payload
    types and header extension ids. For m-lines the member's browser offered
    first those differ from what the browser sends with, and a browser would
    switch to them while aiortc's running receiver still expects the old ones
    (it reads codecs only once, when it starts); under BUNDLE, extension ids
    must also agree across m-lines. So: restore the negotiated codecs of every
    m-line that has a mid, and map every extension to the id the leg already uses.
    """
    negotiated: dict[str, list[RTCRtpCodecParameters]] = {
        t.mid: list(getattr(t, TRANSCEIVER_CODECS))
        for t in pc.getTransceivers()
        if t.mid is not None and getattr(t, TRANSCEIVER_CODECS)
    }
    offer = await pc.createOffer()
    description = aiortc_sdp.SessionDescription.parse(offer.sdp)
    description.type = "offer"
    by_mid = {t.mid: t for t in pc.getTransceivers()}
    for media in description.media:
        mid = media.rtp.muxId
        transceiver = by_mid.get(mid)
        if media.kind not in ("audio", "video"):
            continue
        if mid in negotiated:
            media.rtp.codecs = negotiated[mid]
            media.fmt = [c.payloadType for c in negotiated[mid]]
            if transceiver is not None:
                setattr(transceiver, TRANSCEIVER_CODECS, negotiated[mid])
        remapped = [
            RTCRtpHeaderExtensionParameters(id=_extension_id(extension_ids, e.uri), uri=e.uri)
            for e in media.rtp.headerExtensions
        ]
        media.rtp.headerExtensions = remapped
        if transceiver is not None:
            setattr(transceiver, TRANSCEIVER_HEADER_EXTENSIONS, remapped)
    return RTCSessionDescription(sdp=str(description), type="offer")


def _extension_id(extension_ids: dict[str, int], uri: str) -> int:
    if uri not in extension_ids:
        used = set(extension_ids.values())
        extension_ids[uri] = next(i for i in range(1, 15) if i not in used)
    return extension_ids[uri]


def hook_points() -> dict[str, tuple[type[Any], str]]:
    """Every private attribute or method the hooks rely on, for the upgrade test."""
    return {
        "receiver decoder queue": (RTCRtpReceiver, RECEIVER_DECODER_QUEUE),
        "receiver jitter buffer": (RTCRtpReceiver, RECEIVER_JITTER_BUFFER),
        "receiver bitrate estimator": (RTCRtpReceiver, RECEIVER_BITRATE_ESTIMATOR),
        "receiver rtx ssrc map": (RTCRtpReceiver, RECEIVER_RTX_SSRC),
        "receiver started flag": (RTCRtpReceiver, RECEIVER_STARTED),
        "receiver rtp handler": (RTCRtpReceiver, RECEIVER_HANDLE_RTP),
        "receiver pli": (RTCRtpReceiver, RECEIVER_SEND_PLI),
        "sender keyframe": (RTCRtpSender, SENDER_SEND_KEYFRAME),
        "transceiver codecs": (RTCRtpTransceiver, TRANSCEIVER_CODECS),
        "transceiver header extensions": (RTCRtpTransceiver, TRANSCEIVER_HEADER_EXTENSIONS),
    }
