"""Fails loudly when an aiortc upgrade moves anything the relay's hooks rely on."""

from __future__ import annotations

import inspect
import queue

import aiortc
import aiortc.rtcrtpreceiver
import pytest
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender, RTCSessionDescription
from aiortc import sdp as aiortc_sdp
from aiortc.codecs.base import Encoder
from aiortc.jitterbuffer import JitterBuffer
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

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
    assert "self._send_keyframe()" in inspect.getsource(RTCRtpSender._handle_rtcp_packet)
    assert hasattr(Encoder, "pack")


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
