"""Subscriber side: each leg's downlink bandwidth estimate, from its browser's REMB.

The relay's video m-lines offer ``goog-remb`` (aiortc's VP8 codec carries it) and
the abs-send-time header extension, so Chromium runs its receive-side estimator on
what the relay sends and reports it back as REMB (RTCP PSFB, FMT 15): one bitrate
for all the video it receives, listing the SSRCs it covers. aiortc does not offer
transport-cc (it has no send-side estimator), so REMB is the estimate there is.

aiortc routes a REMB to every sender whose SSRC it lists and, in
``RTCRtpSender._handle_rtcp_packet``, hands the bitrate to the sender's encoder,
which a relay slot does not have. The hook reads the bitrate there first.
"""

from __future__ import annotations

from collections.abc import Callable

from aiortc import RTCRtpSender
from aiortc.rtp import RTCP_PSFB_APP, AnyRtcpPacket, RtcpPsfbPacket, unpack_remb_fci

from server.media.relay.aiortc_hooks.names import SENDER_HANDLE_RTCP

REMB_FEEDBACK = "goog-remb"


def remb_bitrate(packet: AnyRtcpPacket) -> int | None:
    """The bitrate (bit/s) a REMB packet announces, or None for any other RTCP."""
    if not isinstance(packet, RtcpPsfbPacket) or packet.fmt != RTCP_PSFB_APP:
        return None
    try:
        bitrate, _ssrcs = unpack_remb_fci(packet.fci)
    except ValueError:  # another application-layer feedback, or a truncated one
        return None
    return bitrate


def observe_bandwidth_estimates(sender: RTCRtpSender, on_estimate: Callable[[int], None]) -> None:
    """Tell ``on_estimate`` every REMB bitrate the subscriber sends about ``sender``.

    One REMB covers all of a leg's video, so every video sender of the leg hears the
    same value; the caller keeps the latest. aiortc's handler still runs after it.
    """
    handle = getattr(sender, SENDER_HANDLE_RTCP)

    async def observe_then_handle(packet: AnyRtcpPacket) -> None:
        bitrate = remb_bitrate(packet)
        if bitrate is not None:
            on_estimate(bitrate)
        await handle(packet)

    setattr(sender, SENDER_HANDLE_RTCP, observe_then_handle)
