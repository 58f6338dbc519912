"""Fails loudly when an aiortc upgrade moves anything the relay's hooks rely on."""

from __future__ import annotations

import fractions
import inspect
import queue
import re

import aiortc
import aiortc.clock
import aiortc.rtcrtpreceiver
import aiortc.rtcrtpsender
import av
import pytest
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender, RTCSessionDescription
from aiortc import sdp as aiortc_sdp
from aiortc.codecs.base import Encoder
from aiortc.codecs.opus import OpusEncoder
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.jitterbuffer import JitterBuffer
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack
from aiortc.rate import RemoteBitrateEstimator

from server.relay import aiortc_hooks
from tests.relay.relay_members import PatternTrack, ToneTrack


def test_aiortc_is_the_pinned_version() -> None:
    assert aiortc.__version__ == aiortc_hooks.PINNED_AIORTC_VERSION
    aiortc_hooks.check_aiortc_version()


async def test_every_private_attribute_the_hooks_use_exists() -> None:
    pc = RTCPeerConnection()
    try:
        transceiver = pc.addTransceiver("video")
        owners = {
            RTCRtpReceiver: transceiver.receiver,
            RTCRtpSender: transceiver.sender,
            type(transceiver): transceiver,
        }
        for name, (owner, attribute) in aiortc_hooks.hook_points().items():
            assert hasattr(owners[owner], attribute), f"{name}: {attribute} is gone"
        receiver = transceiver.receiver
        assert isinstance(getattr(receiver, aiortc_hooks.RECEIVER_DECODER_QUEUE), queue.Queue)
        assert isinstance(getattr(receiver, aiortc_hooks.RECEIVER_JITTER_BUFFER), JitterBuffer)
        assert getattr(receiver, aiortc_hooks.RECEIVER_STARTED) is False
        estimator = getattr(receiver, aiortc_hooks.RECEIVER_BITRATE_ESTIMATOR)
        assert isinstance(estimator, RemoteBitrateEstimator)
    finally:
        await pc.close()


def test_method_signatures_the_hooks_call_or_replace() -> None:
    def parameters(function: object) -> list[str]:
        return list(inspect.signature(function).parameters)  # type: ignore[arg-type]

    assert parameters(RTCRtpReceiver._handle_rtp_packet) == ["self", "packet", "arrival_time_ms"]
    assert parameters(RTCRtpReceiver._send_rtcp_pli) == ["self", "media_ssrc"]
    assert parameters(RTCRtpSender._send_keyframe) == ["self"]
    assert parameters(JitterBuffer.__init__) == ["self", "capacity", "prefetch", "is_video"]
    # The decoder thread reads its queue with get() and the receiver feeds it with put().
    assert parameters(aiortc.rtcrtpreceiver.decoder_worker) == [
        "loop",
        "input_q",
        "output_q",
        "decode_error",
    ]
    source = inspect.getsource(aiortc.rtcrtpreceiver.decoder_worker)
    assert "input_q.get()" in source and "if task is None" in source
    assert "get_decoder" in source
    receiver_source = inspect.getsource(RTCRtpReceiver._handle_rtp_packet)
    assert "self.__decoder_queue.put((codec, encoded_frame))" in receiver_source
    # The sender packs pre-encoded packets instead of encoding them.
    sender_source = inspect.getsource(RTCRtpSender._next_encoded_frame)
    assert "self.__encoder.pack(data)" in sender_source
    assert "if isinstance(data, Frame):" in sender_source  # anything else is packed
    # Removing the estimator is how REMB is turned off; the receiver checks for None.
    assert "if self.__remote_bitrate_estimator is not None:" in receiver_source
    assert "remb = self.__remote_bitrate_estimator.add(" in receiver_source
    assert "self._send_keyframe()" in inspect.getsource(RTCRtpSender._handle_rtcp_packet)
    assert hasattr(Encoder, "pack")


def test_fast_sender_clock_agrees_with_aiortcs_and_covers_what_the_sender_uses() -> None:
    sender_source = inspect.getsource(aiortc.rtcrtpsender)
    assert "from . import clock" in sender_source
    assert "clock.current_ntp_time()" in inspect.getsource(RTCRtpSender._run_rtp)
    used = set(re.findall(r"\bclock\.(\w+)\(", sender_source))
    aiortc_hooks.use_fast_sender_clock()
    sender_clock = getattr(aiortc.rtcrtpsender, aiortc_hooks.SENDER_MODULE_CLOCK)
    assert used and all(hasattr(sender_clock, name) for name in used), used
    for _ in range(100):
        before = aiortc.clock.current_ntp_time()
        ours = aiortc_hooks.ntp_time_now()
        after = aiortc.clock.current_ntp_time()
        slack = 1 << 22  # ~1 ms, for datetime's rounding of the same instant
        assert before - slack <= ours <= after + slack
    assert sender_clock.current_ntp_time is aiortc_hooks.ntp_time_now


