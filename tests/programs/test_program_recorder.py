"""The recorder across a restart: a fresh recorder picks the record up from the store."""

from __future__ import annotations

from pathlib import Path

from rooms.events import MemberDisconnected, MemberJoined, MemberReconnected
from rooms.member import Admission, Member, Presence
from rooms.programs.attendance import OccurrenceAttendance
from rooms.roles import Role
from rooms.room import RoomKind, RoomPolicy, new_room
from server.programs.recorder import AttendanceRecorder
from server.programs.store import ProgramStore

ROOM = new_room("r_1", RoomKind.GROUP, 0.0, RoomPolicy())
ALEX = Member("m_a", Role.PARTICIPANT, "Alex")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_a_restarted_recorder_closes_the_interval_it_did_not_open(tmp_path: Path) -> None:
    store = ProgramStore.in_data_dir(tmp_path)
    record = await store.add_occurrence(
        OccurrenceAttendance("pg_1", "s1@x", "r_1", 0.0), closes_at=9000.0
    )
    clock = Clock()
    before = AttendanceRecorder(store, clock)
    before.track(record)
    clock.now = 100.0
    await before(ROOM, [MemberJoined(ALEX)])

    after = AttendanceRecorder(store, clock)  # a new process: nothing in memory
    clock.now = 400.0  # seats held in grace after the restart
    await after(ROOM, [MemberDisconnected(ALEX.with_presence(Presence.DISCONNECTED, at=400.0))])
    clock.now = 430.0
    await after(ROOM, [MemberReconnected(ALEX)])
    saved = await store.attendance("pg_1", "s1@x")
    assert saved is not None
    assert saved.of("m_a").intervals == ((100.0, 400.0),)
    assert saved.of("m_a").present_since == 430.0
    await store.close()


async def test_waiting_members_therapists_and_other_rooms_are_not_recorded(tmp_path: Path) -> None:
    store = ProgramStore.in_data_dir(tmp_path)
    await store.add_occurrence(OccurrenceAttendance("pg_1", "s1@x", "r_1", 0.0), closes_at=9e3)
    recorder = AttendanceRecorder(store, Clock())
    waiting = Member("m_w", Role.PARTICIPANT, "Wen", admission=Admission.WAITING)
    therapist = Member("t_k", Role.THERAPIST, "Kim")
    await recorder(ROOM, [MemberJoined(waiting), MemberJoined(therapist)])
    other = new_room("r_other", RoomKind.GROUP, 0.0, RoomPolicy())
    await recorder(other, [MemberJoined(ALEX)])
    saved = await store.attendance("pg_1", "s1@x")
    assert saved is not None and saved.members == ()
    assert await store.occurrence_of_room("r_other") is None
    await store.close()
