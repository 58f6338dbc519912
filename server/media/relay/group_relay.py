"""The media relay (SFU) of one group room: encoded media in, encoded media out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any, Protocol

from aiortc import RTCIceServer
from aiortc.rtp import RtpPacket

from server.media.relay import aiortc_hooks
from server.media.relay.forwarding_track import ForwardingCounters
from server.media.relay.last_n import BitrateMeter, LastNConfig, LastNPolicy
from server.media.relay.media_completeness import SILENCE_LIMIT_S, MediaGap, PublisherActivity
from server.media.relay.member_leg import (
    MEDIA_KINDS,
    SOURCE_KINDS,
    SOURCES,
    MemberLeg,
    NegotiationError,
    TrackMap,
)
from server.media.relay.published_track import PublishedTrack
from server.media.relay.relay_stats import (
    KindTotals,
    LegStats,
    PublisherStats,
    RelayStats,
    SubscriberStats,
)
from server.media.relay.voice_activity import VoiceActivityConfig, VoiceActivityDetector

logger = logging.getLogger(__name__)

VoiceActivityCallback = Callable[[str, bool, float], None]
AudioLevelCallback = Callable[[str, int, float], None]
# (subscriber, publishers whose camera last-N paused for it); called when the set changes.
VideoPausedCallback = Callable[[str, frozenset[str]], None]

TICK_INTERVAL = 0.1
QUALITY_INTERVAL = 5.0
# RTCP sender reports for all of a leg's slots at once, as often as aiortc's
# senders send theirs on average (0.5-1.5 s apart).
SENDER_REPORT_INTERVAL = 1.0
# What each subscriber receives is checked against what it is owed this often.
COMPLETENESS_INTERVAL = 1.0
# Each subscriber's bandwidth estimate against what it is sent (last_n.py).
LAST_N_INTERVAL = 1.0

__all__ = ["GroupRelay", "NegotiationError", "RelayClosedError", "RelaySignals"]


class RelaySignals(Protocol):
    """What the relay tells one member's page; the process puts it on the wire."""

    async def send_offer(self, member_id: str, sdp: str, tracks: TrackMap) -> None:
        """A new offer for the member's leg (slots added or released)."""

    async def send_tracks(self, member_id: str, tracks: TrackMap) -> None:
        """Same slots, other sources: which member each of the leg's tracks carries now."""


class RelayClosedError(RuntimeError):
    """The relay was closed; no member can join it any more."""


