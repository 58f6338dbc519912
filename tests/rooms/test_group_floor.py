"""The floor inside the room aggregate: membership sync and a dropped floor holder."""

from __future__ import annotations

from rooms.commands import Admit, Disconnect, GiveFloor, Join, SetFloorMode, Tick
from rooms.engine import apply
from rooms.events import FloorChanged
from rooms.floor.events import FloorReleased, ReleaseReason
from rooms.floor.state import FloorMode
from rooms.group_floor import FLOOR_DROP_S
from rooms.roles import Role
from rooms.room import Room, RoomKind, new_room

T0 = 1000.0


def group_with_holder() -> Room:
    room = new_room("r_1", RoomKind.GROUP, T0)
    room, _ = apply(room, Join("t", Role.THERAPIST, "Therapist", T0))
    room, _ = apply(room, Join("p", Role.PARTICIPANT, "Pat", T0))
    room, _ = apply(room, Admit("t", "p", T0))
    room, _ = apply(room, SetFloorMode("t", FloorMode.DIRECTED, T0 + 1))
    room, _ = apply(room, GiveFloor("t", "p", T0 + 2))
    assert room.floor is not None and room.floor.holder == "p"
    return room


def test_admitted_participants_are_the_floor_members() -> None:
    room = group_with_holder()
    assert room.floor is not None and room.floor.participants == ("p",)


def test_a_blip_keeps_the_floor() -> None:
    room, _ = apply(group_with_holder(), Disconnect("p", T0 + 3))
    room, _ = apply(room, Tick(T0 + 3 + FLOOR_DROP_S - 1))
    assert room.floor is not None and room.floor.holder == "p"


def test_a_holder_who_stays_away_loses_the_floor_but_keeps_the_seat() -> None:
    room, _ = apply(group_with_holder(), Disconnect("p", T0 + 3))
    room, events = apply(room, Tick(T0 + 3 + FLOOR_DROP_S))
    assert room.floor is not None and room.floor.holder is None
    released = [
        e
        for fc in events
        if isinstance(fc, FloorChanged)
        for e in fc.events
        if isinstance(e, FloorReleased)
    ]
    assert [(e.member, e.reason) for e in released] == [("p", ReleaseReason.CONNECTION_LOST)]
    member = room.member("p")
    assert member is not None and member.seated
