"""Floor control: open, hand-queue and directed modes, audio gates, mode switches."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import pytest

from rooms.floor import engine as floor
from rooms.floor.errors import FloorError
from rooms.floor.events import (
    FloorGranted,
    FloorOutcome,
    FloorReleased,
    GrantReason,
    HandLowered,
    HandLoweredReason,
    ModeChanged,
    QueueChanged,
    ReleaseReason,
)
from rooms.floor.state import FloorMode, FloorSettings, FloorState, QueuePolicy, new_floor

MEMBERS = ("ana", "ben", "cai", "dee")
THERAPISTS = ("dr_t",)


def group(
    mode: FloorMode = FloorMode.HAND_QUEUE, members: tuple[str, ...] = MEMBERS, **settings: object
) -> FloorState:
    state = new_floor(0.0, FloorSettings(**settings))  # type: ignore[arg-type]
    for member in members:
        state, _ = floor.join(state, member, 0.0)
    state, _ = floor.set_mode(state, mode, 0.0)
    return state


def speak(state: FloorState, member: str, start: float, stop: float) -> FloorState:
    state, _ = floor.voice(state, member, True, start)
    state, _ = floor.voice(state, member, False, stop)
    return state


def raise_code(excinfo: pytest.ExceptionInfo[FloorError]) -> str:
    return excinfo.value.code


# Hand queue ordering


def test_least_talk_first_orders_by_talk_time_then_earliest_raise() -> None:
    state = group(FloorMode.OPEN)
    state = speak(state, "ana", 1.0, 31.0)  # 30 s
    state = speak(state, "ben", 40.0, 50.0)  # 10 s
    state, _ = floor.set_mode(state, FloorMode.HAND_QUEUE, 60.0)
    state, _ = floor.raise_hand(state, "ana", 61.0)
    state, _ = floor.raise_hand(state, "ben", 62.0)
    state, _ = floor.raise_hand(state, "dee", 63.0)
    state, _ = floor.raise_hand(state, "cai", 64.0)
    # dee and cai have not spoken: earliest raise first among them.
    assert floor.queue_order(state, 65.0) == ("dee", "cai", "ben", "ana")


def test_first_come_policy_orders_by_raise_time_only() -> None:
    state = group(FloorMode.OPEN, queue_policy=QueuePolicy.FIRST_COME)
    state = speak(state, "ana", 1.0, 31.0)
    state, _ = floor.set_mode(state, FloorMode.HAND_QUEUE, 60.0)
    state, _ = floor.raise_hand(state, "ana", 61.0)
    state, _ = floor.raise_hand(state, "ben", 62.0)
    assert floor.queue_order(state, 63.0) == ("ana", "ben")


def test_equal_raise_times_keep_arrival_order() -> None:
    state = group()
    for member in ("cai", "ana", "ben"):
        state, _ = floor.raise_hand(state, member, 5.0)
    assert floor.queue_order(state, 5.0) == ("cai", "ana", "ben")


def test_raise_and_lower_emit_queue_changes() -> None:
    state = group()
    state, events = floor.raise_hand(state, "ana", 1.0)
    assert events[-1] == QueueChanged(("ana",), 1.0)
    state, events = floor.lower_hand(state, "ana", 4.0)
    assert HandLowered("ana", HandLoweredReason.BY_MEMBER, 3.0, 4.0) in events
    assert events[-1] == QueueChanged((), 4.0)
    assert floor.report(state, 5.0).row("ana").longest_wait_s == 3.0  # type: ignore[union-attr]


def test_grant_next_gives_head_the_floor_and_drops_their_hand() -> None:
    state = group()
    state, _ = floor.raise_hand(state, "ben", 1.0)
    state, _ = floor.raise_hand(state, "cai", 2.0)
    state, events = floor.grant_next(state, 10.0)
    assert state.holder == "ben"
    assert state.hand_of("ben") is None
    assert HandLowered("ben", HandLoweredReason.GOT_FLOOR, 9.0, 10.0) in events
    granted = [e for e in events if isinstance(e, FloorGranted)]
    assert granted == [FloorGranted("ben", GrantReason.BY_THERAPIST, 180.0, 10.0)]
    state, events = floor.grant_next(state, 20.0)
    assert state.holder == "cai"
    assert FloorReleased("ben", ReleaseReason.REPLACED, 10.0, 20.0) in events


def test_auto_advance_serves_queue_as_turns_end() -> None:
    state = group(auto_advance=True)
    state, _ = floor.raise_hand(state, "ana", 1.0)
    assert state.holder == "ana"  # free floor: straight to the first hand
    state, _ = floor.raise_hand(state, "ben", 2.0)
    state, _ = floor.yield_floor(state, "ana", 30.0)
    assert state.holder == "ben"
    state, _ = floor.yield_floor(state, "ben", 40.0)
    assert state.holder is None


def test_without_auto_advance_the_floor_waits_for_the_therapist() -> None:
    state = group()
    state, _ = floor.raise_hand(state, "ana", 1.0)
    assert state.holder is None
    state, _ = floor.grant_next(state, 2.0)
    state, _ = floor.raise_hand(state, "ben", 3.0)
    state, _ = floor.yield_floor(state, "ana", 4.0)
    assert state.holder is None and floor.queue_order(state, 4.0) == ("ben",)


@pytest.mark.parametrize(
    ("command", "code"),
    [
        (lambda s: floor.lower_hand(s, "ana", 1.0), "not_in_queue"),
        (lambda s: floor.raise_hand(s, "zed", 1.0), "not_a_member"),
        (lambda s: floor.grant_next(s, 1.0), "queue_empty"),
        (lambda s: floor.yield_floor(s, "ana", 1.0), "not_floor_holder"),
        (lambda s: floor.end_turn(s, 1.0), "no_floor_holder"),
        (lambda s: floor.extend_turn(s, 30.0, 1.0), "no_floor_holder"),
        (lambda s: floor.pass_turn(s, "ana", 1.0), "not_floor_holder"),
        (lambda s: floor.skip(s, "ana", 1.0), "not_in_go_around_mode"),
        (lambda s: floor.leave(s, "zed", 1.0), "not_a_member"),
        (lambda s: floor.join(s, "ana", 1.0), "already_a_member"),
    ],
)
def test_illegal_commands_raise_with_a_code(
    command: Callable[[FloorState], FloorOutcome], code: str
) -> None:
    state = group()
    with pytest.raises(FloorError) as excinfo:
        command(state)
    assert raise_code(excinfo) == code
    assert isinstance(excinfo.value, ValueError)


def test_raising_twice_or_while_holding_is_refused() -> None:
    state = group()
    state, _ = floor.raise_hand(state, "ana", 1.0)
    with pytest.raises(FloorError) as excinfo:
        floor.raise_hand(state, "ana", 2.0)
    assert raise_code(excinfo) == "hand_already_raised"
    state, _ = floor.grant_next(state, 3.0)
    with pytest.raises(FloorError) as excinfo:
        floor.raise_hand(state, "ana", 4.0)
    assert raise_code(excinfo) == "holds_floor"


# Open and directed modes


def test_open_mode_has_no_floor() -> None:
    state = group(FloorMode.OPEN)
    commands: tuple[Callable[[], FloorOutcome], ...] = (
        lambda: floor.give_floor(state, "ana", 1.0),
        lambda: floor.grant_next(state, 1.0),
        lambda: floor.end_turn(state, 1.0),
    )
    for command in commands:
        with pytest.raises(FloorError) as excinfo:
            command()
        assert raise_code(excinfo) == "no_floor_in_open_mode"


def test_hands_may_go_up_in_open_mode_and_carry_over() -> None:
    state = group(FloorMode.OPEN)
    state, _ = floor.raise_hand(state, "cai", 1.0)
    state, _ = floor.set_mode(state, FloorMode.HAND_QUEUE, 2.0)
    assert floor.queue_order(state, 2.0) == ("cai",)


def test_directed_mode_therapist_hands_floor_to_anyone() -> None:
    state = group(FloorMode.DIRECTED)
    state, _ = floor.raise_hand(state, "ben", 1.0)
    state, _ = floor.give_floor(state, "ben", 2.0)
    assert state.holder == "ben" and state.hand_of("ben") is None
    state, events = floor.give_floor(state, "dee", 3.0)
    assert state.holder == "dee"
    assert FloorReleased("ben", ReleaseReason.REPLACED, 1.0, 3.0) in events
    state, _ = floor.end_turn(state, 4.0)
    assert state.holder is None
    with pytest.raises(FloorError) as excinfo:
        floor.grant_next(state, 5.0)
    assert raise_code(excinfo) == "not_in_hand_queue_mode"


# Audio gates


def test_audio_gates_open_mode_everyone_speaks() -> None:
    state = group(FloorMode.OPEN)
    gates = floor.audio_gates(state, (*MEMBERS, "lurker"), THERAPISTS)
    assert gates == {"ana": True, "ben": True, "cai": True, "dee": True, "lurker": False} | {
        "dr_t": True
    }


@pytest.mark.parametrize("mode", [FloorMode.HAND_QUEUE, FloorMode.DIRECTED])
def test_audio_gates_only_holder_and_therapists_outside_open_mode(mode: FloorMode) -> None:
    state = group(mode)
    assert floor.audio_gates(state, MEMBERS, THERAPISTS) == {
        "ana": False,
        "ben": False,
        "cai": False,
        "dee": False,
        "dr_t": True,
    }
    state, _ = floor.give_floor(state, "cai", 1.0)
    gates = floor.audio_gates(state, MEMBERS, THERAPISTS)
    assert [m for m, is_open in gates.items() if is_open] == ["cai", "dr_t"]


# Talk time through the floor


def test_speech_behind_a_closed_gate_is_not_talk_time() -> None:
    state = group(FloorMode.DIRECTED)
    state, _ = floor.voice(state, "ana", True, 0.0)  # gated: not counted
    state, _ = floor.give_floor(state, "ana", 10.0)  # counting resumes, no new edge needed
    state, _ = floor.give_floor(state, "ben", 25.0)  # gate closes mid-sentence
    state, _ = floor.voice(state, "ana", False, 40.0)
    assert floor.report(state, 50.0).row("ana").speaking_s == 15.0  # type: ignore[union-attr]


def test_therapist_speech_always_counts_and_strangers_are_ignored() -> None:
    state = group(FloorMode.DIRECTED)
    state, _ = floor.voice(state, "dr_t", True, 0.0, privileged=True)
    state, _ = floor.voice(state, "dr_t", False, 12.0, privileged=True)
    state, _ = floor.voice(state, "gone", True, 0.0)
    report = floor.report(state, 20.0)
    assert report.row("dr_t").speaking_s == 12.0  # type: ignore[union-attr]
    assert report.row("gone") is None


def test_switching_modes_keeps_talk_time_and_hands() -> None:
    state = group(FloorMode.OPEN)
    state = speak(state, "ana", 0.0, 20.0)
    state, _ = floor.raise_hand(state, "ben", 21.0)
    for now, mode in enumerate(
        (FloorMode.HAND_QUEUE, FloorMode.DIRECTED, FloorMode.GO_AROUND, FloorMode.OPEN), 30
    ):
        state, _ = floor.set_mode(state, mode, float(now))
        assert floor.report(state, float(now)).row("ana").speaking_s == 20.0  # type: ignore[union-attr]
        assert "ben" in floor.queue_order(state, float(now))


def test_mode_change_ends_the_running_turn() -> None:
    state = group(FloorMode.DIRECTED)
    state, _ = floor.give_floor(state, "ana", 1.0)
    state, events = floor.set_mode(state, FloorMode.HAND_QUEUE, 5.0)
    assert state.holder is None
    assert events[:2] == (
        FloorReleased("ana", ReleaseReason.MODE_CHANGED, 4.0, 5.0),
        ModeChanged(FloorMode.DIRECTED, FloorMode.HAND_QUEUE, 5.0),
    )
    assert floor.set_mode(state, FloorMode.HAND_QUEUE, 6.0) == (state, ())


# Leaving


def test_holder_leaving_mid_turn_advances_to_the_next_hand() -> None:
    state = group(auto_advance=True)
    state, _ = floor.raise_hand(state, "ana", 1.0)
    state, _ = floor.raise_hand(state, "ben", 2.0)
    state, _ = floor.voice(state, "ana", True, 3.0)
    state, events = floor.leave(state, "ana", 10.0)
    assert state.holder == "ben"
    assert FloorReleased("ana", ReleaseReason.LEFT, 9.0, 10.0) in events
    assert "ana" not in state.participants and state.hand_of("ana") is None
    assert floor.report(state, 20.0).row("ana").speaking_s == 7.0  # type: ignore[union-attr]


def test_leaving_with_a_raised_hand_leaves_the_queue() -> None:
    state = group()
    state, _ = floor.raise_hand(state, "cai", 1.0)
    state, events = floor.leave(state, "cai", 4.0)
    assert floor.queue_order(state, 4.0) == ()
    assert HandLowered("cai", HandLoweredReason.LEFT, 3.0, 4.0) in events


def test_clock_stepping_back_does_not_make_time_negative() -> None:
    state = group(FloorMode.OPEN)
    state, _ = floor.voice(state, "ana", True, 100.0)
    state, _ = floor.voice(state, "ana", False, 90.0)
    assert floor.report(state, 90.0).row("ana").speaking_s == 0.0  # type: ignore[union-attr]
    assert state.clock == 100.0


# Purity


FORBIDDEN_IMPORTS = {"asyncio", "aiohttp", "socketio", "redis", "aiortc", "time", "random"}


@pytest.mark.parametrize(
    "module",
    [
        "floor/__init__.py",
        "floor/engine.py",
        "floor/errors.py",
        "floor/events.py",
        "floor/state.py",
        "floor/transitions.py",
        "floor/views.py",
        "speaking_timer.py",
        "talk_time.py",
        "turn_limits.py",
    ],
)
def test_floor_modules_are_pure(module: str) -> None:
    source = Path(__file__).parents[2] / "rooms" / module
    imported: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & FORBIDDEN_IMPORTS
