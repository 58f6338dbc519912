"""signaling.rate_limit.TokenBucket: refill, burst, and the flooding window.

tests/signaling/test_rate_limit.py drives the flood rule with realistic senders;
these pin the bucket's arithmetic at its edges.
"""

from __future__ import annotations

import pytest

from signaling.rate_limit import QUIET_S, TokenBucket


def test_a_new_bucket_holds_a_full_burst() -> None:
    bucket = TokenBucket(rate_per_s=2.0, burst=5.0)
    assert [bucket.take(0.0) for _ in range(6)] == [True] * 5 + [False]


def test_tokens_refill_at_the_rate() -> None:
    bucket = TokenBucket(rate_per_s=2.0, burst=5.0, tokens=0.0)
    assert not bucket.take(0.0)
    assert not bucket.take(0.49)  # 0.98 tokens
    assert bucket.take(0.5)  # one whole token
    assert not bucket.take(0.5)
    assert bucket.take(1.0)


def test_refill_never_exceeds_the_burst() -> None:
    bucket = TokenBucket(rate_per_s=10.0, burst=3.0, tokens=0.0)
    bucket.take(1000.0)
    assert bucket.tokens == pytest.approx(2.0)  # refilled to 3, one taken


def test_updated_at_is_where_refill_counts_from() -> None:
    bucket = TokenBucket(rate_per_s=1.0, burst=2.0, tokens=0.0, updated_at=100.0)
    assert not bucket.take(100.5)
    assert bucket.take(101.0)


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 5.0), (-1.0, 5.0), (1.0, 0.5)])
def test_nonsense_limits_are_refused(rate: float, burst: float) -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate_per_s=rate, burst=burst)


def test_no_refusal_is_no_flood() -> None:
    bucket = TokenBucket(rate_per_s=1.0, burst=1.0)
    assert bucket.take(0.0)
    assert not bucket.is_flooding(100.0)


def refuse(bucket: TokenBucket, times: list[float]) -> None:
    for at in times:
        assert not bucket.take(at)


def test_a_flood_counts_only_after_the_window() -> None:
    # rate 1/s, factor 10: flooding is 10 refusals a second, on average, for 3 s.
    bucket = TokenBucket(rate_per_s=1.0, burst=1.0, tokens=0.0)
    accepted = sum(bucket.take(i * 0.05) for i in range(60))  # 20 msg/s for 3 s
    assert accepted == 2  # the refill lets one a second through; the run goes on
    assert bucket.refused_since == 0.0
    assert not bucket.is_flooding(2.99)
    assert bucket.is_flooding(3.0)


def test_a_slow_run_of_refusals_is_not_a_flood() -> None:
    bucket = TokenBucket(rate_per_s=1.0, burst=1.0, tokens=0.0)
    bucket.take(0.0)
    # 9 refusals a second on average is under the factor of 10.
    bucket.refused_count = 27
    assert not bucket.is_flooding(3.0)
    bucket.refused_count = 30
    assert bucket.is_flooding(3.0)


def test_the_window_and_factor_can_be_chosen() -> None:
    bucket = TokenBucket(rate_per_s=1.0, burst=1.0, tokens=0.0)
    refuse(bucket, [0.0, 0.1, 0.2, 0.3, 0.4])
    assert not bucket.is_flooding(0.5)
    assert bucket.is_flooding(0.5, window_s=0.5, factor=10.0)
    assert not bucket.is_flooding(0.5, window_s=0.5, factor=11.0)


def test_a_quiet_second_ends_the_run() -> None:
    bucket = TokenBucket(rate_per_s=0.001, burst=1.0, tokens=0.0)
    refuse(bucket, [0.0, 0.5])
    assert bucket.refused_count == 2
    refuse(bucket, [0.5 + QUIET_S])  # exactly QUIET_S later: still the same run
    assert (bucket.refused_since, bucket.refused_count) == (0.0, 3)
    refuse(bucket, [1.5 + QUIET_S + 0.01])  # more than QUIET_S: a new run
    assert (bucket.refused_since, bucket.refused_count) == (1.5 + QUIET_S + 0.01, 1)


def test_accepted_messages_do_not_end_a_run() -> None:
    bucket = TokenBucket(rate_per_s=10.0, burst=1.0, tokens=0.0)
    refuse(bucket, [0.0, 0.01])
    assert bucket.take(0.2)  # refilled: accepted, mid-flood
    refuse(bucket, [0.21])
    assert (bucket.refused_since, bucket.refused_count) == (0.0, 3)
