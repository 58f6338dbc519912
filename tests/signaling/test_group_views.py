"""signaling.group_views: the wire views of a group room's floor, waiting room, talk time."""

from __future__ import annotations

from dataclasses import replace

import pytest

from rooms import commands as c
from rooms.engine import apply
from rooms.floor.events import (
    FloorGranted,
    GrantReason,
    QueueChanged,
    SettingsChanged,
    TurnLimitReached,
)
from rooms.floor.state import FloorMode, FloorSettings, QueuePolicy, TurnLimitAction
from rooms.roles import Role
from rooms.room import Room, RoomKind, new_room
from signaling.group_views import floor_event_view, floor_view, talk_report_view, waiting_view
from tests.signaling.fakes import T0


def play(room: Room, *commands: c.AnyCommand) -> Room:
    for command in commands:
        room, _ = apply(room, command)
    return room


def group_room() -> Room:
    """Therapist t; participants a, b, d admitted (in that order); w waiting."""
    room = new_room("r1", RoomKind.GROUP, T0)
    return play(
        room,
        c.Join("t", Role.THERAPIST, "Dr. T", T0),
        *(c.Join(m, Role.PARTICIPANT, m.upper(), T0) for m in ("a", "b", "d", "w")),
        *(c.Admit("t", m, T0) for m in ("a", "b", "d")),
    )


def test_open_floor_view() -> None:
    room = group_room()
    assert room.floor is not None
    view = floor_view(room.floor, T0)
    assert view == {
        "mode": "open",
        "holder": None,
        "turn": None,
        "queue": [],
        "hands": [],
        "go_around": None,
        "settings": {
            "queue_policy": "least_talk_first",
            "auto_advance": False,
            "turn_limit_s": 180.0,
            "go_around_turn_s": 120.0,
            "warn_at_fraction": 0.8,
            "on_turn_limit": "notify_therapist",
            "fair_share_limits": True,
        },
    }


def test_turn_view_counts_elapsed_and_remaining_time() -> None:
    room = play(
        group_room(), c.SetFloorMode("t", FloorMode.DIRECTED, T0), c.GiveFloor("t", "a", T0 + 10)
    )
    assert room.floor is not None
    view = floor_view(room.floor, T0 + 40)
    assert view["holder"] == "a"
    turn = view["turn"]
    assert turn["member"] == "a" and turn["warned"] is False
    assert turn["limit_s"] == 180.0
    assert turn["elapsed_s"] == pytest.approx(30.0)
    assert turn["remaining_s"] == pytest.approx(150.0)


def test_turn_view_never_shows_negative_times() -> None:
    room = play(
        group_room(), c.SetFloorMode("t", FloorMode.DIRECTED, T0), c.GiveFloor("t", "a", T0 + 10)
    )
    assert room.floor is not None
    before_start = floor_view(room.floor, T0)["turn"]
    assert before_start["elapsed_s"] == 0.0
    long_after = floor_view(room.floor, T0 + 10_000)["turn"]
    assert long_after["remaining_s"] == 0.0


def test_a_turn_without_a_limit_has_no_remaining_time() -> None:
    settings = FloorSettings(turn_limit_s=None)
    room = play(
        group_room(),
        c.ChangeFloorSettings("t", settings, T0),
        c.SetFloorMode("t", FloorMode.DIRECTED, T0),
        c.GiveFloor("t", "b", T0),
    )
    assert room.floor is not None
    turn = floor_view(room.floor, T0 + 5)["turn"]
    assert turn["limit_s"] is None and turn["remaining_s"] is None


def test_hands_in_policy_order_with_rounded_waits() -> None:
    settings = FloorSettings(queue_policy=QueuePolicy.FIRST_COME)
    room = play(
        group_room(),
        c.ChangeFloorSettings("t", settings, T0),
        c.SetFloorMode("t", FloorMode.HAND_QUEUE, T0),
        c.RaiseHand("b", T0 + 1),
        c.RaiseHand("a", T0 + 2.04),
    )
    assert room.floor is not None
    view = floor_view(room.floor, T0 + 10)
    assert view["queue"] == ["b", "a"]
    assert view["hands"] == [{"member": "b", "waited_s": 9.0}, {"member": "a", "waited_s": 8.0}]
    assert view["settings"]["queue_policy"] == "first_come"


def test_go_around_view_lists_order_and_who_is_still_to_speak() -> None:
    room = play(group_room(), c.SetFloorMode("t", FloorMode.GO_AROUND, T0))
    assert room.floor is not None
    view = floor_view(room.floor, T0 + 1)
    assert view["mode"] == "go_around"
    go_around = view["go_around"]
    assert go_around["order"] == ["a", "b", "d"]
    # The first member holds the floor, so their turn is taken.
    assert view["holder"] == "a"
    assert go_around["pending"] == ["b", "d"]


def test_floor_event_view_flattens_enums_and_drops_settings() -> None:
    granted = floor_event_view(FloorGranted("a", GrantReason.BY_THERAPIST, 60.0, T0))
    assert granted == {
        "member": "a",
        "reason": "by_therapist",
        "limit_s": 60.0,
        "at": T0,
        "name": "floor_granted",
    }
    changed = floor_event_view(SettingsChanged(FloorSettings(), T0))
    assert changed == {"at": T0, "name": "floor_settings_changed"}
    queue = floor_event_view(QueueChanged(("b", "a"), T0))
    assert queue["order"] == ["b", "a"] and isinstance(queue["order"], list)
    limit = floor_event_view(TurnLimitReached("a", TurnLimitAction.ADVANCE, T0))
    assert limit["action"] == "advance"


def test_talk_report_view_rounds_and_names_every_member() -> None:
    room = play(
        group_room(),
        c.Voice("a", True, T0),
        c.Voice("a", False, T0 + 12.34),
        c.Voice("b", True, T0 + 20),
        c.Voice("b", False, T0 + 24.0),
    )
    view = talk_report_view(room, T0 + 60)
    rows = {row["id"]: row for row in view["members"]}
    assert set(rows) == {"a", "b", "d"}
    assert rows["a"]["name"] == "A"
    assert rows["a"]["speaking_s"] == 12.3
    assert rows["b"]["speaking_s"] == 4.0
    assert rows["a"]["share"] == round(12.34 / 16.34, 4)
    assert rows["d"] == {
        "id": "d",
        "name": "D",
        "speaking_s": 0.0,
        "share": 0.0,
        "turns": 0,
        "longest_wait_s": 0.0,
        "has_spoken": False,
        "speaking_now": False,
    }
    assert view["elapsed_s"] == pytest.approx(60.0)
    assert view["total_speaking_s"] == pytest.approx(16.34)


def test_talk_report_of_a_room_without_a_floor_is_empty() -> None:
    room = new_room("r2", RoomKind.INDIVIDUAL, T0)
    assert talk_report_view(room, T0) == {"members": []}


def test_waiting_view_lists_seated_waiting_members_in_join_order() -> None:
    room = play(
        group_room(),
        c.Join("x", Role.PARTICIPANT, "X", T0 + 3),
        c.Join("y", Role.PARTICIPANT, "Y", T0 + 4),
        c.Leave("x", T0 + 5),
    )
    assert waiting_view(room) == [
        {"id": "w", "name": "W", "since": T0},
        {"id": "y", "name": "Y", "since": T0 + 4},
    ]


def test_waiting_view_of_a_room_nobody_waits_in() -> None:
    room = group_room()
    room = replace(room, members=tuple(m for m in room.members if m.id != "w"))
    assert waiting_view(room) == []
