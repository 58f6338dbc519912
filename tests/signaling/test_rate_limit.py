"""The flood rule: a sustained flood is cut off within seconds, a burst is not."""

from __future__ import annotations

from signaling.rate_limit import TokenBucket


def send(bucket: TokenBucket, rate: float, seconds: float, start: float = 0.0) -> float | None:
    """Send at `rate` msg/s for `seconds`; the time the flood rule fired, if it did."""
    count = int(rate * seconds)
    for i in range(count):
        now = start + i / rate
        if not bucket.take(now) and bucket.is_flooding(now):
            return now
    return None


def test_sustained_flood_is_cut_off_within_seconds() -> None:
    # The probe's sender: 460 msg/s for 8.5 s was never cut off, because every message
    # the refilling bucket let through reset the refusal window.
    fired = send(TokenBucket(20.0, 60.0), 460.0, 8.5)
    assert fired is not None and fired <= 4.0, fired


def test_burst_then_quiet_is_not_a_flood() -> None:
    bucket = TokenBucket(20.0, 60.0)
    assert send(bucket, 1000.0, 0.2) is None  # 200 at once: 140 refused
    assert send(bucket, 10.0, 10.0, start=1.0) is None  # then a normal pace


def test_twice_the_rate_is_refused_but_not_a_flood() -> None:
    assert send(TokenBucket(20.0, 60.0), 40.0, 20.0) is None


def test_refusals_end_after_a_quiet_second() -> None:
    bucket = TokenBucket(20.0, 1.0)
    assert send(bucket, 500.0, 2.0) is None  # a 2 s flood: not yet "sustained"
    assert send(bucket, 500.0, 2.0, start=3.5) is None  # the run restarted after the gap
