"""Speaking timer: soft warning, then advance or notify at the limit; extensions."""

from __future__ import annotations

import pytest

from rooms.floor import engine as floor
from rooms.floor.errors import FloorError
from rooms.floor.events import (
    FloorGranted,
    FloorReleased,
    GrantReason,
    ReleaseReason,
    TurnExtended,
    TurnLimitReached,
    TurnWarning,
)
from rooms.floor.state import FloorMode, FloorSettings, FloorState, TurnLimitAction, new_floor
from rooms.speaking_timer import seconds_until_next_deadline


def speaking(
    action: TurnLimitAction, limit_s: float | None = 100.0, mode: FloorMode = FloorMode.HAND_QUEUE
) -> FloorState:
    settings = FloorSettings(turn_limit_s=limit_s, on_turn_limit=action, auto_advance=True)
    state = new_floor(0.0, settings)
    for member in ("ana", "ben"):
        state, _ = floor.join(state, member, 0.0)
    state, _ = floor.set_mode(state, mode, 0.0)
    state, _ = floor.give_floor(state, "ana", 0.0)
    state, _ = floor.raise_hand(state, "ben", 1.0)
    return state


def test_warning_comes_once_at_eighty_percent() -> None:
    state = speaking(TurnLimitAction.NOTIFY_THERAPIST)
    state, events = floor.tick(state, 79.0)
    assert events == ()
    state, events = floor.tick(state, 80.0)
    assert events == (TurnWarning("ana", 20.0, 80.0),)
    state, events = floor.tick(state, 81.0)
    assert events == ()


def test_notify_keeps_the_speaker_and_reports_once() -> None:
    state = speaking(TurnLimitAction.NOTIFY_THERAPIST)
    state, _ = floor.tick(state, 80.0)
    state, events = floor.tick(state, 100.0)
    assert events == (TurnLimitReached("ana", TurnLimitAction.NOTIFY_THERAPIST, 100.0),)
    assert state.holder == "ana"
    state, events = floor.tick(state, 130.0)
    assert events == () and state.holder == "ana"


def test_advance_hands_the_floor_to_the_next_hand() -> None:
    state = speaking(TurnLimitAction.ADVANCE)
    state, events = floor.tick(state, 100.0)
    assert events[0] == TurnWarning("ana", 0.0, 100.0)  # a late tick still warns first
    assert TurnLimitReached("ana", TurnLimitAction.ADVANCE, 100.0) in events
    assert FloorReleased("ana", ReleaseReason.TIME_UP, 100.0, 100.0) in events
    assert FloorGranted("ben", GrantReason.AUTO_ADVANCE, 100.0, 100.0) in events
    assert state.holder == "ben" and state.turn is not None and state.turn.started_at == 100.0


def test_advance_in_directed_mode_frees_the_floor() -> None:
    state = speaking(TurnLimitAction.ADVANCE, mode=FloorMode.DIRECTED)
    state, _ = floor.tick(state, 100.0)
    assert state.holder is None


def test_extend_moves_the_limit_and_rearms_the_warning() -> None:
    state = speaking(TurnLimitAction.NOTIFY_THERAPIST)
    state, _ = floor.tick(state, 100.0)
    state, events = floor.extend_turn(state, 100.0, 101.0)
    assert events == (TurnExtended("ana", 200.0, 101.0),)
    state, events = floor.tick(state, 159.0)
    assert events == ()
    state, events = floor.tick(state, 160.0)
    assert events == (TurnWarning("ana", 40.0, 160.0),)
    state, events = floor.tick(state, 200.0)
    assert events == (TurnLimitReached("ana", TurnLimitAction.NOTIFY_THERAPIST, 200.0),)


def test_extension_must_be_positive_and_needs_a_limit() -> None:
    state = speaking(TurnLimitAction.NOTIFY_THERAPIST)
    with pytest.raises(FloorError) as excinfo:
        floor.extend_turn(state, 0.0, 1.0)
    assert excinfo.value.code == "invalid_extension"
    unlimited = speaking(TurnLimitAction.NOTIFY_THERAPIST, limit_s=None)
    with pytest.raises(FloorError) as excinfo:
        floor.extend_turn(unlimited, 10.0, 1.0)
    assert excinfo.value.code == "no_turn_limit"
    assert floor.tick(unlimited, 10_000.0)[1] == ()


def test_go_around_turns_time_out_into_the_next_member() -> None:
    settings = FloorSettings(go_around_turn_s=60.0, on_turn_limit=TurnLimitAction.ADVANCE)
    state = new_floor(0.0, settings)
    for member in ("ana", "ben"):
        state, _ = floor.join(state, member, 0.0)
    state, _ = floor.set_mode(state, FloorMode.GO_AROUND, 0.0)
    state, _ = floor.tick(state, 60.0)
    assert state.holder == "ben"
    state, _ = floor.tick(state, 120.0)
    assert state.mode is FloorMode.OPEN


def test_next_deadline_lets_the_server_sleep_exactly() -> None:
    state = speaking(TurnLimitAction.NOTIFY_THERAPIST)
    assert seconds_until_next_deadline(state, 10.0) == 70.0
    state, _ = floor.tick(state, 80.0)
    assert seconds_until_next_deadline(state, 80.0) == 20.0
    state, _ = floor.tick(state, 100.0)
    assert seconds_until_next_deadline(state, 100.0) is None


def test_settings_change_keeps_the_running_turn_limit() -> None:
    state = speaking(TurnLimitAction.NOTIFY_THERAPIST)
    state, _ = floor.change_settings(state, FloorSettings(turn_limit_s=10.0), 5.0)
    assert state.turn is not None and state.turn.limit_s == 100.0


@pytest.mark.parametrize(
    "bad",
    [
        {"turn_limit_s": 0.0},
        {"turn_limit_s": float("nan")},
        {"go_around_turn_s": float("inf")},
        {"warn_at_fraction": 1.0},
    ],
)
def test_settings_reject_nonsense(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        FloorSettings(**bad)  # type: ignore[arg-type]
