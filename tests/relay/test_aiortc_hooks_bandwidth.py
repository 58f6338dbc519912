"""The REMB hook (aiortc_hooks.bandwidth): what of aiortc it relies on, and what it reads."""

from __future__ import annotations

import inspect

from aiortc import RTCRtpSender
from aiortc.codecs import CODECS
from aiortc.rtcdtlstransport import RtpRouter
from aiortc.rtp import RTCP_PSFB_APP, RTCP_PSFB_PLI, RtcpPsfbPacket, pack_remb_fci

from server.media.relay import aiortc_hooks


def test_aiortc_offers_remb_on_vp8_and_routes_it_to_the_senders_it_names() -> None:
    """Browsers send REMB only where the relay's SDP offers goog-remb; aiortc routes
    a REMB (media SSRC 0) to every sender listed in its FCI, and the sender's handler
    is where the hook stands."""
    vp8 = next(c for c in CODECS["video"] if c.mimeType == "video/VP8")
    assert aiortc_hooks.REMB_FEEDBACK in {f.type for f in vp8.rtcpFeedback}
    route_source = inspect.getsource(RtpRouter.route_rtcp)
    assert "for ssrc in rtp.unpack_remb_fci(packet.fci)[1]:" in route_source
    handler = inspect.getsource(RTCRtpSender._handle_rtcp_packet)
    assert "bitrate, ssrcs = unpack_remb_fci(packet.fci)" in handler
    assert list(inspect.signature(RTCRtpSender._handle_rtcp_packet).parameters) == [
        "self",
        "packet",
    ]


def test_remb_bitrate_reads_remb_and_nothing_else() -> None:
    remb = RtcpPsfbPacket(
        fmt=RTCP_PSFB_APP, ssrc=1, media_ssrc=0, fci=pack_remb_fci(250_000, [7, 8])
    )
    # REMB's mantissa has 18 bits: 250 kbit/s is exact, larger values round down.
    assert aiortc_hooks.remb_bitrate(remb) == 250_000
    other_app = RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=1, media_ssrc=0, fci=b"ABCDefgh")
    assert aiortc_hooks.remb_bitrate(other_app) is None
    pli = RtcpPsfbPacket(fmt=RTCP_PSFB_PLI, ssrc=1, media_ssrc=7)
    assert aiortc_hooks.remb_bitrate(pli) is None


async def test_the_hook_sees_remb_before_aiortcs_handler() -> None:
    seen: list[object] = []
    estimates: list[int] = []

    class Sender:
        async def _handle_rtcp_packet(self, packet: object) -> None:
            seen.append(packet)

    sender = Sender()
    aiortc_hooks.observe_bandwidth_estimates(sender, estimates.append)  # type: ignore[arg-type]
    remb = RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=1, media_ssrc=0, fci=pack_remb_fci(96_000, [7]))
    await sender._handle_rtcp_packet(remb)
    assert estimates == [96_000]
    assert seen == [remb]
