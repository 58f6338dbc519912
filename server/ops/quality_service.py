"""Quality levels from browsers' reports (individual rooms) and the relay's own stats (groups)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from rooms.events import DomainEvent, MemberLeft
from rooms.room import Room
from server.media.relay import GroupRelay
from server.media.relay.relay_stats import LegStats
from server.ops.alerts import Alert, AlertKind, AlertLog
from server.ops.metrics import Metrics
from server.ops.quality import Quality, QualityTracker, RoomHealth, Sample, room_health
from signaling.ports import Identity

# (subscriber, publisher, kind): a member not receiving a track the relay owes it.
GapKey = tuple[str, str, str]


class QualitySignals(Protocol):
    """Who hears of quality changes (the member and its therapists); wired to the wire
    by server/ops/quality_wire.py."""

    async def quality_changed(self, room_id: str, member_id: str, level: Quality) -> None: ...

    async def media_gaps_changed(self, room_id: str, gaps: set[GapKey]) -> None: ...


@dataclass
class _RelayCounters:
    # member -> the leg's cumulative counters at the last sample
    legs: dict[str, LegStats] = field(default_factory=dict)
    dropped_overload: int = 0


def interval_loss_pct(lost: int, delivered: int) -> float | None:
    """Loss over one sampling interval; None when nothing was due."""
    lost, delivered = max(0, lost), max(0, delivered)
    return 100.0 * lost / (lost + delivered) if lost + delivered > 0 else None


def leg_loss_pct(before: LegStats | None, now: LegStats) -> float | None:
    """The worse direction: what the relay missed of the member's media (uplink), or what
    the member reports missing of the relay's (downlink)."""
    up = interval_loss_pct(
        now.packets_lost_from_member - (before.packets_lost_from_member if before else 0),
        now.packets_received_from_member - (before.packets_received_from_member if before else 0),
    )
    lost_down = now.packets_lost_by_member - (before.packets_lost_by_member if before else 0)
    sent_down = now.packets_sent_to_member - (before.packets_sent_to_member if before else 0)
    down = interval_loss_pct(lost_down, sent_down - max(0, lost_down))
    known = [x for x in (up, down) if x is not None]
    return max(known) if known else None


