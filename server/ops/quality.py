"""Connection quality: a level per participant from RTT, loss and jitter; a health per room.

Thresholds follow common WebRTC practice (ITU-T G.114 puts one-way delay under
150 ms as good for conversation; above ~3 % loss video visibly breaks up).
Documented in docs/operations.md.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum


class Quality(StrEnum):
    EXCELLENT = "excellent"
    GOOD = "good"
    POOR = "poor"
    LOST = "lost"


class RoomHealth(StrEnum):
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    CRITICAL = "critical"
    IDLE = "idle"


@dataclass(frozen=True)
class Thresholds:
    rtt_ms: float
    loss_pct: float
    jitter_ms: float


EXCELLENT = Thresholds(rtt_ms=150.0, loss_pct=1.0, jitter_ms=30.0)
GOOD = Thresholds(rtt_ms=300.0, loss_pct=3.0, jitter_ms=50.0)
# No report (browser) or no stats (relay) for this long means the member is lost.
SILENCE_LOST_S = 12.0
HISTORY_S = 5 * 60.0


@dataclass(frozen=True)
class Sample:
    at: float
    rtt_ms: float | None = None
    loss_pct: float | None = None
    jitter_ms: float | None = None
    bitrate_kbps: float | None = None
    frames_decoded: int | None = None
    connected: bool = True


def _within(sample: Sample, limits: Thresholds) -> bool:
    return (
        (sample.rtt_ms is None or sample.rtt_ms < limits.rtt_ms)
        and (sample.loss_pct is None or sample.loss_pct < limits.loss_pct)
        and (sample.jitter_ms is None or sample.jitter_ms < limits.jitter_ms)
    )


def classify(sample: Sample) -> Quality:
    if not sample.connected:
        return Quality.LOST
    if _within(sample, EXCELLENT):
        return Quality.EXCELLENT
    if _within(sample, GOOD):
        return Quality.GOOD
    return Quality.POOR


def room_health(levels: Iterable[Quality]) -> RoomHealth:
    seen = list(levels)
    if not seen:
        return RoomHealth.IDLE
    if Quality.LOST in seen:
        return RoomHealth.CRITICAL
    if Quality.POOR in seen:
        return RoomHealth.DEGRADED
    return RoomHealth.HEALTHY


@dataclass
class MemberQuality:
    level: Quality
    last_sample_at: float
    history: deque[tuple[float, Sample, Quality]] = field(default_factory=deque)


class QualityTracker:
    """Latest level and a few minutes of history per (room, member). Not persisted."""

    def __init__(self) -> None:
        self._members: dict[tuple[str, str], MemberQuality] = {}

    def record(
        self, room_id: str, member_id: str, sample: Sample
    ) -> tuple[Quality | None, Quality]:
        """Store a sample; return (old level, new level)."""
        level = classify(sample)
        key = (room_id, member_id)
        entry = self._members.get(key)
        old = entry.level if entry is not None else None
        if entry is None:
            entry = MemberQuality(level=level, last_sample_at=sample.at)
            self._members[key] = entry
        entry.level, entry.last_sample_at = level, sample.at
        entry.history.append((sample.at, sample, level))
        while entry.history and entry.history[0][0] < sample.at - HISTORY_S:
            entry.history.popleft()
        return old, level

    def expire_silent(self, now: float) -> list[tuple[str, str, Quality]]:
        """Members with no sample for SILENCE_LOST_S become lost; returns those that changed."""
        changed: list[tuple[str, str, Quality]] = []
        for (room_id, member_id), entry in self._members.items():
            if entry.level is not Quality.LOST and now - entry.last_sample_at > SILENCE_LOST_S:
                changed.append((room_id, member_id, entry.level))
                entry.level = Quality.LOST
        return changed

    def forget(self, room_id: str, member_id: str | None = None) -> None:
        for key in [k for k in self._members if k[0] == room_id]:
            if member_id is None or key[1] == member_id:
                del self._members[key]

    def level(self, room_id: str, member_id: str) -> Quality | None:
        entry = self._members.get((room_id, member_id))
        return None if entry is None else entry.level

    def room_levels(self, room_id: str) -> dict[str, Quality]:
        return {m: e.level for (r, m), e in self._members.items() if r == room_id}

    def history(self, room_id: str, member_id: str) -> list[tuple[float, Sample, Quality]]:
        entry = self._members.get((room_id, member_id))
        return [] if entry is None else list(entry.history)

    def counts(self) -> dict[str, int]:
        counts = {q.value: 0 for q in Quality}
        for entry in self._members.values():
            counts[entry.level.value] += 1
        return counts
