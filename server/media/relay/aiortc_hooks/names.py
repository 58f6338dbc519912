"""The private names the hooks use, the pinned versions, and the upgrade check's list."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aioice
import aiortc
import pylibsrtp
from aiortc import (
    RTCDtlsTransport,
    RTCIceTransport,
    RTCRtpReceiver,
    RTCRtpSender,
)
from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtcrtptransceiver import RTCRtpTransceiver
from aiortc.rtp import (
    RtpPacket,
)

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
SENDER_HANDLE_RTCP = "_handle_rtcp_packet"
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
# What SenderWire.sync_stats keeps up to date for aiortc's outbound stats.
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

PacketHandler = Callable[[RtpPacket], None]
RtpObserver = Callable[[RtpPacket, int], None]


class AiortcHookError(RuntimeError):
    """aiortc no longer looks the way these hooks expect."""


def check_aiortc_version() -> None:
    if aiortc.__version__ != PINNED_AIORTC_VERSION:
        raise AiortcHookError(
            f"server/media/relay/aiortc_hooks/ was written for aiortc {PINNED_AIORTC_VERSION}, "
            f"found {aiortc.__version__}: re-check every hook before changing the pin"
        )
    if pylibsrtp.__version__ != PINNED_PYLIBSRTP_VERSION:
        raise AiortcHookError(
            f"SenderWire was written for pylibsrtp {PINNED_PYLIBSRTP_VERSION}, "
            f"found {pylibsrtp.__version__}: re-check it before changing the pin"
        )


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
        "sender rtcp handler": (RTCRtpSender, SENDER_HANDLE_RTCP),
        "transceiver codecs": (RTCRtpTransceiver, TRANSCEIVER_CODECS),
        "transceiver header extensions": (RTCRtpTransceiver, TRANSCEIVER_HEADER_EXTENSIONS),
    }
