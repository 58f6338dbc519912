"""Fails loudly when an aiortc upgrade moves anything the relay's hooks rely on."""

from __future__ import annotations

import asyncio
import asyncio.selector_events
import inspect
import queue

import aioice
import aioice.ice
import aioice.mdns
import aiortc
import aiortc.clock
import aiortc.rtcdtlstransport
import aiortc.rtcpeerconnection
import aiortc.rtcrtpreceiver
import pylibsrtp
import pytest
from aiortc import (
    RTCDtlsTransport,
    RTCIceTransport,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc import sdp as aiortc_sdp
from aiortc.jitterbuffer import JitterBuffer
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack
from aiortc.rate import RemoteBitrateEstimator
from aiortc.rtcdtlstransport import RtpRouter

from server.media.relay import aiortc_hooks
from tests.relay.mdns_sdp import hide_host_addresses
from tests.relay.relay_members import PatternTrack, ToneTrack


def test_aiortc_and_pylibsrtp_are_the_pinned_versions() -> None:
    assert aiortc.__version__ == aiortc_hooks.PINNED_AIORTC_VERSION
    assert pylibsrtp.__version__ == aiortc_hooks.PINNED_PYLIBSRTP_VERSION
    aiortc_hooks.check_aiortc_version()


async def test_every_private_attribute_the_hooks_use_exists() -> None:
    pc = RTCPeerConnection()
    try:
        transceiver = pc.addTransceiver("video")
        dtls = transceiver.sender.transport
        owners = {
            RTCRtpReceiver: transceiver.receiver,
            RTCRtpSender: transceiver.sender,
            type(transceiver): transceiver,
            RTCDtlsTransport: dtls,
            RTCIceTransport: dtls.transport,
            aioice.Connection: dtls.transport._connection,
        }
        for name, (owner, attribute) in aiortc_hooks.hook_points().items():
            assert hasattr(owners[owner], attribute), f"{name}: {attribute} is gone"
        receiver = transceiver.receiver
        assert isinstance(getattr(receiver, aiortc_hooks.RECEIVER_DECODER_QUEUE), queue.Queue)
        assert isinstance(getattr(receiver, aiortc_hooks.RECEIVER_JITTER_BUFFER), JitterBuffer)
        assert getattr(receiver, aiortc_hooks.RECEIVER_STARTED) is False
        estimator = getattr(receiver, aiortc_hooks.RECEIVER_BITRATE_ESTIMATOR)
        assert isinstance(estimator, RemoteBitrateEstimator)
        assert isinstance(getattr(dtls.transport._connection, aiortc_hooks.ICE_NOMINATED), dict)
    finally:
        await pc.close()


def test_the_srtp_session_and_socket_the_wire_writes_to() -> None:
    # The DTLS transport creates its SRTP sessions only once DTLS is up.
    setup = inspect.getsource(RTCDtlsTransport._setup_srtp)
    assert f"self.{aiortc_hooks.DTLS_TX_SRTP} = Session(" in setup
    assert "allow_repeat_tx = True" in setup  # retransmissions may reuse an index
    # SenderWire protects in its own buffer with libsrtp under the session's C pointer.
    assert hasattr(pylibsrtp.Session(), aiortc_hooks.SRTP_SESSION)
    assert "func(self._srtp[0], self._cdata, len_p)" in inspect.getsource(pylibsrtp.Session)
    # aioice sends on the nominated pair's asyncio transport, which holds its socket.
    assert "active_pair.protocol.send_data(data, active_pair.remote_addr)" in inspect.getsource(
        aioice.Connection.sendto
    )
    assert "self.transport.sendto(data, addr)" in inspect.getsource(
        aioice.ice.StunProtocol.send_data
    )
    selector_transport = inspect.getsource(asyncio.selector_events._SelectorDatagramTransport)
    assert f"self.{aiortc_hooks.ASYNCIO_TRANSPORT_SOCKET}.sendto(data, addr)" in selector_transport


def test_method_signatures_the_hooks_call_or_replace() -> None:
    def parameters(function: object) -> list[str]:
        return list(inspect.signature(function).parameters)  # type: ignore[arg-type]

    assert parameters(RTCRtpReceiver._handle_rtp_packet) == ["self", "packet", "arrival_time_ms"]
    assert parameters(RTCRtpReceiver._send_rtcp_pli) == ["self", "media_ssrc"]
    assert parameters(RTCRtpSender._send_keyframe) == ["self"]
    assert parameters(RTCRtpSender._retransmit) == ["self", "sequence_number"]
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
    # The pass-through stands where the jitter buffer is asked for a frame.
    assert "pli_flag, encoded_frame = self.__jitter_buffer.add(packet)" in receiver_source
    assert "if encoded_frame is not None and self.__decoder_thread:" in receiver_source
    assert receiver_source.index("unwrap_rtx(") < receiver_source.index("__jitter_buffer.add(")
    assert receiver_source.index("__nack_generator") < receiver_source.index("__jitter_buffer.add(")
    # What the relay's own packet handler keeps of aiortc's, in the same order.
    kept = [
        "if not self._enabled:",
        "codec = self.__codecs.get(packet.payload_type)",
        "self.__remote_streams[packet.ssrc] = StreamStatistics(codec.clockRate)",
        "self.__remote_streams[packet.ssrc].add(packet)",
        "if is_rtx(codec):",
        "packet = unwrap_rtx(packet, payload_type=apt, ssrc=original_ssrc)",
        "if self.__nack_generator is not None and self.__nack_generator.add(packet):",
        "await self._send_rtcp_nack(",
    ]
    positions = [receiver_source.index(line) for line in kept]
    assert positions == sorted(positions)
    assert parameters(RTCRtpReceiver._send_rtcp_nack) == ["self", "media_ssrc", "lost"]
    # Removing the estimator is how REMB is turned off; the receiver checks for None.
    assert "if self.__remote_bitrate_estimator is not None:" in receiver_source
    assert "remb = self.__remote_bitrate_estimator.add(" in receiver_source
    rtcp_source = inspect.getsource(RTCRtpSender._handle_rtcp_packet)
    # observe_receiver_reports wraps the handler on the instance, read per packet.
    assert parameters(RTCRtpSender._handle_rtcp_packet) == ["self", "packet"]
    assert "recipient._handle_rtcp_packet(packet)" in inspect.getsource(
        aiortc.rtcdtlstransport.RTCDtlsTransport._handle_rtcp_data
    )
    assert "self._send_keyframe()" in rtcp_source
    assert "await self._retransmit(seq)" in rtcp_source
    # The sender reports and stats read the fields the wire keeps up to date.
    report_source = inspect.getsource(RTCRtpSender._run_rtcp) + inspect.getsource(
        RTCRtpSender.getStats
    )
    for field in aiortc_hooks.SENDER_REPORT_FIELDS:
        assert "self.__" + field.split("__", 1)[1] in report_source, field
    # ...and the sender's own loop only waits on the track: it never sends.
    assert "await self.__track.recv()" in inspect.getsource(RTCRtpSender._next_encoded_frame)


def test_ntp_time_agrees_with_aiortcs_clock() -> None:
    for _ in range(100):
        before = aiortc.clock.current_ntp_time()
        ours = aiortc_hooks.ntp_time_now()
        after = aiortc.clock.current_ntp_time()
        slack = 1 << 22  # ~1 ms, for datetime's rounding of the same instant
        assert before - slack <= ours <= after + slack


async def test_tap_removes_the_bitrate_estimator_unless_remb_is_wanted() -> None:
    pc = RTCPeerConnection()
    try:
        tapped = pc.addTransceiver("video").receiver
        aiortc_hooks.tap_rtp_packets(tapped, lambda p: None, lambda p, s: None)
        assert getattr(tapped, aiortc_hooks.RECEIVER_BITRATE_ESTIMATOR) is None
        kept = pc.addTransceiver("video").receiver
        aiortc_hooks.tap_rtp_packets(kept, lambda p: None, lambda p, s: None, remb=True)
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
            aiortc_hooks.tap_rtp_packets(receiver, lambda p: None, lambda p, s: None)
        setattr(receiver, aiortc_hooks.RECEIVER_STARTED, False)
    finally:
        await pc.close()


def _as_a_browser_would_number_it(offer_sdp: str, vp8: int | None = None) -> str:
    """Chrome numbers Opus 111 (and VP8 ``vp8``, its RTX one above) and puts
    ssrc-audio-level at id 1, sdes:mid at id 4."""
    description = aiortc_sdp.SessionDescription.parse(offer_sdp)
    description.type = "offer"
    new_ids = {
        "urn:ietf:params:rtp-hdrext:ssrc-audio-level": 1,
        "urn:ietf:params:rtp-hdrext:sdes:mid": 4,
    }
    for media in description.media:
        renumbered = {}
        for codec in media.rtp.codecs:
            if codec.mimeType.lower() == "audio/opus":
                codec.payloadType = 111
            if codec.mimeType.lower() == "video/vp8" and vp8 is not None:
                renumbered[codec.payloadType] = vp8
                codec.payloadType = vp8
        for codec in media.rtp.codecs:
            if codec.mimeType.lower() == "video/rtx" and codec.parameters.get("apt") in renumbered:
                codec.payloadType = renumbered[codec.parameters["apt"]] + 1
                codec.parameters["apt"] = renumbered[codec.parameters["apt"]]
        media.fmt = [c.payloadType for c in media.rtp.codecs]
        for extension in media.rtp.headerExtensions:
            extension.id = new_ids.get(extension.uri, extension.id)
    return str(description)


def test_the_receive_path_the_relay_takes_over_is_still_aioices_and_aiortcs() -> None:
    """handle_media_on_arrival does in the socket callback what these do a loop turn later."""
    datagram = inspect.getsource(aioice.ice.StunProtocol.datagram_received)
    assert "message = stun.parse_message(data)" in datagram
    assert "self.receiver.data_received(data, self.local_candidate.component)" in datagram
    assert "self._queue.put_nowait((data, component))" in inspect.getsource(
        aioice.Connection.data_received
    )
    recv_next = inspect.getsource(RTCDtlsTransport._recv_next)
    assert "elif first_byte > 127 and first_byte < 192 and self._rx_srtp:" in recv_next
    assert "data = self._rx_srtp.unprotect(data)" in recv_next
    assert "self.__rx_bytes += len(data)" in recv_next
    handle = inspect.getsource(RTCDtlsTransport._handle_rtp_data)
    assert "packet = RtpPacket.parse(data, self._rtp_header_extensions_map)" in handle
    assert "receiver = self._rtp_router.route_rtp(packet)" in handle
    assert "await receiver._handle_rtp_packet(packet, arrival_time_ms=arrival_time_ms)" in handle
    assert "self._rx_srtp = Session(" in inspect.getsource(RTCDtlsTransport._setup_srtp)
    assert "data = self._rx_srtp.unprotect_rtcp(data)" in recv_next
    rtcp = inspect.getsource(RTCDtlsTransport._handle_rtcp_data)
    assert "packets = RtcpPacket.parse(data)" in rtcp
    assert "for recipient in self._rtp_router.route_rtcp(packet):" in rtcp
    assert "await recipient._handle_rtcp_packet(packet)" in rtcp


def test_the_router_tables_the_relay_completes_are_still_aiortcs() -> None:
    """_route_unknown_ssrc places what route_rtp drops: an SSRC it cannot tell by
    payload type (two video m-lines), learned into the same tables route_rtp reads."""
    router = RtpRouter()
    assert {"receivers", "mid_table", "ssrc_table", "payload_type_table"} <= set(vars(router))
    route = inspect.getsource(RtpRouter.route_rtp)
    assert "ssrc_receiver = self.ssrc_table.get(packet.ssrc)" in route
    assert "if ssrc_receiver is None and len(pt_receivers) == 1:" in route
    receive = inspect.getsource(RTCRtpReceiver.receive)
    assert "self.__rtx_ssrc[encoding.rtx.ssrc] = encoding.ssrc" in receive


async def test_run_now_finishes_a_coroutine_at_once_or_in_a_task_if_it_waits() -> None:
    steps: list[str] = []

    async def quick() -> None:
        steps.append("quick")

    async def waits() -> None:
        steps.append("before")
        await asyncio.sleep(0.01)
        steps.append("after")

    aiortc_hooks.run_now(quick())
    assert steps == ["quick"]  # no loop turn needed
    aiortc_hooks.run_now(waits())
    assert steps == ["quick", "before"]
    await asyncio.sleep(0.05)
    assert steps == ["quick", "before", "after"]


async def test_run_now_logs_a_failure_instead_of_raising(caplog: pytest.LogCaptureFixture) -> None:
    async def fails() -> None:
        raise RuntimeError("broken packet handler")

    async def fails_later() -> None:
        await asyncio.sleep(0)
        raise RuntimeError("broken after waiting")

    aiortc_hooks.run_now(fails())
    aiortc_hooks.run_now(fails_later())
    await asyncio.sleep(0.02)
    messages = [r.getMessage() for r in caplog.records]
    assert messages.count("relay: handling an incoming RTP packet failed") == 2


def test_what_expect_peer_reflexive_candidates_works_around_is_still_aioices() -> None:
    """The mDNS hook (issue 17) exists for these aioice behaviours; an upgrade must re-check it."""
    resolve = inspect.signature(aioice.mdns.MDnsProtocol.resolve)
    assert resolve.parameters["timeout"].default == aiortc_hooks.MDNS_RESOLVE_TIMEOUT
    adding = inspect.getsource(aioice.Connection.add_remote_candidate)
    assert "if mdns.is_mdns_hostname(remote_candidate.host):" in adding
    assert "could not be resolved" in adding
    # End-of-candidates removes components without candidates and may fail the list...
    ending = inspect.getsource(aioice.Connection._end_remote_candidates)
    assert "self._prune_components()" in ending and "self._check_list_maybe_fail()" in ending
    # ...while candidates are still expected, connect() keeps answering checks...
    assert "return self._remote_candidates_expected()" in inspect.getsource(
        aioice.Connection._check_periodic
    )
    # ...and an incoming check from an unknown address is learned as peer-reflexive.
    incoming = inspect.getsource(aioice.Connection.check_incoming)
    assert 'type="prflx"' in incoming
    assert 'if "USE-CANDIDATE" in message.attributes and not self.ice_controlling:' in incoming
    # aiortc signals end-of-candidates only when the SDP says so.
    assert "if media.ice_candidates_complete:" in inspect.getsource(
        aiortc.rtcpeerconnection.add_remote_candidates
    )


async def test_an_offer_with_only_mdns_candidates_connects_only_through_the_hook() -> None:
    """Without the hook aioice prunes the only component of an mDNS-only offer (issue 17).

    Its own gathering then finds no component to gather for: the answer lists
    no candidate and ICE never starts, so the browser has nothing to check.
    """
    outcomes = {}
    for hooked in (False, True):
        offerer, answerer = RTCPeerConnection(), RTCPeerConnection()
        try:
            offerer.addTrack(ToneTrack())
            await offerer.setLocalDescription(await offerer.createOffer())
            offer = hide_host_addresses(offerer.localDescription.sdp)
            if hooked:
                offer = aiortc_hooks.expect_peer_reflexive_candidates(offer)
            await answerer.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
            await answerer.setLocalDescription(await answerer.createAnswer())
            answer = answerer.localDescription.sdp
            await offerer.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
            for _ in range(40):
                if answerer.iceConnectionState == "completed":
                    break
                await asyncio.sleep(0.05)
            outcomes[hooked] = (answer.count("a=candidate:") > 0, answerer.iceConnectionState)
        finally:
            await offerer.close()
            await answerer.close()
    assert outcomes == {False: (False, "new"), True: (True, "completed")}


async def test_new_slots_take_the_payload_types_the_browser_already_uses_under_bundle() -> None:
    """Chrome numbers VP8 96, RTX 97, Opus 111; aiortc alone would offer new slots
    VP8 97, RTX 98, Opus 96: 96 and 97 would then mean two codecs in one BUNDLE."""
    member, relay_side = RTCPeerConnection(), RTCPeerConnection()
    try:
        member.addTrack(ToneTrack())
        member.addTrack(PatternTrack())
        await member.setLocalDescription(await member.createOffer())
        chrome_like = _as_a_browser_would_number_it(member.localDescription.sdp, vp8=96)
        await relay_side.setRemoteDescription(RTCSessionDescription(sdp=chrome_like, type="offer"))
        await relay_side.setLocalDescription(await relay_side.createAnswer())
        ids = aiortc_hooks.negotiated_header_extension_ids(relay_side)
        for kind, track in (("video", VideoStreamTrack()), ("audio", AudioStreamTrack())):
            slot = relay_side.addTransceiver(track, direction="sendonly")
            wanted = {"video": "video/vp8", "audio": "audio/opus"}[kind]
            slot.setCodecPreferences(
                [
                    c
                    for c in RTCRtpSender.getCapabilities(kind).codecs
                    if c.mimeType.lower() in (wanted, f"{kind}/rtx")
                ]
            )

        offer = await aiortc_hooks.create_stable_offer(relay_side, ids)

        media = aiortc_sdp.SessionDescription.parse(offer.sdp).media
        new_video, new_audio = media[2], media[3]
        assert [(c.payloadType, c.mimeType) for c in new_video.rtp.codecs] == [
            (96, "video/VP8"),
            (97, "video/rtx"),
        ]
        assert new_video.rtp.codecs[1].parameters["apt"] == 96
        assert [(c.payloadType, c.mimeType) for c in new_audio.rtp.codecs] == [(111, "audio/opus")]
        await relay_side.setLocalDescription(offer)
        # The browser's answer echoes these numbers, and aiortc sends with the answer's.
        assert "codec.payloadType = c.payloadType" in inspect.getsource(
            aiortc.rtcpeerconnection.find_common_codecs
        )
    finally:
        await member.close()
        await relay_side.close()
