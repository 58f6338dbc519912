"""Fair-share turn limits: a member over 1/N of the talk so far gets a shorter turn."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rooms.floor import engine as floor
from rooms.floor.events import (
    FloorGranted,
    FloorReleased,
    GrantReason,
    ReleaseReason,
    TurnLimitReached,
    TurnWarning,
)
from rooms.floor.state import FloorMode, FloorSettings, FloorState, TurnLimitAction, new_floor
from rooms.turn_limits import fair_share_floor_s, fair_share_limit, granted_limit

MEMBERS = ("ana", "ben", "cai", "dee")
DEFAULTS = FloorSettings()


def talked(spoken: dict[str, float], **settings: object) -> FloorState:
    """Four members in open mode who have spoken `spoken` seconds, one after another.
    The base turn limit is 120 s unless `settings` say otherwise."""
    settings = {"turn_limit_s": 120.0, **settings}
    state = new_floor(0.0, FloorSettings(**settings))  # type: ignore[arg-type]
    for member in MEMBERS:
        state, _ = floor.join(state, member, 0.0)
    now = 0.0
    for member, seconds in spoken.items():
        state, _ = floor.voice(state, member, True, now)
        now += seconds
        state, _ = floor.voice(state, member, False, now)
    return state


def granted(state: FloorState, member: str, mode: FloorMode = FloorMode.DIRECTED) -> float | None:
    now = state.clock + 1.0
    state, _ = floor.set_mode(state, mode, now)
    state, events = floor.give_floor(state, member, now)
    grant = next(e for e in events if isinstance(e, FloorGranted))
    assert state.turn is not None and state.turn.limit_s == grant.limit_s
    return grant.limit_s


# The computation


def test_nobody_spoke_or_at_fair_share_keeps_the_base_limit() -> None:
    assert fair_share_limit(DEFAULTS, 120.0, 0.0, [0.0, 0.0, 0.0, 0.0]) == 120.0
    assert fair_share_limit(DEFAULTS, 120.0, 25.0, [25.0, 25.0, 25.0, 25.0]) == 120.0
    assert fair_share_limit(DEFAULTS, 120.0, 10.0, [10.0, 70.0, 10.0, 10.0]) == 120.0
    assert fair_share_limit(DEFAULTS, 120.0, 0.0, []) == 120.0


def test_limit_shrinks_by_fair_share_over_member_share() -> None:
    # Mean talk 20 s, the member 60 s: a third of the base limit.
    assert fair_share_limit(DEFAULTS, 120.0, 60.0, [60.0, 20.0, 0.0, 0.0]) == pytest.approx(40.0)
    # Mean 25 s, the member 40 s: 25/40 of the base.
    assert fair_share_limit(DEFAULTS, 120.0, 40.0, [40.0, 30.0, 20.0, 10.0]) == pytest.approx(75.0)


def test_limit_is_clamped_to_the_floor() -> None:
    # All the talk so far: share 1 against a fair share of 1/4.
    assert fair_share_limit(DEFAULTS, 120.0, 500.0, [500.0, 0.0, 0.0, 0.0]) == 30.0
    # 25% of a 180 s base is 45 s, more than the 30 s minimum.
    assert fair_share_limit(DEFAULTS, 180.0, 500.0, [500.0, 0.0, 0.0, 0.0]) == 45.0
    assert fair_share_floor_s(DEFAULTS, 180.0) == 45.0
    # The floor is never above the base itself.
    assert fair_share_limit(DEFAULTS, 20.0, 500.0, [500.0, 0.0, 0.0, 0.0]) == 20.0
    strict = FloorSettings(fair_share_min_fraction=0.5, fair_share_min_s=10.0)
    assert fair_share_limit(strict, 120.0, 500.0, [500.0, 0.0, 0.0, 0.0]) == 60.0


@pytest.mark.parametrize(
    "bad",
    [
        {"fair_share_min_fraction": 0.0},
        {"fair_share_min_fraction": 1.5},
        {"fair_share_min_s": 0.0},
        {"fair_share_min_s": float("nan")},
    ],
)
def test_settings_reject_nonsense(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        FloorSettings(**bad)  # type: ignore[arg-type]


# Granting the floor


def test_on_by_default_in_directed_mode() -> None:
    assert DEFAULTS.fair_share_limits
    state = talked({"ana": 60.0, "ben": 20.0})
    assert granted(state, "ana") == pytest.approx(40.0)
    assert granted(state, "ben") == 120.0
    assert granted(state, "cai") == 120.0


def test_hand_queue_grants_carry_the_fair_share_limit() -> None:
    state = talked({"ana": 60.0, "ben": 20.0}, turn_limit_s=120.0, auto_advance=True)
    state, _ = floor.set_mode(state, FloorMode.HAND_QUEUE, 100.0)
    state, events = floor.raise_hand(state, "ana", 101.0)
    grant = next(e for e in events if isinstance(e, FloorGranted))
    assert (grant.member, grant.reason) == ("ana", GrantReason.AUTO_ADVANCE)
    assert grant.limit_s == pytest.approx(40.0)
    state, _ = floor.yield_floor(state, "ana", 102.0)
    state, _ = floor.raise_hand(state, "ben", 103.0)
    assert state.turn is not None and state.turn.limit_s == 120.0


def test_off_switch_gives_everyone_the_base_limit() -> None:
    state = talked({"ana": 600.0}, fair_share_limits=False)
    assert granted(state, "ana") == 120.0
    assert granted(state, "ana", FloorMode.HAND_QUEUE) == 120.0


def test_no_base_limit_means_no_limit() -> None:
    state = talked({"ana": 600.0}, turn_limit_s=None)
    assert granted(state, "ana") is None


def test_go_around_turns_are_equal() -> None:
    state = talked({"ana": 600.0, "ben": 1.0}, go_around_turn_s=90.0)
    state, events = floor.set_mode(state, FloorMode.GO_AROUND, 700.0)
    assert FloorGranted("ana", GrantReason.GO_AROUND, 90.0, 700.0) in events
    assert granted_limit(state, "ana", 700.0) == 90.0


def test_only_present_participants_count() -> None:
    # A therapist's speech is not the group's talk: ana still has half of it.
    state = talked({"ana": 40.0, "ben": 40.0})
    state, _ = floor.voice(state, "dr_t", True, 80.0, privileged=True)
    state, _ = floor.voice(state, "dr_t", False, 1000.0, privileged=True)
    assert granted(state, "ana") == pytest.approx(60.0)
    # Someone who left is not in the mean: ana now has all 40 s said among three.
    state, _ = floor.leave(state, "ben", 1001.0)
    assert granted(state, "ana") == pytest.approx(40.0)


def test_limit_is_fixed_at_grant_time() -> None:
    state = talked({"ana": 60.0, "ben": 20.0}, on_turn_limit=TurnLimitAction.ADVANCE)
    state, _ = floor.set_mode(state, FloorMode.DIRECTED, 100.0)
    state, _ = floor.give_floor(state, "ben", 100.0)
    state, _ = floor.voice(state, "ben", True, 100.0)
    # Ben passes his fair share while speaking; his running turn keeps its limit.
    state, events = floor.tick(state, 195.0)
    assert state.turn is not None and state.turn.limit_s == 120.0
    assert events == ()


def test_warning_and_limit_follow_the_members_own_limit() -> None:
    # Ana has half the talk against a fair share of a quarter: a 60 s turn.
    state = talked({"ana": 40.0, "ben": 40.0}, on_turn_limit=TurnLimitAction.ADVANCE)
    state, _ = floor.set_mode(state, FloorMode.DIRECTED, 100.0)
    state, _ = floor.give_floor(state, "ana", 100.0)
    assert state.turn is not None and state.turn.limit_s == 60.0
    state, events = floor.tick(state, 147.0)
    assert events == ()
    state, events = floor.tick(state, 148.0)  # 0.8 of her own 60 s
    assert events == (TurnWarning("ana", 12.0, 148.0),)
    state, events = floor.tick(state, 160.0)
    assert events == (
        TurnLimitReached("ana", TurnLimitAction.ADVANCE, 160.0),
        FloorReleased("ana", ReleaseReason.TIME_UP, 60.0, 160.0),
    )
    assert state.holder is None


def test_a_short_turn_can_still_be_extended() -> None:
    state = talked({"ana": 600.0})
    state, _ = floor.set_mode(state, FloorMode.DIRECTED, 601.0)
    state, _ = floor.give_floor(state, "ana", 601.0)
    state, _ = floor.extend_turn(state, 60.0, 602.0)
    assert state.turn is not None and state.turn.limit_s == 90.0


# Property: the granted limit always lies between the floor and the base


seconds = st.floats(min_value=0.0, max_value=4000.0, allow_nan=False)


@given(
    base=st.floats(min_value=1.0, max_value=3600.0),
    min_fraction=st.floats(min_value=0.01, max_value=1.0),
    min_s=st.floats(min_value=1.0, max_value=600.0),
    others=st.lists(seconds, max_size=11),
    member_s=seconds,
)
def test_limit_between_floor_and_base_and_full_at_fair_share(
    base: float, min_fraction: float, min_s: float, others: list[float], member_s: float
) -> None:
    config = FloorSettings(fair_share_min_fraction=min_fraction, fair_share_min_s=min_s)
    present = [member_s, *others]
    limit = fair_share_limit(config, base, member_s, present)
    assert fair_share_floor_s(config, base) <= limit <= base
    if member_s * len(present) <= sum(present):
        assert limit == base
    # Talking more never earns a longer turn.
    more = member_s + 60.0
    assert fair_share_limit(config, base, more, [more, *others]) <= limit


@given(
    turns=st.lists(
        st.tuples(st.sampled_from(MEMBERS), st.integers(min_value=0, max_value=300)),
        max_size=25,
    ),
    mode=st.sampled_from([FloorMode.DIRECTED, FloorMode.HAND_QUEUE]),
    base=st.sampled_from([20.0, 60.0, 120.0, 180.0]),
    min_fraction=st.sampled_from([0.25, 0.5]),
    min_s=st.sampled_from([10.0, 30.0]),
)
def test_granted_limits_follow_the_talk_so_far(
    turns: list[tuple[str, int]], mode: FloorMode, base: float, min_fraction: float, min_s: float
) -> None:
    """Real commands, uneven talk: every grant carries the fair-share limit of the talk
    before it (an independent tally, in whole seconds so it is exact), between the floor
    and the base."""
    config = FloorSettings(
        turn_limit_s=base, fair_share_min_fraction=min_fraction, fair_share_min_s=min_s
    )
    state = new_floor(0.0, config)
    for member in MEMBERS:
        state, _ = floor.join(state, member, 0.0)
    state, _ = floor.set_mode(state, mode, 0.0)
    tally = dict.fromkeys(MEMBERS, 0.0)
    now = 0.0
    for member, duration in turns:
        now += 1.0
        state, events = floor.give_floor(state, member, now)
        limit = next(e for e in events if isinstance(e, FloorGranted)).limit_s
        assert limit is not None
        floor_s = fair_share_floor_s(config, base)
        assert floor_s <= limit <= base
        mean = sum(tally.values()) / len(tally)
        if tally[member] <= mean * (1 + 1e-9):
            assert limit == pytest.approx(base)
        else:
            assert limit == pytest.approx(max(floor_s, base * mean / tally[member]))
        state, _ = floor.voice(state, member, True, now)
        now += duration
        state, _ = floor.voice(state, member, False, now)
        state, _ = floor.yield_floor(state, member, now)
        tally[member] += duration
