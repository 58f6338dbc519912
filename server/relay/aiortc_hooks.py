"""Every touch of aiortc internals that the relay needs, and nothing else.

The relay forwards encoded media, which aiortc does not offer as a public API.
Each function here names the private attribute or method it relies on, and
``tests/relay/test_aiortc_hooks.py`` checks that they all still exist, so an
aiortc upgrade fails loudly in one place instead of silently decoding media
or dropping keyframe requests. aiortc is pinned to ``PINNED_AIORTC_VERSION``;
pylibsrtp (aiortc's SRTP), whose C session ``SenderWire`` protects with
directly, to ``PINNED_PYLIBSRTP_VERSION``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Generator
from struct import Struct, pack, pack_into
from typing import Any

import aioice
import aiortc
import pylibsrtp
from aiortc import (
    RTCDtlsTransport,
    RTCIceTransport,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc import sdp as aiortc_sdp
from aiortc.codecs import is_rtx
from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpHeaderExtensionParameters
from aiortc.rtcrtpreceiver import StreamStatistics
from aiortc.rtcrtptransceiver import RTCRtpTransceiver
from aiortc.rtp import (
    RtcpByePacket,
    RtcpPacket,
    RtcpSdesPacket,
    RtcpSenderInfo,
    RtcpSourceInfo,
    RtcpSrPacket,
    RtpPacket,
    unwrap_rtx,
)
from pylibsrtp._binding import ffi
from pylibsrtp._binding import lib as srtp_lib

from server.relay.relayed_packet import RelayedPacket

logger = logging.getLogger(__name__)

PINNED_AIORTC_VERSION = "1.16.0"

# Name-mangled attributes of RTCRtpReceiver that the hooks read or replace.
RECEIVER_DECODER_QUEUE = "_RTCRtpReceiver__decoder_queue"
RECEIVER_JITTER_BUFFER = "_RTCRtpReceiver__jitter_buffer"
RECEIVER_BITRATE_ESTIMATOR = "_RTCRtpReceiver__remote_bitrate_estimator"
RECEIVER_RTX_SSRC = "_RTCRtpReceiver__rtx_ssrc"
RECEIVER_STARTED = "_RTCRtpReceiver__started"
RECEIVER_CODECS = "_RTCRtpReceiver__codecs"
RECEIVER_REMOTE_STREAMS = "_RTCRtpReceiver__remote_streams"
RECEIVER_NACK_GENERATOR = "_RTCRtpReceiver__nack_generator"
# Single-underscore methods and attributes the hooks call or replace.
RECEIVER_HANDLE_RTP = "_handle_rtp_packet"
RECEIVER_SEND_PLI = "_send_rtcp_pli"
SENDER_SEND_KEYFRAME = "_send_keyframe"
TRANSCEIVER_CODECS = "_codecs"
TRANSCEIVER_HEADER_EXTENSIONS = "_headerExtensions"
SENDER_RETRANSMIT = "_retransmit"
# The per-sender RTCP loop the relay replaces (take_over_sender_reports), the
# events aiortc's stop() waits on, and what its RTT estimate reads.
SENDER_RUN_RTCP = "_run_rtcp"
SENDER_RTCP_STARTED = "_RTCRtpSender__rtcp_started"
SENDER_RTCP_EXITED = "_RTCRtpSender__rtcp_exited"
SENDER_LAST_REPORT = ("_RTCRtpSender__lsr", "_RTCRtpSender__lsr_time")
SENDER_CNAME = "_RTCRtpSender__cname"
REPORTS_PER_COMPOUND = 8  # 8 SRs (28 bytes) and SDES chunks: ~600 bytes
SENDER_SSRC = "_ssrc"
SENDER_RTX_SSRC = "_rtx_ssrc"
# What SenderWire keeps up to date for aiortc's sender reports and stats; it
# writes them by these names directly, on its per-packet path.
SENDER_REPORT_FIELDS = (
    "_RTCRtpSender__packet_count",
    "_RTCRtpSender__octet_count",
    "_RTCRtpSender__rtp_timestamp",
    "_RTCRtpSender__ntp_timestamp",
)
DTLS_COUNTERS = ("_RTCDtlsTransport__tx_bytes", "_RTCDtlsTransport__tx_packets")
# The path from a sender's DTLS transport to the selected pair's UDP socket.
DTLS_STATE = "_state"
DTLS_TX_SRTP = "_tx_srtp"
ICE_CONNECTION = "_connection"
ICE_NOMINATED = "_nominated"
ICE_PROTOCOLS = "_protocols"
# What handle_media_on_arrival uses of the DTLS transport, as _recv_next does.
DTLS_RX_SRTP = "_rx_srtp"
DTLS_RTP_ROUTER = "_rtp_router"
DTLS_HEADER_EXTENSIONS = "_rtp_header_extensions_map"
DTLS_RX_COUNTERS = ("_RTCDtlsTransport__rx_bytes", "_RTCDtlsTransport__rx_packets")
DTLS_CONNECTED = DtlsState.CONNECTED
# asyncio's selector datagram transport keeps its socket here (uvloop's has none).
ASYNCIO_TRANSPORT_SOCKET = "_sock"
# pylibsrtp.Session's C session pointer (SenderWire protects with it directly).
SRTP_SESSION = "_srtp"
PINNED_PYLIBSRTP_VERSION = "1.0.0"
NTP_UNIX_EPOCH_OFFSET = 2_208_988_800  # seconds from 1900-01-01 to 1970-01-01

MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
AUDIO_LEVEL_URI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"

# SenderWire.send answers. NOT_SENDABLE: too long for SRTP, or libsrtp refused it.
SENT, NOT_CONNECTED, BACKLOGGED, NOT_SENDABLE = 0, 1, 2, 3
# Bytes asyncio may hold for a subscriber's socket before the relay drops packets
# instead: UDP only backs up when the kernel refuses more, and queued media goes stale.
SEND_BACKLOG_LIMIT = 256 * 1024

PacketHandler = Callable[[RtpPacket], None]
RtpObserver = Callable[[RtpPacket, int], None]


class AiortcHookError(RuntimeError):
    """aiortc no longer looks the way these hooks expect."""


def check_aiortc_version() -> None:
    if aiortc.__version__ != PINNED_AIORTC_VERSION:
        raise AiortcHookError(
            f"server/relay/aiortc_hooks.py was written for aiortc {PINNED_AIORTC_VERSION}, "
            f"found {aiortc.__version__}: re-check every hook before changing the pin"
        )
    if pylibsrtp.__version__ != PINNED_PYLIBSRTP_VERSION:
        raise AiortcHookError(
            f"SenderWire was written for pylibsrtp {PINNED_PYLIBSRTP_VERSION}, "
            f"found {pylibsrtp.__version__}: re-check it before changing the pin"
        )


def ntp_time_now() -> int:
    """What ``aiortc.clock.current_ntp_time()`` returns, without building datetimes.

    NTP 32.32 fixed point at microsecond resolution, as aiortc computes it; the
    relay needs it once per packet (abs-send-time, sender report), where aiortc's
    datetime arithmetic would cost ~5 % of the relay's CPU.
    """
    seconds, nanoseconds = divmod(time.time_ns(), 1_000_000_000)
    fraction = ((nanoseconds // 1_000) << 32) // 1_000_000
    return ((seconds + NTP_UNIX_EPOCH_OFFSET) << 32) | fraction


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


class SenderWire:
    """Sends one subscriber slot's RTP straight into its DTLS/ICE transport.

    aiortc's sender pulls a frame from its track, packetizes it, builds an
    ``RtpPacket``, serializes it and sends it through four coroutines, per
    packet and per subscriber: that path cost the relay most of its CPU. The
    wire keeps the slot's RTP header in its own C buffer, writes the fields
    that change with one ``struct`` call, copies the payload after it,
    protects it in place with libsrtp under the transport's SRTP session and
    hands it to the selected ICE pair's UDP socket, synchronously.

    Built once the sender has started (its parameters are then fixed): the
    payload type, RTX, SSRCs and header extension ids are the ones it
    negotiated. The header carries the slot's mid and, when negotiated, one
    per-packet extension: the publisher's RFC 6464 audio level for audio,
    abs-send-time for video (aiortc negotiates exactly these).

    What aiortc's sender reports (RTCP sender reports, outbound stats) and the
    DTLS transport's byte counts are brought up to date by ``sync_stats``,
    called a few times a second, not per packet.
    """

    def __init__(self, sender: RTCRtpSender, transceiver: RTCRtpTransceiver) -> None:
        codecs: list[RTCRtpCodecParameters] = getattr(transceiver, TRANSCEIVER_CODECS)
        payload_type = codecs[0].payloadType if codecs else None
        if payload_type is None:
            raise AiortcHookError("the sender started without a negotiated payload type")
        self.payload_type: int = payload_type
        self.rtx_payload_type = next(
            (
                c.payloadType
                for c in codecs
                if is_rtx(c) and c.parameters.get("apt") == self.payload_type
            ),
            None,
        )
        self.ssrc: int = getattr(sender, SENDER_SSRC)
        self.rtx_ssrc: int = getattr(sender, SENDER_RTX_SSRC)
        self._sender: Any = sender
        self._dtls: Any = sender.transport
        self._rtx_sequence_number = random.randrange(1 << 16)
        extensions: list[RTCRtpHeaderExtensionParameters] = getattr(
            transceiver, TRANSCEIVER_HEADER_EXTENSIONS
        )
        self._template, self._dynamic, self._dynamic_head = _header_template(
            transceiver.kind, transceiver.mid, {e.uri: e.id for e in extensions}
        )
        self.header_length = len(self._template)
        self._extension_words = (self.header_length - 16) // 4
        # The fixed header, the extension block's first word and the per-packet element.
        self._header_struct = (
            _HEADER_WITH_LONG if self._dynamic == _ABS_SEND_TIME else _HEADER_WITH_WORD
        )
        # Set when the route opens (the first send once DTLS is up).
        self._send_datagram: Callable[[Any, Any], Any] | None = None
        self._address: Any = None
        self._session: pylibsrtp.Session | None = None
        self._srtp: Any = None
        self._cdata: Any = None
        self._buffer: Any = None
        self._view: memoryview | None = None
        self._length: Any = None
        self._capacity = 0
        self._srtp_overhead = 0
        self._reported = (0, 0)  # packets and octets already added to the DTLS counters

    def send(self, sequence_number: int, timestamp: int, packet: RelayedPacket) -> int:
        """Send one media packet; answers SENT, NOT_CONNECTED, BACKLOGGED or NOT_SENDABLE.

        The relay's hottest code: once per packet per subscriber.
        """
        send_datagram = self._send_datagram or self._open_route()
        if send_datagram is None:
            return NOT_CONNECTED
        payload = packet.payload
        header_length = self.header_length
        length = header_length + len(payload)
        if length > self._capacity:
            return NOT_SENDABLE
        buffer = self._buffer
        first = (packet.marker << 7) | self.payload_type
        dynamic = self._dynamic
        if dynamic:
            value = packet.audio_level if dynamic == _AUDIO_LEVEL else packet.abs_send_time
            self._header_struct.pack_into(
                buffer, 1, first, sequence_number, timestamp, self.ssrc,
                0xBEDE, self._extension_words, self._dynamic_head | value,
            )  # fmt: skip
        else:
            _HEADER.pack_into(buffer, 1, first, sequence_number, timestamp, self.ssrc)
        buffer[header_length:length] = payload
        length_out = self._length
        length_out[0] = length
        if srtp_lib.srtp_protect(self._srtp, self._cdata, length_out):
            return NOT_SENDABLE
        protected_length = length_out[0]
        if self._srtp_overhead < 0:
            self._srtp_overhead = protected_length - length
        try:
            send_datagram(self._view[:protected_length], self._address)  # type: ignore[index]
        except BlockingIOError:  # the kernel's send buffer is full: drop, as UDP would
            return BACKLOGGED
        except OSError:  # the transport closed under us
            self._send_datagram = None
            return NOT_CONNECTED
        return SENT

    def retransmit(self, sequence_number: int, timestamp: int, packet: RelayedPacket) -> int:
        """Resend a packet a subscriber reported lost (NACK), in RTX if it was negotiated."""
        rtx_payload_type = self.rtx_payload_type
        if rtx_payload_type is None:
            return self.send(sequence_number, timestamp, packet)
        if self._send_datagram is None or self._session is None:
            return NOT_CONNECTED
        rtx_sequence_number = self._rtx_sequence_number
        self._rtx_sequence_number = (rtx_sequence_number + 1) & 0xFFFF
        header = bytearray(self._template)
        pack_into(
            "!BHII", header, 1, (packet.marker << 7) | rtx_payload_type,
            rtx_sequence_number, timestamp, self.rtx_ssrc,
        )  # fmt: skip
        if self._dynamic == _AUDIO_LEVEL:
            pack_into("!H", header, 16, self._dynamic_head | packet.audio_level)
        elif self._dynamic == _ABS_SEND_TIME:
            pack_into("!I", header, 16, self._dynamic_head | packet.abs_send_time)
        rtx = bytes(header) + pack("!H", sequence_number) + packet.payload
        try:
            protected = self._session.protect(rtx)
            self._send_datagram(protected, self._address)
        except (pylibsrtp.Error, ValueError, OSError):
            return NOT_SENDABLE
        return SENT

    def sync_stats(self, packets: int, octets: int, rtp_timestamp: int, ntp_time: int) -> None:
        """Bring aiortc's sender and DTLS counters up to what this wire has sent.

        ``rtp_timestamp`` and ``ntp_time`` belong to the same packet: the sender
        report maps one to the other (RFC 3550 6.4.1).
        """
        sender, dtls = self._sender, self._dtls
        sender._RTCRtpSender__packet_count = packets
        sender._RTCRtpSender__octet_count = octets
        sender._RTCRtpSender__rtp_timestamp = rtp_timestamp
        sender._RTCRtpSender__ntp_timestamp = ntp_time
        reported_packets, reported_octets = self._reported
        new_packets = packets - reported_packets
        dtls._RTCDtlsTransport__tx_packets += new_packets
        dtls._RTCDtlsTransport__tx_bytes += (octets - reported_octets) + new_packets * (
            self.header_length + max(0, self._srtp_overhead)
        )
        self._reported = (packets, octets)

    def sender_report(
        self, packets: int, octets: int, rtp_timestamp: int, ntp_time: int
    ) -> tuple[RtcpSrPacket, RtcpSourceInfo]:
        """This slot's RTCP sender report and SDES chunk, as aiortc's sender would make them.

        Also brings aiortc's counters up to date (``sync_stats``) and notes when
        the report went out, which aiortc's sender uses to work out the
        round-trip time from the subscriber's receiver reports.
        """
        self.sync_stats(packets, octets, rtp_timestamp, ntp_time)
        sender = self._sender
        sender._RTCRtpSender__lsr = (ntp_time >> 16) & 0xFFFFFFFF
        sender._RTCRtpSender__lsr_time = time.time()
        report = RtcpSrPacket(
            ssrc=self.ssrc,
            sender_info=RtcpSenderInfo(
                ntp_timestamp=ntp_time,
                rtp_timestamp=rtp_timestamp,
                packet_count=packets & 0xFFFFFFFF,
                octet_count=octets & 0xFFFFFFFF,
            ),
        )
        cname: str = getattr(sender, SENDER_CNAME) or ""
        return report, RtcpSourceInfo(ssrc=self.ssrc, items=[(1, cname.encode("utf8"))])

    async def send_rtcp(self, payload: bytes) -> None:
        """Send RTCP on this slot's transport (aiortc protects and sends it)."""
        with contextlib.suppress(ConnectionError):
            await self._dtls._send_rtp(payload)

    def _open_route(self) -> Callable[[Any, Any], Any] | None:
        """Find the SRTP session, socket and address, once DTLS is up.

        aioice nominates one pair per connection and keeps it; when the
        connection closes, sending fails and the wire looks again.
        """
        dtls = self._dtls
        if dtls._state is not DTLS_CONNECTED:
            return None
        pair = getattr(getattr(dtls.transport, ICE_CONNECTION), ICE_NOMINATED).get(1)
        transport = pair.protocol.transport if pair is not None else None
        if transport is None:
            return None
        raw_socket = getattr(transport, ASYNCIO_TRANSPORT_SOCKET, None)
        # asyncio's own transport.sendto would wrap each send in Python checks and
        # copy the datagram; another event loop's transport is used as it is.
        self._send_datagram = raw_socket.sendto if raw_socket is not None else transport.sendto
        self._address = pair.remote_addr
        session: pylibsrtp.Session = getattr(dtls, DTLS_TX_SRTP)
        self._session = session  # keeps the C session alive
        self._srtp = getattr(session, SRTP_SESSION)[0]
        # The slot's own packet buffer: its header's constant part stays in place
        # (SRTP leaves the header in clear), so each send writes only what changes.
        self._cdata = ffi.new("char[]", SRTP_BUFFER_BYTES)
        self._buffer = ffi.buffer(self._cdata)
        self._buffer[0 : self.header_length] = self._template
        self._view = memoryview(self._buffer)
        self._length = ffi.new("int *")
        self._capacity = SRTP_BUFFER_BYTES - pylibsrtp.SRTP_MAX_TRAILER_LEN
        self._srtp_overhead = -1  # the tag's length: learnt from the first packet protected
        return self._send_datagram


