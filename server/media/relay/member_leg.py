"""One member's peer connection to the relay: what it publishes and the slots it receives on."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.rtcrtptransceiver import RTCRtpTransceiver

from server.media.relay import aiortc_hooks
from server.media.relay.downlink_loss import DownlinkLoss
from server.media.relay.forwarding_track import ForwardingTrack, Wire
from server.media.relay.media_completeness import ReceptionWatch
from server.media.relay.published_track import PublishedTrack

logger = logging.getLogger(__name__)

MEDIA_KINDS = ("audio", "video")
# What a member publishes: its microphone, camera and, on a second video m-line, its
# screen (sent only while it shares; docs/relay.md "Screen share").
SOURCES = ("audio", "video", "screen")
SOURCE_KINDS = {"audio": "audio", "video": "video", "screen": "video"}
FORWARDED_CODECS = {"audio": "audio/opus", "video": "video/VP8"}
CONNECT_TIMEOUT = 20.0
CLOSE_TIMEOUT = 5.0

TrackMap = dict[str, dict[str, str]]


class NegotiationError(RuntimeError):
    """An offer or answer that this leg cannot apply now."""


@dataclass(eq=False)
class SenderSlot:
    """A sendonly transceiver on a subscriber's leg and the track it forwards.

    A slot is kept when its publisher leaves (direction set to inactive) and
    reused for the next publisher of the same kind, so a long session with
    members coming and going does not grow the SDP without bound.
    """

    kind: str
    transceiver: RTCRtpTransceiver
    track: ForwardingTrack
    publication: PublishedTrack | None = None
    # What the subscriber's receiver reports say arrives on this slot.
    reception: ReceptionWatch = field(default_factory=ReceptionWatch)
    # Last-N or audio-only: bound and negotiated, but no packets (docs/relay.md "Last-N").
    paused: bool = False

    @property
    def publisher_id(self) -> str | None:
        return self.publication.member_id if self.publication is not None else None

    @property
    def source(self) -> str:
        return self.publication.source if self.publication is not None else self.kind

    def request_keyframe(self) -> None:
        if self.publication is not None:
            self.publication.request_keyframe()


@dataclass
class LegQuality:
    """Transport quality as aiortc's getStats reports it for this leg."""

    round_trip_time: float | None = None
    packets_lost_by_member: int = 0
    # Cumulative counts in both directions, so loss can be computed per interval.
    packets_sent_to_member: int = 0
    packets_lost_from_member: int = 0
    packets_received_from_member: int = 0
    jitter_to_relay: float | None = None
    connection_state: str = "new"


