"""Subscriber side: send each slot's packets and RTCP straight into its transport."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable
from struct import Struct, pack, pack_into
from typing import Any

import pylibsrtp
from aiortc import (
    RTCRtpSender,
)
from aiortc.codecs import is_rtx
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpHeaderExtensionParameters
from aiortc.rtcrtptransceiver import RTCRtpTransceiver
from aiortc.rtp import (
    AnyRtcpPacket,
    RtcpByePacket,
    RtcpRrPacket,
    RtcpSdesPacket,
    RtcpSenderInfo,
    RtcpSourceInfo,
    RtcpSrPacket,
)
from pylibsrtp._binding import ffi
from pylibsrtp._binding import lib as srtp_lib

from server.media.relay.aiortc_hooks.names import (
    ABS_SEND_TIME_URI,
    ASYNCIO_TRANSPORT_SOCKET,
    AUDIO_LEVEL_URI,
    BACKLOGGED,
    DTLS_CONNECTED,
    DTLS_TX_SRTP,
    ICE_CONNECTION,
    ICE_NOMINATED,
    MID_URI,
    NOT_CONNECTED,
    NOT_SENDABLE,
    NTP_UNIX_EPOCH_OFFSET,
    REPORTS_PER_COMPOUND,
    SENDER_CNAME,
    SENDER_HANDLE_RTCP,
    SENDER_RETRANSMIT,
    SENDER_RTCP_EXITED,
    SENDER_RTCP_STARTED,
    SENDER_RTX_SSRC,
    SENDER_RUN_RTCP,
    SENDER_SEND_KEYFRAME,
    SENDER_SSRC,
    SENT,
    SRTP_SESSION,
    TRANSCEIVER_CODECS,
    TRANSCEIVER_HEADER_EXTENSIONS,
    AiortcHookError,
)
from server.media.relay.relayed_packet import RelayedPacket


def ntp_time_now() -> int:
    """What ``aiortc.clock.current_ntp_time()`` returns, without building datetimes.

    NTP 32.32 fixed point at microsecond resolution, as aiortc computes it; the
    relay needs it once per packet (abs-send-time, sender report), where aiortc's
    datetime arithmetic would cost ~5 % of the relay's CPU.
    """
    seconds, nanoseconds = divmod(time.time_ns(), 1_000_000_000)
    fraction = ((nanoseconds // 1_000) << 32) // 1_000_000
    return ((seconds + NTP_UNIX_EPOCH_OFFSET) << 32) | fraction


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


def redirect_keyframe_requests(sender: RTCRtpSender, on_request: Callable[[], None]) -> None:
    """Route a subscriber's PLI/FIR on ``sender`` to the relay.

    aiortc's sender answers PLI/FIR by forcing its own encoder to make a
    keyframe; a relay has no encoder, so the request must reach the publisher.
    """
    setattr(sender, SENDER_SEND_KEYFRAME, on_request)


def observe_receiver_reports(sender: RTCRtpSender, on_report: Callable[[int, int], None]) -> None:
    """Tell ``on_report`` what a subscriber reports of the sender's stream: the extended
    highest sequence number received and the cumulative number of packets lost (RFC
    3550 6.4.1).

    RTCP receiver reports are the subscriber's own word on what arrives: the relay
    compares them with what it owes the subscriber (``MediaCompleteness``) and reads
    its downlink's loss from them as they come (last-N). aiortc's handler still runs
    (RTT, stats, NACK, PLI).
    """
    handle = getattr(sender, SENDER_HANDLE_RTCP)

    async def observe_then_handle(packet: AnyRtcpPacket) -> None:
        if isinstance(packet, RtcpRrPacket | RtcpSrPacket):
            ssrc = getattr(sender, SENDER_SSRC)
            for report in packet.reports:
                if report.ssrc == ssrc:
                    on_report(report.highest_sequence, report.packets_lost)
        await handle(packet)

    setattr(sender, SENDER_HANDLE_RTCP, observe_then_handle)
