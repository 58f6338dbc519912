"""Every touch of aiortc internals that the relay needs, and nothing else.

The relay forwards encoded media, which aiortc does not offer as a public API.
Each function here names the private attribute or method it relies on
(``names``), and ``tests/relay/test_aiortc_hooks.py`` checks that they all
still exist, so an aiortc upgrade fails loudly in one place instead of
silently decoding media or dropping keyframe requests. aiortc is pinned to
``PINNED_AIORTC_VERSION``; pylibsrtp (aiortc's SRTP), whose C session
``SenderWire`` protects with directly, to ``PINNED_PYLIBSRTP_VERSION``.

* ``receive``: publishers' packets, from the socket to the relay, undecoded.
* ``send``: subscribers' packets and RTCP, straight into their transports.
* ``negotiation``: codec restriction and stable re-offers.
* ``remote_candidates``: members behind mDNS names, reached through their own checks.
* ``ports``: the relay's own sockets on a configured port range and public address.
* ``bandwidth``: each subscriber's downlink estimate, from its REMB feedback.
"""

from server.media.relay.aiortc_hooks.bandwidth import (
    REMB_FEEDBACK,
    observe_bandwidth_estimates,
    remb_bitrate,
)
from server.media.relay.aiortc_hooks.names import (
    ABS_SEND_TIME_URI,
    ASYNCIO_TRANSPORT_SOCKET,
    AUDIO_LEVEL_URI,
    BACKLOGGED,
    DTLS_COUNTERS,
    DTLS_RX_COUNTERS,
    DTLS_TX_SRTP,
    ICE_NOMINATED,
    ICE_PROTOCOLS,
    MID_URI,
    NOT_CONNECTED,
    NOT_SENDABLE,
    PINNED_AIORTC_VERSION,
    PINNED_PYLIBSRTP_VERSION,
    RECEIVER_BITRATE_ESTIMATOR,
    RECEIVER_CODECS,
    RECEIVER_DECODER_QUEUE,
    RECEIVER_JITTER_BUFFER,
    RECEIVER_STARTED,
    SENDER_REPORT_FIELDS,
    SENT,
    SRTP_SESSION,
    AiortcHookError,
    PacketHandler,
    RtpObserver,
    check_aiortc_version,
    hook_points,
)
from server.media.relay.aiortc_hooks.negotiation import (
    create_stable_offer,
    negotiated_header_extension_ids,
    restrict_codecs,
)
from server.media.relay.aiortc_hooks.ports import (
    PINNED_AIOICE_VERSION,
    HostCandidatePolicy,
    bind_host_candidates,
    check_aioice_version,
    host_sockets,
)
from server.media.relay.aiortc_hooks.receive import (
    PacketPassThrough,
    ReceiverTap,
    handle_media_on_arrival,
    run_now,
    send_picture_loss_indication,
    tap_rtp_packets,
)
from server.media.relay.aiortc_hooks.remote_candidates import (
    MDNS_RESOLVE_TIMEOUT,
    expect_peer_reflexive_candidates,
)
from server.media.relay.aiortc_hooks.send import (
    SenderWire,
    ntp_time_now,
    observe_receiver_reports,
    redirect_keyframe_requests,
    redirect_retransmissions,
    send_compound_reports,
    take_over_sender_reports,
)

__all__ = [
    "ABS_SEND_TIME_URI",
    "ASYNCIO_TRANSPORT_SOCKET",
    "AUDIO_LEVEL_URI",
    "BACKLOGGED",
    "DTLS_COUNTERS",
    "DTLS_RX_COUNTERS",
    "DTLS_TX_SRTP",
    "ICE_NOMINATED",
    "ICE_PROTOCOLS",
    "MDNS_RESOLVE_TIMEOUT",
    "MID_URI",
    "NOT_CONNECTED",
    "NOT_SENDABLE",
    "PINNED_AIOICE_VERSION",
    "PINNED_AIORTC_VERSION",
    "PINNED_PYLIBSRTP_VERSION",
    "RECEIVER_BITRATE_ESTIMATOR",
    "RECEIVER_CODECS",
    "RECEIVER_DECODER_QUEUE",
    "RECEIVER_JITTER_BUFFER",
    "RECEIVER_STARTED",
    "REMB_FEEDBACK",
    "SENDER_REPORT_FIELDS",
    "SENT",
    "SRTP_SESSION",
    "AiortcHookError",
    "HostCandidatePolicy",
    "PacketHandler",
    "PacketPassThrough",
    "ReceiverTap",
    "RtpObserver",
    "SenderWire",
    "bind_host_candidates",
    "check_aioice_version",
    "check_aiortc_version",
    "create_stable_offer",
    "expect_peer_reflexive_candidates",
    "handle_media_on_arrival",
    "hook_points",
    "host_sockets",
    "negotiated_header_extension_ids",
    "ntp_time_now",
    "observe_bandwidth_estimates",
    "observe_receiver_reports",
    "redirect_keyframe_requests",
    "redirect_retransmissions",
    "remb_bitrate",
    "restrict_codecs",
    "run_now",
    "send_compound_reports",
    "send_picture_loss_indication",
    "take_over_sender_reports",
    "tap_rtp_packets",
]