class QualityService:
    """Implements signaling's StatsSink; tells the member and its therapists of changes."""

    def __init__(
        self,
        metrics: Metrics,
        alerts: AlertLog,
        *,
        signals: QualitySignals,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.tracker = QualityTracker()
        self._metrics = metrics
        self._alerts = alerts
        self._signals = signals
        self._clock = clock
        self._relay_counters: dict[str, _RelayCounters] = {}
        self._health: dict[str, RoomHealth] = {}
        self._gaps: dict[str, set[GapKey]] = {}

    async def report(self, identity: Identity, stats: dict[str, Any]) -> None:
        sample = Sample(
            at=self._clock(),
            rtt_ms=stats.get("rtt_ms"),
            loss_pct=stats.get("loss_pct"),
            jitter_ms=stats.get("jitter_ms"),
            bitrate_kbps=stats.get("bitrate_kbps"),
            frames_decoded=stats.get("frames_decoded"),
            connected=bool(stats.get("connected", True)),
        )
        await self._record(identity.room, identity.member_id, sample)

    async def _record(self, room_id: str, member_id: str, sample: Sample) -> None:
        old, new = self.tracker.record(room_id, member_id, sample)
        if old is not new:
            await self._changed(room_id, member_id, old, new)

    async def _changed(
        self, room_id: str, member_id: str, old: Quality | None, new: Quality
    ) -> None:
        self._metrics.quality_changed(old.value if old else None, new.value)
        await self._signals.quality_changed(room_id, member_id, new)
        now = self._clock()
        if new is Quality.LOST:
            self._alerts.raise_alert(
                Alert(
                    now,
                    AlertKind.MEMBER_LOST,
                    room_id,
                    member_id,
                    "no media statistics or connection failed",
                )
            )
        self._note_health(room_id, now)

    def _note_health(self, room_id: str, now: float) -> None:
        health = self.room_health(room_id)
        previous = self._health.get(room_id)
        self._health[room_id] = health
        if health in (RoomHealth.DEGRADED, RoomHealth.CRITICAL) and previous != health:
            self._alerts.raise_alert(
                Alert(now, AlertKind.ROOM_DEGRADED, room_id, None, f"room health is {health.value}")
            )

    async def check_media(self, relays: Mapping[str, GroupRelay]) -> None:
        """Group members owed a track they do not receive: alert, count, tell the therapists."""
        now = self._clock()
        for room_id in [r for r in self._gaps if r not in relays]:
            del self._gaps[room_id]
        for room_id, relay in relays.items():
            gaps = {(g.subscriber, g.publisher, g.kind) for g in relay.media_gaps()}
            before = self._gaps.get(room_id, set())
            if gaps == before:
                continue
            self._gaps[room_id] = gaps
            for subscriber, publisher, kind in sorted(gaps - before):
                self._metrics.media_gap(kind)
                self._alerts.raise_alert(
                    Alert(
                        now,
                        AlertKind.MEDIA_INCOMPLETE,
                        room_id,
                        subscriber,
                        f"not receiving {kind}",
                        source=publisher,
                    )
                )
            await self._signals.media_gaps_changed(room_id, set(gaps))
            self._note_health(room_id, now)
        self._metrics.set_open_media_gaps(sum(len(g) for g in self._gaps.values()))

    def media_gaps(self, room_id: str) -> set[GapKey]:
        return set(self._gaps.get(room_id, ()))

    async def sample_relays(self, relays: Mapping[str, GroupRelay]) -> None:
        """Group members: RTT, jitter and loss in both directions from the relay's legs."""
        now = self._clock()
        for room_id, relay in relays.items():
            stats = relay.stats()
            counters = self._relay_counters.setdefault(room_id, _RelayCounters())
            for member_id, leg in stats.legs.items():
                loss_pct = leg_loss_pct(counters.legs.get(member_id), leg)
                counters.legs[member_id] = leg
                sample = Sample(
                    at=now,
                    rtt_ms=None if leg.round_trip_time is None else leg.round_trip_time * 1000,
                    loss_pct=loss_pct,
                    jitter_ms=None if leg.jitter_to_relay is None else leg.jitter_to_relay * 1000,
                    connected=leg.connection_state in ("connected", "connecting", "new"),
                )
                await self._record(room_id, member_id, sample)
            overload = stats.frames_dropped_overload
            if overload > counters.dropped_overload:
                self._alerts.raise_alert(
                    Alert(
                        now,
                        AlertKind.RELAY_OVERLOADED,
                        room_id,
                        None,
                        f"{overload - counters.dropped_overload} frames "
                        "dropped for slow subscribers",
                    )
                )
            counters.dropped_overload = overload

    async def expire_silent(self) -> None:
        for room_id, member_id, old in self.tracker.expire_silent(self._clock()):
            await self._changed(room_id, member_id, old, Quality.LOST)

    def room_health(self, room_id: str) -> RoomHealth:
        """From the members' quality levels; a member missing media degrades a healthy room."""
        health = room_health(self.tracker.room_levels(room_id).values())
        if health is RoomHealth.HEALTHY and self._gaps.get(room_id):
            return RoomHealth.DEGRADED
        return health

    def forget(self, room_id: str, member_id: str | None = None) -> None:
        self.tracker.forget(room_id, member_id)
        if member_id is None:
            self._relay_counters.pop(room_id, None)
            self._health.pop(room_id, None)
            self._gaps.pop(room_id, None)


class QualityForgetter:
    """Room listener: a member who left (or a room that ended) has no quality any more."""

    def __init__(self, quality: QualityService) -> None:
        self._quality = quality

    async def __call__(self, room: Room, events: Sequence[DomainEvent]) -> None:
        if room.is_over:
            self._quality.forget(room.id)
            return
        for event in events:
            if isinstance(event, MemberLeft):
                self._quality.forget(room.id, event.member.id)