# Which per-packet header extension a wire writes (SenderWire._dynamic).
_NO_DYNAMIC, _AUDIO_LEVEL, _ABS_SEND_TIME = 0, 1, 2
_HEADER = Struct("!BHII")  # marker|pt, sequence number, timestamp, SSRC: bytes 1-11
_HEADER_WITH_WORD = Struct("!BHIIHHH")  # ... then 0xBEDE, length, a 2-byte element
_HEADER_WITH_LONG = Struct("!BHIIHHI")  # ... then 0xBEDE, length, a 4-byte element
# aiortc takes in SRTP datagrams of at most 1500 bytes, so a payload is under
# 1500; with the slot's own header and libsrtp's largest trailer it fits here.
SRTP_BUFFER_BYTES = 2048


def _header_template(kind: str, mid: str | None, ids: dict[str, int]) -> tuple[bytearray, int, int]:
    """The slot's RTP header (RFC 8285 one-byte extensions) and its per-packet element.

    The per-packet element comes first, right after the 0xBEDE word, so one
    struct call writes it with the fixed header: the audio level (2 bytes) for
    audio, abs-send-time (4 bytes) for video. Then the constant mid, then padding.
    """
    elements = bytearray()
    dynamic, head = _NO_DYNAMIC, 0
    if kind == "audio" and AUDIO_LEVEL_URI in ids:
        dynamic, head = _AUDIO_LEVEL, (ids[AUDIO_LEVEL_URI] << 4) << 8
        elements += pack("!H", head | 0x7F)
    elif kind == "video" and ABS_SEND_TIME_URI in ids:
        dynamic, head = _ABS_SEND_TIME, ((ids[ABS_SEND_TIME_URI] << 4) | 2) << 24
        elements += pack("!I", head)
    encoded_mid = (mid or "").encode("ascii")
    if MID_URI in ids and 0 < len(encoded_mid) <= 16:
        elements += bytes([(ids[MID_URI] << 4) | (len(encoded_mid) - 1)]) + encoded_mid
    elements += bytes(-len(elements) % 4)
    if not elements:
        return bytearray(pack("!BBHII", 0x80, 0, 0, 0, 0)), _NO_DYNAMIC, 0
    header = pack("!BBHII", 0x90, 0, 0, 0, 0) + pack("!HH", 0xBEDE, len(elements) // 4)
    return bytearray(header + elements), dynamic, head


def take_over_sender_reports(sender: RTCRtpSender) -> None:
    """Keep aiortc's sender from sending RTCP sender reports; the relay sends them per leg.

    aiortc runs one RTCP loop per sender, waking every 0.5-1.5 s to send an SR
    and an SDES on its own; a relay leg has a sender per other member and kind.
    Replaced before the sender starts, the loop only waits; when the sender
    stops it still says goodbye (RTCP BYE) as aiortc's does. The relay's
    ticker sends the leg's reports as a few compound packets
    (``send_compound_reports``).
    """

    async def wait_then_say_goodbye() -> None:
        getattr(sender, SENDER_RTCP_STARTED).set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.get_running_loop().create_future()  # until the sender stops
        try:
            ssrc: int = getattr(sender, SENDER_SSRC)
            await sender._send_rtcp([RtcpByePacket(sources=[ssrc])])
        finally:
            getattr(sender, SENDER_RTCP_EXITED).set()

    setattr(sender, SENDER_RUN_RTCP, wait_then_say_goodbye)


async def send_compound_reports(
    send_rtcp: Callable[[bytes], Awaitable[None]],
    reports: list[tuple[RtcpSrPacket, RtcpSourceInfo]],
) -> None:
    """Send sender reports as compound RTCP packets (RFC 3550 6.1) of a few slots each.

    Each compound carries the SRs then one SDES with every CNAME chunk, and
    stays well under a packet's size (``REPORTS_PER_COMPOUND``).
    """
    for start in range(0, len(reports), REPORTS_PER_COMPOUND):
        batch = reports[start : start + REPORTS_PER_COMPOUND]
        compound = b"".join(bytes(report) for report, _ in batch)
        compound += bytes(RtcpSdesPacket(chunks=[chunk for _, chunk in batch]))
        await send_rtcp(compound)


def redirect_retransmissions(
    sender: RTCRtpSender, retransmit: Callable[[int], Awaitable[None]]
) -> None:
    """Route a subscriber's NACKs on ``sender`` to the relay.

    aiortc's sender answers a NACK from the history of packets it sent itself;
    the relay's packets bypass that history (``SenderWire``), so it answers
    from its own.
    """
    setattr(sender, SENDER_RETRANSMIT, retransmit)


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
    receiver = dtls._rtp_router.route_rtp(packet)
    if receiver is None:
        return
    arrival_time_ms = time.monotonic_ns() // 1_000_000  # only differences are used
    run_now(receiver._handle_rtp_packet(packet, arrival_time_ms=arrival_time_ms))


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
    """Every private attribute or method the hooks rely on, for the upgrade test.

    The DTLS transport's SRTP session (``_tx_srtp``) exists only once DTLS is
    up; the upgrade test checks it on a connected pair.
    """
    return {
        "sender retransmit": (RTCRtpSender, SENDER_RETRANSMIT),
        "sender rtcp loop": (RTCRtpSender, SENDER_RUN_RTCP),
        "sender rtcp started": (RTCRtpSender, SENDER_RTCP_STARTED),
        "sender rtcp exited": (RTCRtpSender, SENDER_RTCP_EXITED),
        "sender cname": (RTCRtpSender, SENDER_CNAME),
        **{f"sender {name}": (RTCRtpSender, name) for name in SENDER_LAST_REPORT},
        "sender ssrc": (RTCRtpSender, SENDER_SSRC),
        "sender rtx ssrc": (RTCRtpSender, SENDER_RTX_SSRC),
        **{f"sender report {name}": (RTCRtpSender, name) for name in SENDER_REPORT_FIELDS},
        **{f"dtls counter {name}": (RTCDtlsTransport, name) for name in DTLS_COUNTERS},
        **{f"dtls counter {name}": (RTCDtlsTransport, name) for name in DTLS_RX_COUNTERS},
        "dtls rtp router": (RTCDtlsTransport, DTLS_RTP_ROUTER),
        "dtls header extensions": (RTCDtlsTransport, DTLS_HEADER_EXTENSIONS),
        "ice protocols": (aioice.Connection, ICE_PROTOCOLS),
        "dtls state": (RTCDtlsTransport, DTLS_STATE),
        "ice connection": (RTCIceTransport, ICE_CONNECTION),
        "ice nominated pairs": (aioice.Connection, ICE_NOMINATED),
        "receiver decoder queue": (RTCRtpReceiver, RECEIVER_DECODER_QUEUE),
        "receiver jitter buffer": (RTCRtpReceiver, RECEIVER_JITTER_BUFFER),
        "receiver bitrate estimator": (RTCRtpReceiver, RECEIVER_BITRATE_ESTIMATOR),
        "receiver rtx ssrc map": (RTCRtpReceiver, RECEIVER_RTX_SSRC),
        "receiver started flag": (RTCRtpReceiver, RECEIVER_STARTED),
        "receiver codecs": (RTCRtpReceiver, RECEIVER_CODECS),
        "receiver stream statistics": (RTCRtpReceiver, RECEIVER_REMOTE_STREAMS),
        "receiver nack generator": (RTCRtpReceiver, RECEIVER_NACK_GENERATOR),
        "receiver rtp handler": (RTCRtpReceiver, RECEIVER_HANDLE_RTP),
        "receiver pli": (RTCRtpReceiver, RECEIVER_SEND_PLI),
        "sender keyframe": (RTCRtpSender, SENDER_SEND_KEYFRAME),
        "transceiver codecs": (RTCRtpTransceiver, TRANSCEIVER_CODECS),
        "transceiver header extensions": (RTCRtpTransceiver, TRANSCEIVER_HEADER_EXTENSIONS),
    }