@dataclass(eq=False)
class MemberLeg:
    member_id: str
    pc: RTCPeerConnection
    incoming: dict[str, RTCRtpTransceiver] = field(default_factory=dict)
    slots: list[SenderSlot] = field(default_factory=list)
    offer_in_flight: bool = False
    last_sent_track_map: TrackMap | None = None
    quality: LegQuality = field(default_factory=LegQuality)
    # The member's latest REMB (bit/s): what its downlink carries, by its browser's estimate.
    downlink_estimate_bps: int | None = None
    # What the member's receiver reports say it loses of what the relay sends (last-N).
    downlink_loss: DownlinkLoss = field(default_factory=DownlinkLoss)
    # The last-N pauses the member's page was last told of (``video.paused``).
    reported_paused: frozenset[str] = frozenset()
    _extension_ids: dict[str, int] = field(default_factory=dict)
    _connected: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    def create(cls, member_id: str, ice_servers: list[RTCIceServer] | None) -> MemberLeg:
        # max-bundle: aiortc's default ("balanced") leaves a second transceiver of a
        # kind created while applying one offer on a transport it then stops.
        configuration = RTCConfiguration(
            iceServers=ice_servers or [], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE
        )
        pc = RTCPeerConnection(configuration)
        leg = cls(member_id=member_id, pc=pc)

        @pc.on("connectionstatechange")
        def on_state() -> None:
            leg.quality.connection_state = pc.connectionState
            if pc.connectionState == "connected":
                leg._connected.set()

        return leg

    async def apply_member_offer(self, offer_sdp: str) -> dict[str, RTCRtpTransceiver]:
        """Apply the member's first offer; returns its publishing transceivers by source.

        The first audio and video sections are the microphone and camera; a second
        video section is the screen. The caller taps their receivers, then calls
        ``answer`` (the receivers start only once the answer is set and the transport
        is up).
        """
        await self._apply_remote(offer_sdp, "offer")
        for transceiver in self.pc.getTransceivers():
            kind = transceiver.kind
            source = "screen" if kind == "video" and "video" in self.incoming else kind
            if source in self.incoming:
                transceiver.direction = "inactive"  # one track per source is published
                continue
            aiortc_hooks.restrict_codecs(transceiver, FORWARDED_CODECS[kind])
            transceiver.direction = "recvonly"
            self.incoming[source] = transceiver
        if not self.incoming:
            # Answering it would leave a leg that carries nothing (and say ok to the member).
            raise NegotiationError("the offer has no audio or video section")
        return dict(self.incoming)

    async def _apply_remote(self, sdp: str, sdp_type: str) -> None:
        """setRemoteDescription for SDP from a member, which is untrusted input.

        aiortc's parser asserts and indexes its way through SDP: malformed text
        raises AssertionError, IndexError, KeyError or its own errors instead of
        one clear error. Any of them means this SDP cannot be used.
        """
        # Browsers behind mDNS names are reached through their own checks (issue 17).
        usable = aiortc_hooks.expect_peer_reflexive_candidates(sdp)
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=usable, type=sdp_type))
        except Exception as error:
            detail = str(error)[:200] or type(error).__name__
            raise NegotiationError(f"unusable {sdp_type} SDP ({detail})") from None

    async def answer(self) -> str:
        answer = await self.pc.createAnswer()
        await self.pc.setLocalDescription(answer)
        self._extension_ids = aiortc_hooks.negotiated_header_extension_ids(self.pc)
        # Under max-bundle every transceiver shares one DTLS transport.
        for dtls in {t.receiver.transport for t in self.incoming.values()}:
            aiortc_hooks.handle_media_on_arrival(dtls)
        return str(self.pc.localDescription.sdp)

    def bind_slot(self, publication: PublishedTrack) -> SenderSlot:
        """Forward ``publication`` to this member, on an idle slot if one of its kind is free."""
        slot = next(
            (s for s in self.slots if s.kind == publication.kind and s.publication is None),
            None,
        )
        if slot is None:
            slot = self._add_slot(publication.kind)
        slot.publication = publication
        slot.paused = False
        slot.transceiver.direction = "sendonly"
        slot.track.restart()
        slot.reception.restart()
        publication.subscribe(slot.track)
        _sync_sending(slot)  # a slot released and re-bound before any offer stays negotiated
        return slot

    def release_slots_of(self, publisher_id: str) -> None:
        for slot in self.slots:
            if slot.publication is not None and slot.publisher_id == publisher_id:
                self._release(slot)

    def release_slot_of(self, publication: PublishedTrack) -> bool:
        """Stop forwarding ``publication`` here; whether this leg had a slot for it."""
        for slot in self.slots:
            if slot.publication is publication:
                self._release(slot)
                return True
        return False

    def pause_cameras(self, publishers: frozenset[str]) -> bool:
        """Forward no camera of ``publishers`` (and every other one); whether anything changed.

        A paused slot stays bound and negotiated (no renegotiation either way): it is
        only taken off its publication's fan-out. Resuming starts a new numbering
        epoch on a keyframe, which the slot asks the publisher for.
        """
        changed = False
        for stream, slot in enumerate(self.slots):
            publication = slot.publication
            if publication is None or publication.source != "video":
                continue
            pause = publication.member_id in publishers
            if pause == slot.paused:
                continue
            changed, slot.paused = True, pause
            if pause:
                publication.unsubscribe(slot.track)
                slot.track.hold()
            else:
                publication.subscribe(slot.track)
                slot.track.restart()
                slot.reception.restart()
                self.downlink_loss.forget(stream)
        return changed

    def paused_cameras(self) -> frozenset[str]:
        return frozenset(
            slot.publisher_id
            for slot in self.slots
            if slot.paused and slot.publisher_id is not None
        )

    def on_downlink_estimate(self, bitrate: int) -> None:
        self.downlink_estimate_bps = bitrate

    def release_all_slots(self) -> None:
        for slot in self.slots:
            if slot.publication is not None:
                self._release(slot)

    def track_map(self) -> TrackMap:
        """mid -> publisher and kind, for the slots negotiated so far."""
        return {
            slot.transceiver.mid: {"member": slot.publisher_id, "kind": slot.source}
            for slot in self.slots
            if slot.publisher_id is not None and slot.transceiver.mid is not None
        }

    def needs_offer(self) -> bool:
        return any(
            slot.transceiver.mid is None
            or slot.transceiver.direction != slot.transceiver.currentDirection
            for slot in self.slots
        )

    async def wait_connected(self) -> bool:
        try:
            await asyncio.wait_for(self._connected.wait(), CONNECT_TIMEOUT)
        except TimeoutError:
            return False
        return True

    async def create_offer(self) -> str:
        if self.offer_in_flight:
            raise NegotiationError("an offer is already waiting for its answer")
        offer = await aiortc_hooks.create_stable_offer(self.pc, self._extension_ids)
        await self.pc.setLocalDescription(offer)
        self.offer_in_flight = True
        return offer.sdp

    async def accept_answer(self, answer_sdp: str) -> None:
        if not self.offer_in_flight:
            raise NegotiationError("no relay offer is waiting for an answer")
        await self._apply_remote(answer_sdp, "answer")
        self.offer_in_flight = False
        for slot in self.slots:
            _sync_sending(slot)

    def sync_sender_stats(self) -> None:
        """Bring aiortc's outbound stats up to what the slots sent."""
        for slot in self.slots:
            slot.track.sync_stats()

    async def send_sender_reports(self) -> None:
        """RTCP sender reports for every slot that sent media, in a few compound packets."""
        reports = []
        wire: Wire | None = None
        for slot in self.slots:
            report = slot.track.sender_report()
            if report is not None:
                reports.append(report)
                wire = wire or slot.track.wire
        if wire is not None:  # under max-bundle, every slot shares one transport
            await aiortc_hooks.send_compound_reports(wire.send_rtcp, reports)

    async def refresh_quality(self) -> None:
        self.sync_sender_stats()
        report = await self.pc.getStats()
        remote_inbound = [s for s in report.values() if s.type == "remote-inbound-rtp"]
        rtts = [s.roundTripTime for s in remote_inbound if s.roundTripTime is not None]
        self.quality.round_trip_time = max(rtts) if rtts else None
        # What the member reports losing of the media the relay sends it.
        self.quality.packets_lost_by_member = sum(s.packetsLost for s in remote_inbound)
        self.quality.packets_sent_to_member = sum(
            s.packetsSent for s in report.values() if s.type == "outbound-rtp"
        )
        inbound = [s for s in report.values() if s.type == "inbound-rtp"]
        # What the relay misses of the member's own media (its uplink).
        self.quality.packets_lost_from_member = sum(max(0, s.packetsLost) for s in inbound)
        self.quality.packets_received_from_member = sum(s.packetsReceived for s in inbound)
        for stats in report.values():
            if stats.type == "inbound-rtp" and stats.kind == "audio":
                # Interarrival jitter of the member's audio, in RTP clock units (48 kHz).
                self.quality.jitter_to_relay = stats.jitter / 48_000

    async def close(self) -> None:
        self.release_all_slots()
        try:
            await asyncio.wait_for(self.pc.close(), CLOSE_TIMEOUT)
        except TimeoutError:
            logger.warning("relay leg took longer than %.0fs to close", CLOSE_TIMEOUT)

    def _add_slot(self, kind: str) -> SenderSlot:
        slot_ref: list[SenderSlot] = []

        def request_keyframe() -> None:
            if slot_ref:
                slot_ref[0].request_keyframe()

        track = ForwardingTrack(kind, request_keyframe)
        transceiver = self.pc.addTransceiver(track, direction="sendonly")
        wanted = FORWARDED_CODECS[kind].lower()
        transceiver.setCodecPreferences(
            [
                codec
                for codec in RTCRtpSender.getCapabilities(kind).codecs
                if codec.mimeType.lower() in (wanted, f"{kind}/rtx")
            ]
        )
        aiortc_hooks.redirect_keyframe_requests(transceiver.sender, request_keyframe)
        aiortc_hooks.redirect_retransmissions(transceiver.sender, track.retransmit)
        aiortc_hooks.take_over_sender_reports(transceiver.sender)
        track.use_wire(lambda: aiortc_hooks.SenderWire(transceiver.sender, transceiver))
        slot = SenderSlot(kind=kind, transceiver=transceiver, track=track)
        stream = len(self.slots)

        def on_receiver_report(highest_sequence: int, cumulative_lost: int) -> None:
            slot.reception.on_report(highest_sequence)
            skipped = track.skipped_through(highest_sequence & 0xFFFF)
            self.downlink_loss.on_report(stream, highest_sequence, cumulative_lost, skipped)

        aiortc_hooks.observe_receiver_reports(transceiver.sender, on_receiver_report)
        if kind == "video":
            aiortc_hooks.observe_bandwidth_estimates(transceiver.sender, self.on_downlink_estimate)
        slot_ref.append(slot)
        self.slots.append(slot)
        return slot

    def _release(self, slot: SenderSlot) -> None:
        if slot.publication is not None:
            slot.publication.unsubscribe(slot.track)
        slot.publication = None
        slot.paused = False
        slot.transceiver.direction = "inactive"
        slot.track.set_sending(False)


def _sync_sending(slot: SenderSlot) -> None:
    slot.track.set_sending(
        slot.publication is not None and slot.transceiver.currentDirection == "sendonly"
    )