@pytest.mark.parametrize(
    ("encoder", "clock_rate", "data"),
    [(Vp8Encoder, 90_000, bytes(range(256)) * 20), (OpusEncoder, 48_000, b"\xfc\xff\xfe")],
)
def test_prepacked_packets_pack_exactly_like_av_packets(
    encoder: type[Encoder], clock_rate: int, data: bytes
) -> None:
    """aiortc's pack() reads only bytes(), pts and time_base, so both give the same RTP payloads."""
    for name in ("bytes(packet)", "packet.pts", "packet.time_base"):
        assert name in inspect.getsource(encoder.pack), f"{encoder.__name__}.pack: {name}"
    time_base = fractions.Fraction(1, clock_rate)
    reference = av.Packet(data)
    reference.pts, reference.time_base = 123_456, time_base
    prepacked = aiortc_hooks.PrepackedPacket(data, 123_456, time_base)
    ours, theirs = encoder(), encoder()
    if isinstance(ours, Vp8Encoder) and isinstance(theirs, Vp8Encoder):
        theirs.picture_id = ours.picture_id  # random per encoder
    assert ours.pack(prepacked) == theirs.pack(reference)  # type: ignore[arg-type]


async def test_tap_removes_the_bitrate_estimator_unless_remb_is_wanted() -> None:
    pc = RTCPeerConnection()
    try:
        tapped = pc.addTransceiver("video").receiver
        aiortc_hooks.tap_encoded_frames(tapped, "video", lambda f: None, lambda p, s: None)
        assert getattr(tapped, aiortc_hooks.RECEIVER_BITRATE_ESTIMATOR) is None
        kept = pc.addTransceiver("video").receiver
        aiortc_hooks.tap_encoded_frames(kept, "video", lambda f: None, lambda p, s: None, remb=True)
        estimator = getattr(kept, aiortc_hooks.RECEIVER_BITRATE_ESTIMATOR)
        assert isinstance(estimator, RemoteBitrateEstimator)
    finally:
        await pc.close()


async def test_stable_offer_keeps_the_payload_types_and_extension_ids_a_browser_chose() -> None:
    """A browser-like offer (other payload types, other extension ids) survives re-offers."""
    member = RTCPeerConnection()
    relay_side = RTCPeerConnection()
    try:
        member.addTrack(ToneTrack())
        member.addTrack(PatternTrack())
        await member.setLocalDescription(await member.createOffer())
        browser_like = _as_a_browser_would_number_it(member.localDescription.sdp)
        await relay_side.setRemoteDescription(RTCSessionDescription(sdp=browser_like, type="offer"))
        await relay_side.setLocalDescription(await relay_side.createAnswer())
        ids = aiortc_hooks.negotiated_header_extension_ids(relay_side)
        relay_side.addTransceiver(VideoStreamTrack(), direction="sendonly")
        relay_side.addTransceiver(AudioStreamTrack(), direction="sendonly")

        offer = await aiortc_hooks.create_stable_offer(relay_side, ids)

        plain = await relay_side.createOffer()
        assert "a=rtpmap:96 opus/48000/2" in plain.sdp  # what aiortc alone would offer
        media = offer.sdp.split("\r\nm=")
        assert "a=rtpmap:111 opus/48000/2" in media[1]
        assert "a=rtpmap:96 opus" not in media[1]
        for section in media[1:]:
            assert "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid" in section
        assert "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level" in media[1]
        await relay_side.setLocalDescription(offer)  # aiortc accepts its own rewritten offer
    finally:
        await member.close()
        await relay_side.close()


async def test_tap_refuses_a_receiver_that_already_started() -> None:
    pc = RTCPeerConnection()
    try:
        receiver = pc.addTransceiver("audio").receiver
        setattr(receiver, aiortc_hooks.RECEIVER_STARTED, True)
        with pytest.raises(aiortc_hooks.AiortcHookError):
            aiortc_hooks.tap_encoded_frames(receiver, "audio", lambda f: None, lambda p, s: None)
        setattr(receiver, aiortc_hooks.RECEIVER_STARTED, False)
    finally:
        await pc.close()


def _as_a_browser_would_number_it(offer_sdp: str) -> str:
    """Chrome numbers Opus 111 and puts ssrc-audio-level at id 1, sdes:mid at id 4."""
    description = aiortc_sdp.SessionDescription.parse(offer_sdp)
    description.type = "offer"
    new_ids = {
        "urn:ietf:params:rtp-hdrext:ssrc-audio-level": 1,
        "urn:ietf:params:rtp-hdrext:sdes:mid": 4,
    }
    for media in description.media:
        for codec in media.rtp.codecs:
            if codec.mimeType.lower() == "audio/opus":
                codec.payloadType = 111
        media.fmt = [c.payloadType for c in media.rtp.codecs]
        for extension in media.rtp.headerExtensions:
            extension.id = new_ids.get(extension.uri, extension.id)
    return str(description)
