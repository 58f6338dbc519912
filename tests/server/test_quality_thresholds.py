"""server.ops.quality: a level per sample at the documented thresholds, a health per room.

docs/operations.md: excellent is RTT < 150 ms, loss < 1 %, jitter < 30 ms; good is
RTT < 300 ms, loss < 3 %, jitter < 50 ms; anything worse is poor. The bounds are
strict: a sample exactly at a bound belongs to the worse level.
"""

from __future__ import annotations

import pytest

from server.ops.quality import (
    SILENCE_LOST_S,
    Quality,
    QualityTracker,
    RoomHealth,
    Sample,
    classify,
    room_health,
)

E, G, P, L = Quality.EXCELLENT, Quality.GOOD, Quality.POOR, Quality.LOST


@pytest.mark.parametrize(
    ("field", "value", "level"),
    [
        ("rtt_ms", 0.0, E),
        ("rtt_ms", 149.999, E),
        ("rtt_ms", 150.0, G),
        ("rtt_ms", 299.999, G),
        ("rtt_ms", 300.0, P),
        ("loss_pct", 0.999, E),
        ("loss_pct", 1.0, G),
        ("loss_pct", 2.999, G),
        ("loss_pct", 3.0, P),
        ("loss_pct", 100.0, P),
        ("jitter_ms", 29.999, E),
        ("jitter_ms", 30.0, G),
        ("jitter_ms", 49.999, G),
        ("jitter_ms", 50.0, P),
    ],
)
def test_each_metric_at_its_bounds(field: str, value: float, level: Quality) -> None:
    assert classify(Sample(at=0.0, **{field: value})) is level


def test_the_worst_metric_decides() -> None:
    assert classify(Sample(at=0.0, rtt_ms=10.0, loss_pct=0.0, jitter_ms=30.0)) is G
    assert classify(Sample(at=0.0, rtt_ms=10.0, loss_pct=3.0, jitter_ms=1.0)) is P
    assert classify(Sample(at=0.0, rtt_ms=149.0, loss_pct=0.9, jitter_ms=29.0)) is E


def test_missing_metrics_do_not_count_against_a_sample() -> None:
    assert classify(Sample(at=0.0)) is E
    assert classify(Sample(at=0.0, rtt_ms=None, loss_pct=2.0)) is G


def test_a_failed_connection_is_lost_whatever_its_numbers() -> None:
    assert classify(Sample(at=0.0, rtt_ms=1.0, loss_pct=0.0, connected=False)) is L


@pytest.mark.parametrize(
    ("levels", "health"),
    [
        ([], RoomHealth.IDLE),
        ([E], RoomHealth.HEALTHY),
        ([E, G, G], RoomHealth.HEALTHY),
        ([E, P], RoomHealth.DEGRADED),
        ([P, P], RoomHealth.DEGRADED),
        ([E, L], RoomHealth.CRITICAL),
        ([P, L, G], RoomHealth.CRITICAL),
    ],
)
def test_room_health(levels: list[Quality], health: RoomHealth) -> None:
    assert room_health(levels) is health
    assert room_health(iter(levels)) is health  # any iterable, read once


def test_silence_makes_a_member_lost_only_after_the_limit() -> None:
    tracker = QualityTracker()
    tracker.record("r", "a", Sample(at=100.0, rtt_ms=20.0))
    assert tracker.expire_silent(100.0 + SILENCE_LOST_S) == []
    assert tracker.expire_silent(100.0 + SILENCE_LOST_S + 0.001) == [("r", "a", E)]
    assert tracker.level("r", "a") is L
    # Already lost: not reported again.
    assert tracker.expire_silent(1000.0) == []


def test_record_returns_the_old_and_new_level() -> None:
    tracker = QualityTracker()
    assert tracker.record("r", "a", Sample(at=0.0, rtt_ms=20.0)) == (None, E)
    assert tracker.record("r", "a", Sample(at=5.0, rtt_ms=150.0)) == (E, G)
    assert tracker.room_levels("r") == {"a": G}