class GroupRelay:
    """Forwards every member's encoded Opus and VP8 to every other member.

    Each member holds one peer connection (a ``MemberLeg``). The member makes
    the first offer (``join``); after that only the relay offers
    (``RelaySignals.send_offer``, answered with ``accept_answer``), one
    offer in flight per leg. Commands run one at a
    time per room (``self._lock``).
    """

    def __init__(
        self,
        room_id: str,
        *,
        signals: RelaySignals,
        on_voice_activity: VoiceActivityCallback | None = None,
        on_audio_level: AudioLevelCallback | None = None,
        ice_servers: list[RTCIceServer] | Callable[[], list[RTCIceServer]] | None = None,
        clock: Callable[[], float] = time.monotonic,
        voice_activity: VoiceActivityConfig | None = None,
        publisher_remb: bool = False,
        host_candidates: aiortc_hooks.HostCandidatePolicy | None = None,
        last_n: LastNConfig | None = None,
        on_video_paused: VideoPausedCallback | None = None,
    ) -> None:
        aiortc_hooks.check_aiortc_version()
        self._host_candidates = host_candidates or aiortc_hooks.HostCandidatePolicy()
        self.room_id = room_id
        self._signals = signals
        self._on_voice_activity = on_voice_activity
        self._on_audio_level = on_audio_level
        self._ice_servers = ice_servers
        self._clock = clock
        self._voice_activity_config = voice_activity
        self._publisher_remb = publisher_remb
        self._lock = asyncio.Lock()
        self._legs: dict[str, MemberLeg] = {}
        self._published: dict[str, dict[str, PublishedTrack]] = {}
        self._gates: dict[tuple[str, str], bool] = {}
        self._voice: dict[str, VoiceActivityDetector] = {}
        self._taps: list[aiortc_hooks.ReceiverTap] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._ticker: asyncio.Task[None] | None = None
        self._closed = False
        self._activity = PublisherActivity()
        self._gaps: list[MediaGap] = []
        # Whose screen is forwarded: the room's sharer (a screen slot per other leg).
        self._sharers: frozenset[str] = frozenset()
        # Last-N (off when None): per subscriber, the policy and what it paused.
        self._last_n = last_n
        self._on_video_paused = on_video_paused
        self._last_n_policies: dict[str, LastNPolicy] = {}
        self._last_n_paused: dict[str, frozenset[str]] = {}
        self._meter = BitrateMeter()
        # Cameras every subscriber keeps under last-N (the therapists), and the
        # members who chose audio only (they are sent no camera at all).
        self._video_priority: frozenset[str] = frozenset()
        self._audio_only: frozenset[str] = frozenset()
        self._speakers: list[str] = []  # most recent first

    # --- commands -------------------------------------------------------

    async def join(self, member_id: str, offer_sdp: str) -> str:
        """Apply a member's offer and return the answer SDP.

        A second join of the same member replaces its leg (the way a member
        recovers a broken connection: aiortc has no ICE restart). Other
        members keep their subscriptions to it; only their sources change.
        """
        async with self._lock:
            if self._closed:
                raise RelayClosedError(self.room_id)
            old_leg = self._legs.pop(member_id, None)
            # A callable mints fresh TURN credentials for each leg (a room outlives them).
            servers = self._ice_servers() if callable(self._ice_servers) else self._ice_servers
            leg = MemberLeg.create(member_id, servers)
            try:
                incoming = await leg.apply_member_offer(offer_sdp)
                # Before the answer's gathering: ports from the range, the public address.
                aiortc_hooks.bind_host_candidates(leg.pc, self._host_candidates)
                changed_legs = self._publish(member_id, incoming)
                answer = await leg.answer()
                # Slots are added after the answer: aiortc applies an answer to every
                # transceiver, and one it has not offered yet makes that fail.
                for publisher_id, publications in self._published.items():
                    if publisher_id != member_id:
                        for publication in publications.values():
                            if self._forwarded(publication):
                                leg.bind_slot(publication)
            except Exception:
                await leg.close()
                if old_leg is not None:
                    self._legs[member_id] = old_leg
                raise
            self._legs[member_id] = leg
            for subscriber in (leg, *changed_legs):
                self._apply_pauses(subscriber)
            self._ensure_ticker()
        if old_leg is not None:
            await old_leg.close()
        for changed in (leg, *changed_legs):
            self._schedule_negotiation(changed)
        return answer

    async def accept_answer(self, member_id: str, answer_sdp: str) -> None:
        """Apply a member's answer to the last ``relay.offer`` it was sent."""
        async with self._lock:
            leg = self._legs.get(member_id)
            if leg is None:
                raise NegotiationError(f"member has no leg in room {self.room_id}")
            await leg.accept_answer(answer_sdp)
        # Changes that came in while the offer was in flight get their own offer now.
        self._schedule_negotiation(leg)

    async def leave(self, member_id: str) -> None:
        async with self._lock:
            leg = self._legs.pop(member_id, None)
            publications = self._published.pop(member_id, {})
            for other in self._legs.values():
                other.release_slots_of(member_id)
            detector = self._voice.pop(member_id, None)
            if detector is not None and detector.reset() is not None:
                self._report_voice(member_id, False)
            self._last_n_policies.pop(member_id, None)
            self._last_n_paused.pop(member_id, None)
            if member_id in self._speakers:
                self._speakers.remove(member_id)
            for publication in publications.values():
                await publication.close()
            others = list(self._legs.values())
        if leg is not None:
            await leg.close()
        for other in others:
            self._schedule_negotiation(other)

    def set_audio_gate(self, member_id: str, open: bool) -> None:
        """Closed: none of the member's audio reaches anyone (kept for a member not joined yet)."""
        self._set_gate(member_id, "audio", open)
        if not open:
            detector = self._voice.get(member_id)
            if detector is not None and detector.reset() is not None:
                self._report_voice(member_id, False)

    def set_video_gate(self, member_id: str, open: bool) -> None:
        self._set_gate(member_id, "video", open)

    async def set_screen_sharers(self, member_ids: frozenset[str]) -> None:
        """Forward these members' screens (the room's one sharer, or nobody): every other
        leg gets a video slot for a new sharer's screen and loses the slot of a share
        that ended; only those legs are renegotiated."""
        async with self._lock:
            if member_ids == self._sharers:
                return
            started, ended = member_ids - self._sharers, self._sharers - member_ids
            self._sharers = member_ids
            changed: list[MemberLeg] = []
            for member_id in ended:
                screen = self._published.get(member_id, {}).get("screen")
                for leg in self._legs.values():
                    if screen is not None and leg.release_slot_of(screen):
                        changed.append(leg)
            for member_id in started:
                screen = self._published.get(member_id, {}).get("screen")
                if screen is None:
                    continue  # bound when (if) the member's leg publishes one
                for other_id, leg in self._legs.items():
                    if other_id != member_id:
                        leg.bind_slot(screen)
                        changed.append(leg)
        for leg in changed:
            self._schedule_negotiation(leg)

    def set_video_priority(self, member_ids: frozenset[str]) -> None:
        """Cameras last-N never pauses (the therapists), beside the current speaker's."""
        self._video_priority = member_ids

    def set_audio_only(self, member_ids: frozenset[str]) -> None:
        """Members who chose audio only: the relay sends them no camera (screens still)."""
        if member_ids == self._audio_only:
            return
        self._audio_only = member_ids
        for leg in self._legs.values():
            self._apply_pauses(leg)

    def paused_cameras(self, member_id: str) -> frozenset[str]:
        """Whose camera the member is not sent now (last-N or its own audio-only choice)."""
        leg = self._legs.get(member_id)
        return leg.paused_cameras() if leg is not None else frozenset()

    def downlink_estimate(self, member_id: str) -> int | None:
        """The member's latest REMB (bit/s), or None before its browser sent one."""
        leg = self._legs.get(member_id)
        return leg.downlink_estimate_bps if leg is not None else None

    def media_gaps(self) -> list[MediaGap]:
        """Tracks a subscriber is owed and has not received for a while (last check)."""
        return list(self._gaps)

    def track_map(self, member_id: str) -> TrackMap:
        leg = self._legs.get(member_id)
        return leg.track_map() if leg is not None else {}

    def stats(self) -> RelayStats:
        publishers = {
            member_id: {
                kind: PublisherStats(
                    rtp_packets_received=p.counters.rtp_packets_received,
                    frames_received=p.counters.frames_received,
                    bytes_received=p.counters.bytes_received,
                    frames_dropped_by_gate=p.counters.frames_dropped_by_gate,
                    keyframe_requests_sent=p.counters.keyframe_requests_sent,
                    keyframe_requests_held_back=p.counters.keyframe_requests_held_back,
                    subscribers=p.subscriber_count,
                    gate_open=p.gate_open,
                )
                for kind, p in publications.items()
            }
            for member_id, publications in self._published.items()
        }
        subscribers = {
            member_id: SubscriberStats(
                slots=len(leg.slots),
                **asdict(ForwardingCounters.total(s.track.counters for s in leg.slots)),
            )
            for member_id, leg in self._legs.items()
        }
        legs = {
            member_id: LegStats(
                connection_state=leg.quality.connection_state,
                round_trip_time=leg.quality.round_trip_time,
                packets_lost_by_member=leg.quality.packets_lost_by_member,
                jitter_to_relay=leg.quality.jitter_to_relay,
                packets_sent_to_member=leg.quality.packets_sent_to_member,
                packets_lost_from_member=leg.quality.packets_lost_from_member,
                packets_received_from_member=leg.quality.packets_received_from_member,
            )
            for member_id, leg in self._legs.items()
        }
        return RelayStats(self.room_id, publishers, subscribers, legs)

    def totals_by_kind(self) -> dict[str, KindTotals]:
        """Cumulative forwarded and dropped frames and bytes per media kind (for metrics)."""
        totals = {kind: KindTotals() for kind in MEDIA_KINDS}
        for leg in self._legs.values():
            for slot in leg.slots:
                counters, total = slot.track.counters, totals.get(slot.kind)
                if total is None:
                    continue
                total.frames_forwarded += counters.frames_forwarded
                total.bytes_forwarded += counters.bytes_forwarded
                total.frames_dropped_overload += counters.frames_dropped_overload
                total.frames_skipped_awaiting_keyframe += counters.frames_skipped_awaiting_keyframe
        for publications in self._published.values():
            for publication in publications.values():
                if publication.kind in totals:
                    gated = publication.counters.frames_dropped_by_gate
                    totals[publication.kind].frames_dropped_by_gate += gated
        return totals

    async def close(self) -> None:
        async with self._lock:
            self._closed = True
            legs = list(self._legs.values())
            self._legs.clear()
            publications = [p for m in self._published.values() for p in m.values()]
            self._published.clear()
        tasks = [*self._tasks, *([self._ticker] if self._ticker else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._ticker = None
        for publication in publications:
            await publication.close()
        await asyncio.gather(*(leg.close() for leg in legs))

    # --- for tests and diagnostics ---------------------------------------

    @property
    def receiver_taps(self) -> list[aiortc_hooks.ReceiverTap]:
        """Every receiver tap installed so far: each one stands where a decoder would be."""
        return list(self._taps)

    def member_ids(self) -> list[str]:
        return list(self._legs)

    # --- internals --------------------------------------------------------

    def _forwarded(self, publication: PublishedTrack) -> bool:
        """Camera and microphone always; a screen only while its member shares."""
        return publication.source != "screen" or publication.member_id in self._sharers

    def _publish(self, member_id: str, incoming: dict[str, Any]) -> list[MemberLeg]:
        """Tap the member's receivers; returns the other legs that got a new slot."""
        publications = self._published.setdefault(member_id, {})
        changed: list[MemberLeg] = []
        for source in SOURCES:
            transceiver = incoming.get(source)
            if transceiver is None:
                continue
            kind = SOURCE_KINDS[source]
            publication = publications.get(source)
            is_new = publication is None
            if publication is None:
                publication = PublishedTrack(member_id, kind, self._clock, source=source)
                publication.gate_open = self._gates.get((member_id, source), True)
                publications[source] = publication
            on_rtp = self._audio_level_observer(member_id) if kind == "audio" else None
            tap = publication.attach(transceiver.receiver, on_rtp, remb=self._publisher_remb)
            self._taps.append(tap)
            if is_new and self._forwarded(publication):
                for other_id, other in self._legs.items():
                    if other_id != member_id:
                        other.bind_slot(publication)
                        changed.append(other)
        return changed

    def _audio_level_observer(self, member_id: str) -> aiortc_hooks.RtpObserver:
        detector = self._voice.setdefault(
            member_id, VoiceActivityDetector(self._voice_activity_config)
        )

        def observe(packet: RtpPacket, _media_ssrc: int) -> None:
            audio_level = packet.extensions.audio_level
            if audio_level is None:
                return
            now = self._clock()
            level = int(audio_level[1])
            if self._on_audio_level is not None:
                try:
                    self._on_audio_level(member_id, level, now)
                except Exception:  # must not break aiortc's receive loop
                    logger.exception("on_audio_level failed in room %s", self.room_id)
            if not self._gates.get((member_id, "audio"), True):
                return  # talk time counts what the group hears
            change = detector.observe(level, now)
            if change is not None:
                self._report_voice(member_id, change)

        return observe

    def _report_voice(self, member_id: str, speaking: bool) -> None:
        if speaking:  # the current speaker keeps its camera under last-N
            if member_id in self._speakers:
                self._speakers.remove(member_id)
            self._speakers.insert(0, member_id)
        if self._on_voice_activity is None:
            return
        try:
            self._on_voice_activity(member_id, speaking, self._clock())
        except Exception:  # called from aiortc's receive loop, which must keep running
            logger.exception("on_voice_activity failed in room %s", self.room_id)

    def _set_gate(self, member_id: str, kind: str, open_: bool) -> None:
        self._gates[(member_id, kind)] = open_
        publication = self._published.get(member_id, {}).get(kind)
        if publication is not None:
            publication.set_gate(open_)

    def _schedule_negotiation(self, leg: MemberLeg) -> None:
        if self._closed:
            return
        task = asyncio.ensure_future(self._negotiate(leg))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _negotiate(self, leg: MemberLeg) -> None:
        """Send the leg one offer if its slots changed, or just the new track map."""
        if not await leg.wait_connected():
            # The member answered our answer but never connected; its next join replaces the leg.
            logger.warning("relay leg did not connect in room %s", self.room_id)
            return
        async with self._lock:
            if self._legs.get(leg.member_id) is not leg or leg.offer_in_flight:
                return  # replaced, or accept_answer will schedule us again
            if leg.needs_offer():
                offer: str | None = await leg.create_offer()
            elif leg.track_map() != leg.last_sent_track_map:
                offer = None
            else:
                return
            tracks = leg.last_sent_track_map = leg.track_map()
        try:
            if offer is not None:
                await self._signals.send_offer(leg.member_id, offer, tracks)
            else:
                await self._signals.send_tracks(leg.member_id, tracks)
        except Exception:
            what = "an offer" if offer is not None else "a track map"
            logger.exception("could not send %s in room %s", what, self.room_id)
            if offer is not None:
                leg.offer_in_flight = False  # the member never saw it; the next change re-offers

    def _check_completeness(self, now: float) -> list[MediaGap]:
        """Each slot owed media (publisher sending, gate open, slot negotiated) against
        its subscriber's receiver reports."""
        sending: set[tuple[str, str]] = set()
        published: set[tuple[str, str]] = set()
        for member_id, publications in self._published.items():
            for source, publication in publications.items():
                key = (member_id, source)
                published.add(key)
                received = publication.counters.rtp_packets_received
                if self._activity.active(key, received) and publication.gate_open:
                    sending.add(key)
        self._activity.forget(published)
        gaps = []
        for leg in self._legs.values():
            for slot in leg.slots:
                publisher = slot.publisher_id
                owed = (
                    slot.track.flowing and not slot.paused and (publisher, slot.source) in sending
                )
                since = slot.reception.missing_since(
                    owed=owed, now=now, limit_s=SILENCE_LIMIT_S[slot.kind]
                )
                if since is not None and publisher is not None:
                    gaps.append(MediaGap(leg.member_id, publisher, slot.source, since))
        return gaps

    def _decide_last_n(self, now: float) -> None:
        """Measure every publication, ask each subscriber's policy, apply, tell the pages."""
        if self._last_n is None:
            return
        keys = []
        for member_id, publications in self._published.items():
            for source, publication in publications.items():
                key = f"{member_id}/{source}"
                keys.append(key)
                self._meter.update(key, publication.counters.bytes_received, now)
        self._meter.forget_others(keys)
        for member_id, leg in self._legs.items():
            reserved, cameras = 0.0, {}
            for slot in leg.slots:
                bound = slot.publication
                if bound is None or not bound.gate_open:
                    continue
                rate = self._meter.rate(f"{bound.member_id}/{bound.source}")
                if bound.source == "video" and bound.member_id not in self._audio_only:
                    cameras[bound.member_id] = rate
                elif bound.source != "video":
                    reserved += rate
            speaker = next((m for m in self._speakers if m != member_id), None)
            keep = self._video_priority | ({speaker} if speaker is not None else set())
            policy = self._last_n_policies.setdefault(member_id, LastNPolicy(self._last_n))
            was, loss = policy.level, leg.downlink_loss.take()
            self._last_n_paused[member_id] = policy.decide(
                now=now,
                estimate_bps=leg.downlink_estimate_bps,
                reserved_bps=reserved,
                video_bps=cameras,
                keep=keep,
                essential=frozenset(self._video_priority),
                loss_fraction=loss,
            )
            if policy.level != was:
                # Figures only (ids are opaque): why a member's cameras paused or came back.
                logger.info(
                    "last-N in room %s: a leg from level %d to %d (estimate %s bit/s, "
                    "reserved %d bit/s, cameras %d bit/s, loss %s)",
                    self.room_id,
                    was,
                    policy.level,
                    leg.downlink_estimate_bps,
                    reserved,
                    sum(cameras.values()),
                    loss,
                )
            self._apply_pauses(leg)

    def _apply_pauses(self, leg: MemberLeg) -> None:
        """Pause the cameras this leg should not get: all of them for an audio-only member,
        else the ones last-N paused; tell the page when the last-N set changes."""
        last_n = self._last_n_paused.get(leg.member_id, frozenset())
        if leg.member_id in self._audio_only:
            leg.pause_cameras(frozenset(self._published))
        else:
            # Audio-only publishers send no camera; nothing of theirs to pause or show.
            leg.pause_cameras(last_n)
        shown = frozenset() if leg.member_id in self._audio_only else last_n - self._audio_only
        if shown != leg.reported_paused:
            leg.reported_paused = shown
            if self._on_video_paused is not None:
                try:
                    self._on_video_paused(leg.member_id, shown)
                except Exception:  # called from the ticker, which must keep running
                    logger.exception("on_video_paused failed in room %s", self.room_id)

    def _ensure_ticker(self) -> None:
        if self._ticker is None:
            self._ticker = asyncio.ensure_future(self._tick())

    async def _tick(self) -> None:
        """End speaking after the hangover even without packets; send the legs'
        sender reports; refresh leg quality."""
        next_quality = self._clock() + QUALITY_INTERVAL
        next_reports = self._clock() + SENDER_REPORT_INTERVAL
        next_completeness = self._clock() + COMPLETENESS_INTERVAL
        next_last_n = self._clock() + LAST_N_INTERVAL
        while not self._closed:
            await asyncio.sleep(TICK_INTERVAL)
            now = self._clock()
            for member_id, detector in list(self._voice.items()):
                if detector.tick(now) is not None:
                    self._report_voice(member_id, False)
            if now >= next_completeness:
                next_completeness = now + COMPLETENESS_INTERVAL
                self._gaps = self._check_completeness(now)
            if now >= next_last_n:
                next_last_n = now + LAST_N_INTERVAL
                self._decide_last_n(now)
            if now >= next_reports:
                next_reports = now + SENDER_REPORT_INTERVAL
                for leg in list(self._legs.values()):
                    try:
                        await leg.send_sender_reports()
                    except Exception:  # one leg's transport must not stop the others'
                        logger.exception("sender reports failed in room %s", self.room_id)
            if now >= next_quality:
                next_quality = now + QUALITY_INTERVAL
                for leg in list(self._legs.values()):
                    with contextlib.suppress(Exception):
                        await leg.refresh_quality()
