"""Go-around (check-in round): order, pass, skip, extend, joiners and leavers."""

from __future__ import annotations

import pytest

from rooms.floor import engine as floor
from rooms.floor.errors import FloorError
from rooms.floor.events import (
    FloorGranted,
    GoAroundEnded,
    GoAroundSkipped,
    GoAroundStarted,
    GrantReason,
    ModeChanged,
)
from rooms.floor.state import FloorMode, FloorSettings, FloorState, new_floor

MEMBERS = ("ana", "ben", "cai", "dee")


def round_of(
    members: tuple[str, ...] = MEMBERS,
    return_to: FloorMode = FloorMode.OPEN,
    settings: FloorSettings | None = None,
) -> tuple[FloorState, tuple[object, ...]]:
    state = new_floor(0.0, settings)
    for member in members:
        state, _ = floor.join(state, member, 0.0)
    state, _ = floor.set_mode(state, return_to, 0.0)
    return floor.set_mode(state, FloorMode.GO_AROUND, 1.0)


def test_round_starts_in_join_order_with_the_first_member_speaking() -> None:
    state, events = round_of()
    assert GoAroundStarted(MEMBERS, 120.0, 1.0) in events
    assert FloorGranted("ana", GrantReason.GO_AROUND, 120.0, 1.0) in events
    assert state.holder == "ana"


def test_each_member_speaks_once_then_the_round_returns_to_the_previous_mode() -> None:
    state, _ = round_of(return_to=FloorMode.HAND_QUEUE)
    spoke = [state.holder]
    now = 1.0
    while state.mode is FloorMode.GO_AROUND:
        now += 10.0
        assert state.holder is not None
        state, events = floor.yield_floor(state, state.holder, now)
        if state.holder is not None:
            spoke.append(state.holder)
    assert spoke == list(MEMBERS)
    assert GoAroundEnded(now) in events
    assert ModeChanged(FloorMode.GO_AROUND, FloorMode.HAND_QUEUE, now) in events
    assert state.mode is FloorMode.HAND_QUEUE and state.go_around is None


def test_pass_counts_as_the_turn() -> None:
    state, _ = round_of()
    state, _ = floor.pass_turn(state, "ana", 2.0)
    assert state.holder == "ben"
    with pytest.raises(FloorError) as excinfo:
        floor.pass_turn(state, "ana", 3.0)
    assert excinfo.value.code == "not_floor_holder"


def test_therapist_skips_the_speaker_or_someone_still_to_come() -> None:
    state, _ = round_of()
    state, events = floor.skip(state, "cai", 2.0)
    assert events == (GoAroundSkipped("cai", 2.0),)
    state, _ = floor.skip(state, "ana", 3.0)
    assert state.holder == "ben"
    state, _ = floor.yield_floor(state, "ben", 4.0)
    assert state.holder == "dee"
    with pytest.raises(FloorError) as excinfo:
        floor.skip(state, "cai", 5.0)
    assert excinfo.value.code == "already_had_turn"


def test_late_joiner_is_appended_and_leaver_removed() -> None:
    state, _ = round_of(("ana", "ben", "cai"))
    state, _ = floor.join(state, "eve", 2.0)
    state, _ = floor.leave(state, "ben", 3.0)
    assert state.go_around is not None and state.go_around.order == ("ana", "cai", "eve")
    order = [state.holder]
    while state.mode is FloorMode.GO_AROUND:
        assert state.holder is not None
        state, _ = floor.yield_floor(state, state.holder, 4.0)
        order.append(state.holder)
    assert order == ["ana", "cai", "eve", None]


def test_speaker_leaving_mid_turn_moves_the_round_on() -> None:
    state, _ = round_of()
    state, _ = floor.leave(state, "ana", 5.0)
    assert state.holder == "ben"


def test_last_speaker_leaving_ends_the_round() -> None:
    state, _ = round_of(("ana",))
    state, events = floor.leave(state, "ana", 5.0)
    assert state.mode is FloorMode.OPEN and state.holder is None
    assert GoAroundEnded(5.0) in events


def test_rejoining_does_not_earn_a_second_turn() -> None:
    state, _ = round_of(("ana", "ben", "cai"))
    state, _ = floor.yield_floor(state, "ana", 2.0)
    state, _ = floor.leave(state, "ana", 3.0)
    state, _ = floor.join(state, "ana", 4.0)
    state, _ = floor.yield_floor(state, "ben", 5.0)
    state, _ = floor.yield_floor(state, "cai", 6.0)
    assert state.mode is FloorMode.OPEN


def test_no_directed_grants_during_a_round() -> None:
    state, _ = round_of()
    with pytest.raises(FloorError) as excinfo:
        floor.give_floor(state, "dee", 2.0)
    assert excinfo.value.code == "go_around_in_progress"


def test_go_around_needs_members() -> None:
    with pytest.raises(FloorError) as excinfo:
        floor.set_mode(new_floor(0.0), FloorMode.GO_AROUND, 1.0)
    assert excinfo.value.code == "no_members"


def test_switching_away_cuts_the_round_short() -> None:
    state, _ = round_of()
    state, events = floor.set_mode(state, FloorMode.DIRECTED, 9.0)
    assert GoAroundEnded(9.0) in events
    assert state.go_around is None and state.holder is None


def test_go_around_turn_uses_its_own_length() -> None:
    settings = FloorSettings(go_around_turn_s=60.0, turn_limit_s=300.0)
    state, _ = round_of(settings=settings)
    assert state.turn is not None and state.turn.limit_s == 60.0
