"""Safari's offers replayed against the relay (issue 17): no Safari can run here.

The fixtures and where they come from: tests/fixtures/safari/README.md
(Safari 18: github.com/AlexxIT/Blog/issues/5 and
github.com/livekit/client-sdk-js/issues/1617; older Safari:
awslabs/amazon-kinesis-video-streams-webrtc-sdk-c, tst/SDP/offers/1v1a1d-safari-mac.txt).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc import sdp as aiortc_sdp
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

from server.media.relay import GroupRelay, aiortc_hooks
from server.media.relay.member_leg import FORWARDED_CODECS
from tests.relay.relay_members import MemberPages

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "safari"
MID = "urn:ietf:params:rtp-hdrext:sdes:mid"
AUDIO_LEVEL = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
ABS_SEND_TIME = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"


def safari_offer(name: str) -> str:
    """A fixture with the CRLF line endings a browser sends."""
    return (FIXTURES / name).read_text().replace("\n", "\r\n")


def sections(sdp: str) -> dict[str, aiortc_sdp.MediaDescription]:
    return {m.kind: m for m in aiortc_sdp.SessionDescription.parse(sdp).media}


def codecs(media: aiortc_sdp.MediaDescription) -> list[tuple[int, str]]:
    return [(c.payloadType, c.mimeType) for c in media.rtp.codecs]


def extension_ids(media: aiortc_sdp.MediaDescription) -> dict[str, int]:
    return {e.uri: e.id for e in media.rtp.headerExtensions}


@pytest.fixture
async def relay() -> AsyncIterator[GroupRelay]:
    relay = GroupRelay("room-safari", signals=MemberPages({}))
    yield relay
    await relay.close()


async def test_safari_18_prefers_h264_and_gets_vp8_and_opus_in_its_own_numbering(
    relay: GroupRelay,
) -> None:
    offer = safari_offer("safari18_macos_offer.sdp")
    offered = sections(offer)
    # What Safari asks for: H.264 first (four profiles), VP8 only sixth; Opus with RED.
    assert [mime for _, mime in codecs(offered["video"])][:5] == ["video/H264", "video/rtx"] * 2 + [
        "video/H264"
    ]
    assert (106, "video/VP8") in codecs(offered["video"])
    assert codecs(offered["audio"])[:2] == [(111, "audio/opus"), (63, "audio/red")]
    assert any(c.ip.endswith(".local") for c in offered["audio"].ice_candidates)

    loop = asyncio.get_running_loop()
    started = loop.time()
    answer = await relay.join("safari", offer)
    took = loop.time() - started

    answered = sections(answer)
    assert codecs(answered["video"]) == [(106, "video/VP8"), (107, "video/rtx")]
    assert codecs(answered["audio"]) == [(111, "audio/opus")]
    assert answered["video"].direction == answered["audio"].direction == "recvonly"
    # Safari's extension ids, shared under BUNDLE: mid 9 in both, audio level 14.
    assert extension_ids(answered["video"]) == {ABS_SEND_TIME: 2, MID: 9}
    assert extension_ids(answered["audio"]) == {AUDIO_LEVEL: 14, MID: 9}
    # The relay lists its own candidates and did not wait on Safari's mDNS name.
    assert answered["video"].ice_candidates
    assert took < aiortc_hooks.MDNS_RESOLVE_TIMEOUT / 2, took


async def test_older_safari_that_only_receives_video_is_answered_in_its_numbering(
    relay: GroupRelay,
) -> None:
    answer = await relay.join("safari", safari_offer("safari_macos_kvs_offer.sdp"))

    answered = sections(answer)
    assert codecs(answered["video"]) == [(100, "video/VP8"), (101, "video/rtx")]
    assert answered["video"].direction == "inactive"  # it offered to receive only
    assert codecs(answered["audio"]) == [(111, "audio/opus")]
    assert extension_ids(answered["audio"]) == {AUDIO_LEVEL: 1, MID: 4}


async def test_a_safari_offer_without_vp8_is_refused_with_the_reason(relay: GroupRelay) -> None:
    # iOS Safari before 12.2 offered H.264 only: the relay forwards one codec per kind
    # to every subscriber (VP8), so it cannot take such a publisher.
    without_vp8 = "".join(
        line
        for line in safari_offer("safari18_macos_offer.sdp").splitlines(keepends=True)
        if not line.startswith(("a=rtpmap:106 ", "a=rtcp-fb:106 ", "a=fmtp:107 "))
    ).replace(" 105 106 107 108", " 105 108")

    with pytest.raises(ValueError, match="the offer does not allow video/VP8"):
        await relay.join("safari", without_vp8)
    assert "safari" not in relay.member_ids()


async def test_relay_re_offers_to_safari_keep_its_numbering_and_never_reuse_a_payload_type() -> (
    None
):
    """Later relay offers (new slots) keep Safari's numbers; BUNDLE forbids one PT, two codecs."""
    relay_side = RTCPeerConnection()
    try:
        offer = safari_offer("safari18_macos_offer.sdp")
        await relay_side.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        for transceiver in relay_side.getTransceivers():
            aiortc_hooks.restrict_codecs(transceiver, FORWARDED_CODECS[transceiver.kind])
        await relay_side.setLocalDescription(await relay_side.createAnswer())
        ids = aiortc_hooks.negotiated_header_extension_ids(relay_side)
        for kind, track in (("video", VideoStreamTrack()), ("audio", AudioStreamTrack())):
            slot = relay_side.addTransceiver(track, direction="sendonly")
            slot.setCodecPreferences(  # as MemberLeg does for a slot: VP8 or Opus, and RTX
                [
                    c
                    for c in RTCRtpSender.getCapabilities(kind).codecs
                    if c.mimeType.lower() in (FORWARDED_CODECS[kind].lower(), f"{kind}/rtx")
                ]
            )

        re_offer = await aiortc_hooks.create_stable_offer(relay_side, ids)

        media = list(aiortc_sdp.SessionDescription.parse(re_offer.sdp).media)
        assert [m.kind for m in media] == ["video", "audio", "video", "audio"]
        assert codecs(media[0]) == [(106, "video/VP8"), (107, "video/rtx")]
        assert codecs(media[1]) == [(111, "audio/opus")]
        for section in media:
            assert extension_ids(section)[MID] == 9
        assert extension_ids(media[3])[AUDIO_LEVEL] == 14
        meaning: dict[int, str] = {}
        for section in media:
            for payload_type, mime in codecs(section):
                assert meaning.setdefault(payload_type, mime) == mime, (payload_type, mime)
        await relay_side.setLocalDescription(re_offer)  # aiortc takes its rewritten offer
    finally:
        await relay_side.close()
