"""Publisher side: take media packets from aiortc's receivers without decoding."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any

import pylibsrtp
from aiortc import (
    RTCDtlsTransport,
    RTCRtpReceiver,
)
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtcrtpreceiver import StreamStatistics
from aiortc.rtp import (
    RtcpPacket,
    RtpPacket,
    unwrap_rtx,
)

from server.media.relay.aiortc_hooks.names import (
    DTLS_CONNECTED,
    ICE_CONNECTION,
    ICE_PROTOCOLS,
    RECEIVER_BITRATE_ESTIMATOR,
    RECEIVER_CODECS,
    RECEIVER_DECODER_QUEUE,
    RECEIVER_HANDLE_RTP,
    RECEIVER_JITTER_BUFFER,
    RECEIVER_NACK_GENERATOR,
    RECEIVER_REMOTE_STREAMS,
    RECEIVER_RTX_SSRC,
    RECEIVER_SEND_PLI,
    RECEIVER_STARTED,
    AiortcHookError,
    PacketHandler,
    RtpObserver,
)

logger = logging.getLogger(__name__)


class PacketPassThrough:
    """Stands in for the receiver's jitter buffer: hands on every packet, holds none.

    The relay's packet handler (or, with ``publisher_remb``, aiortc's own) calls
    ``add(packet)`` after it has counted the packet for receiver reports,
    unwrapped retransmissions (RTX) and generated NACKs for gaps; a jitter
    buffer would reassemble frames for a decoder. The relay
    forwards packet by packet instead, as SFUs do: no reassembly delay, and a
    packet lost upstream reaches subscribers when the publisher retransmits it.
    Answering ``(False, None)`` means "no PLI, no frame to decode".
    """

    def __init__(self, on_packet: PacketHandler) -> None:
        self._on_packet = on_packet
        self.packets_passed = 0

    def add(self, packet: RtpPacket) -> tuple[bool, None]:
        self.packets_passed += 1
        self._on_packet(packet)
        return False, None


class ReceiverTap:
    """What the relay put into one receiver: the pass-through and a decoder stand-in.

    The stand-in replaces the receiver's decoder queue (a ``queue.Queue``).
    ``get`` is what aiortc's decoder thread calls first: answering ``None``
    (aiortc's stop signal) makes the thread end at once, before it creates a
    decoder. ``worker_threads`` records that thread so tests can prove no
    decoder was ever created on it; ``put`` is never reached because the
    pass-through never completes a frame, and refuses loudly if it is.
    """

    def __init__(self, pass_through: PacketPassThrough) -> None:
        self.pass_through = pass_through
        self.worker_threads: list[threading.Thread] = []

    @property
    def packets_tapped(self) -> int:
        return self.pass_through.packets_passed

    def put(self, item: object) -> None:
        if item is None:  # aiortc stopping the (already ended) decoder thread
            return
        raise AiortcHookError("aiortc handed a frame to the decoder despite the pass-through")

    def get(self) -> None:
        self.worker_threads.append(threading.current_thread())
        return None


def tap_rtp_packets(
    receiver: RTCRtpReceiver,
    on_packet: PacketHandler,
    on_rtp: RtpObserver,
    *,
    remb: bool = False,
) -> ReceiverTap:
    """Make ``receiver`` hand every media packet to ``on_packet`` instead of decoding.

    Must be called before the receiver starts (``RTCRtpReceiver.receive``), that is
    between ``setRemoteDescription(offer)`` and the connection coming up.
    ``on_rtp(packet, media_ssrc)`` sees every RTP packet first, as it arrived
    (for RFC 6464 audio levels and the SSRC to send PLIs for); RTX packets
    report the SSRC of the stream they repair. ``on_packet`` sees media
    packets after aiortc's receiver statistics, RTX unwrapping and NACKs.
    Without ``remb`` that is ``_relay_packet_handler``, which does only that
    much of aiortc's ``_handle_rtp_packet``; with it, aiortc's own handler runs
    and its jitter buffer is the pass-through.

    Unless ``remb``, the video receiver's remote bitrate estimator is removed:
    aiortc then sends no REMB to the publisher (and skips the estimator's
    per-packet work). Its delay-based estimate, taken after the relay's event
    loop, mostly measures the relay's own scheduling delay under load, where it
    sends a REMB for almost every packet; see docs/relay.md for what publishers
    rely on instead. NACKs, PLIs and receiver reports are unaffected.
    """
    if getattr(receiver, RECEIVER_STARTED):
        raise AiortcHookError("the receiver already started its decoder thread")
    tap = ReceiverTap(PacketPassThrough(on_packet))
    setattr(receiver, RECEIVER_DECODER_QUEUE, tap)
    setattr(receiver, RECEIVER_JITTER_BUFFER, tap.pass_through)
    if not remb:
        setattr(receiver, RECEIVER_BITRATE_ESTIMATOR, None)

    rtx_to_media: dict[int, int] = getattr(receiver, RECEIVER_RTX_SSRC)
    handle_rtp_packet = getattr(receiver, RECEIVER_HANDLE_RTP)

    async def observe_then_handle(packet: RtpPacket, arrival_time_ms: int) -> None:
        on_rtp(packet, rtx_to_media.get(packet.ssrc, packet.ssrc))
        await handle_rtp_packet(packet, arrival_time_ms=arrival_time_ms)

    handler: Callable[[RtpPacket, int], Awaitable[None]] = observe_then_handle
    if not remb:
        handler = _relay_packet_handler(receiver, tap.pass_through, on_rtp)
    setattr(receiver, RECEIVER_HANDLE_RTP, handler)
    return tap


def _relay_packet_handler(
    receiver: RTCRtpReceiver, pass_through: PacketPassThrough, on_rtp: RtpObserver
) -> Callable[[RtpPacket, int], Awaitable[None]]:
    """What the relay needs of ``RTCRtpReceiver._handle_rtp_packet``, and no more.

    Kept, as aiortc does it: the enabled check, the payload type check, the
    statistics behind receiver reports and inbound stats, RTX unwrapping and
    NACKs for gaps. Left out, because only playout needs them: the depayload
    (a copy of every video payload), the jitter buffer, the decoder hand-off
    and the wall-clock note per packet behind ``getSynchronizationSources``.
    The upgrade test checks aiortc's handler still has the steps kept here.
    """
    state: Any = receiver
    rtx_to_media: dict[int, int] = getattr(receiver, RECEIVER_RTX_SSRC)
    remote_streams: dict[int, StreamStatistics] = getattr(receiver, RECEIVER_REMOTE_STREAMS)
    pass_on = pass_through.add
    unknown_rtx: set[int] = set()

    async def handle(packet: RtpPacket, arrival_time_ms: int) -> None:
        on_rtp(packet, rtx_to_media.get(packet.ssrc, packet.ssrc))
        if not state._enabled:
            return
        codecs: dict[int, RTCRtpCodecParameters] = getattr(state, RECEIVER_CODECS)
        codec = codecs.get(packet.payload_type)
        if codec is None:
            return
        stream = remote_streams.get(packet.ssrc)
        if stream is None:
            stream = remote_streams[packet.ssrc] = StreamStatistics(codec.clockRate)
        stream.add(packet)
        if codec.mimeType[-4:].lower() == "/rtx":
            original_ssrc = rtx_to_media.get(packet.ssrc)
            apt = codec.parameters.get("apt")
            if original_ssrc is None or len(packet.payload) < 2 or apt not in codecs:
                if original_ssrc is None and packet.ssrc not in unknown_rtx:
                    # Every repair from this publisher is lost: worth one line per stream.
                    unknown_rtx.add(packet.ssrc)
                    logger.warning("relay: retransmissions on an SSRC no m-line named")
                return
            packet = unwrap_rtx(packet, payload_type=apt, ssrc=original_ssrc)
        nack_generator = getattr(state, RECEIVER_NACK_GENERATOR)
        if nack_generator is not None and nack_generator.add(packet):
            await receiver._send_rtcp_nack(packet.ssrc, sorted(nack_generator.missing))
        pass_on(packet)

    return handle


def handle_media_on_arrival(dtls: RTCDtlsTransport) -> int:
    """Take SRTP media packets from the sockets under ``dtls`` as they arrive.

    aioice first tries to parse every datagram as STUN, then queues it; a task
    of the DTLS transport takes it off the queue in a later turn of the event
    loop, unprotects, parses and routes it. For the relay's media, that is one
    queue hand-off, one task wake-up and one loop iteration per packet before
    any forwarding starts. This hook does the same work in the socket's own
    callback: SRTP-unprotect (aiortc's session), parse, count, route to the
    receiver and run its ``_handle_rtp_packet`` at once; likewise for RTCP
    (receiver reports, NACKs, PLIs: ``_handle_rtcp_packet`` of each sender or
    receiver it concerns). Everything else (STUN, DTLS, media before DTLS is
    up) takes aioice's usual way.

    Call after the local description is set (aioice has gathered and opened
    its sockets then). Answers how many sockets it now watches.
    """
    connection = getattr(dtls.transport, ICE_CONNECTION)
    protocols: list[Any] = getattr(connection, ICE_PROTOCOLS)
    for protocol in protocols:
        if getattr(protocol, "_relay_fast_path", False):
            continue
        _take_media_on_arrival(protocol, dtls)
    return len(protocols)


def _take_media_on_arrival(protocol: Any, dtls: Any) -> None:
    deliver = protocol.datagram_received

    def datagram_received(data: bytes, addr: tuple[Any, ...]) -> None:
        # RFC 7983: 128-191 is RTP or RTCP; RTCP packet types are 192-223.
        if len(data) > 12 and 127 < data[0] < 192 and dtls._state is DTLS_CONNECTED:
            if 191 < data[1] < 224:
                _handle_rtcp_now(dtls, data)
            else:
                _handle_rtp_now(dtls, data)
        else:
            deliver(data, addr)

    protocol.datagram_received = datagram_received
    protocol._relay_fast_path = True


def _handle_rtp_now(dtls: Any, data: bytes) -> None:
    """What ``RTCDtlsTransport._recv_next`` and ``_handle_rtp_data`` do for one RTP packet."""
    try:
        plain = dtls._rx_srtp.unprotect(data)
    except pylibsrtp.Error:
        return  # as aiortc does: a packet that fails authentication is dropped
    dtls._RTCDtlsTransport__rx_bytes += len(data)
    dtls._RTCDtlsTransport__rx_packets += 1
    try:
        packet = RtpPacket.parse(plain, dtls._rtp_header_extensions_map)
    except ValueError:
        return
    router = dtls._rtp_router
    receiver = router.route_rtp(packet) or _route_unknown_ssrc(router, packet)
    if receiver is None:
        return
    arrival_time_ms = time.monotonic_ns() // 1_000_000  # only differences are used
    run_now(receiver._handle_rtp_packet(packet, arrival_time_ms=arrival_time_ms))


def _route_unknown_ssrc(router: Any, packet: RtpPacket) -> Any:
    """The receiver of a packet aiortc's router could not place, learned for next time.

    aiortc routes a new SSRC by payload type only while a single receiver has that
    type. A browser's relay leg has two video m-lines (camera and screen) with the
    same payload types, so the first retransmission (RTX, an SSRC no packet used
    before) was dropped, and with it every repair of the publisher's uplink loss:
    3 frames a second reached the others from a member on a 5 % lossy link. Placed
    here by the receiver whose m-line named that RTX SSRC (``a=ssrc-group:FID``),
    else by the MID header extension (RFC 8843's way to demultiplex a bundle).
    """
    receiver = None
    for candidate in router.receivers:
        if packet.ssrc in getattr(candidate, RECEIVER_RTX_SSRC):
            receiver = candidate
            break
    mid = packet.extensions.mid
    if receiver is None and mid is not None:
        receiver = router.mid_table.get(mid)
    if receiver is None or receiver not in router.payload_type_table.get(packet.payload_type, ()):
        return None
    router.ssrc_table[packet.ssrc] = receiver
    return receiver


def _handle_rtcp_now(dtls: Any, data: bytes) -> None:
    """What ``RTCDtlsTransport._recv_next`` and ``_handle_rtcp_data`` do for one RTCP packet."""
    try:
        plain = dtls._rx_srtp.unprotect_rtcp(data)
    except pylibsrtp.Error:
        return
    dtls._RTCDtlsTransport__rx_bytes += len(data)
    dtls._RTCDtlsTransport__rx_packets += 1
    try:
        packets = RtcpPacket.parse(plain)
    except ValueError:
        return
    for packet in packets:
        for recipient in dtls._rtp_router.route_rtcp(packet):
            run_now(recipient._handle_rtcp_packet(packet))


_continuations: set[asyncio.Task[None]] = set()


def run_now(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run ``coroutine`` synchronously; if it has to wait, a task finishes it.

    aiortc's packet handlers are coroutines but, for media, wait on nothing:
    the sends they may await (a NACK, a PLI) complete without suspending. So
    this costs no task and no loop turn, and stays correct if one ever waits.
    """
    try:
        awaited = coroutine.send(None)
    except StopIteration:
        return
    except Exception:
        logger.exception("relay: handling an incoming RTP packet failed")
        return
    task = asyncio.ensure_future(_finish(_Continuation(coroutine, awaited)))
    _continuations.add(task)
    task.add_done_callback(_continuations.discard)


async def _finish(continuation: _Continuation) -> None:
    try:
        await continuation
    except Exception:
        logger.exception("relay: handling an incoming RTP packet failed")


class _Continuation:
    """Resumes a coroutine that suspended while ``run_now`` was driving it."""

    def __init__(self, coroutine: Coroutine[Any, Any, None], awaited: Any) -> None:
        self._coroutine = coroutine
        self._awaited = awaited

    def __await__(self) -> Generator[Any, Any, None]:
        coroutine, awaited = self._coroutine, self._awaited
        while True:
            try:
                value = yield awaited
            except BaseException as exc:  # e.g. cancellation: the coroutine decides
                try:
                    awaited = coroutine.throw(exc)
                except StopIteration:
                    return
                continue
            try:
                awaited = coroutine.send(value)
            except StopIteration:
                return


async def send_picture_loss_indication(receiver: RTCRtpReceiver, media_ssrc: int) -> None:
    """Ask the publisher for a keyframe (RTCP PLI, RFC 4585 6.3.1)."""
    send_pli: Callable[[int], Awaitable[None]] = getattr(receiver, RECEIVER_SEND_PLI)
    await send_pli(media_ssrc)
