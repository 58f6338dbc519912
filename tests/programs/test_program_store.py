"""The programs' store: what survives a restart, what the key protects, what purge removes."""

from __future__ import annotations

import sqlite3
from datetime import time
from pathlib import Path

import pytest

from rooms.programs.attendance import MemberAttendance, OccurrenceAttendance, arrived, departed
from rooms.programs.program import Person, PersonRole, Program
from rooms.programs.schedule import SessionKind, Weekday, WeeklySlot
from server.programs.store import DB_FILE, ProgramStore
from server.stores.sealed import Sealer, SealError

PROGRAM = Program(
    "pg_1",
    "America/New_York",
    people=(Person("m_a", PersonRole.MEMBER, "Alex"), Person("t_k", PersonRole.THERAPIST, "Kim")),
    slots=(WeeklySlot("s1", SessionKind.INDIVIDUAL, Weekday.TUESDAY, time(14), 60, "m_a"),),
)


def attendance(key: str, starts_at: float) -> OccurrenceAttendance:
    record = departed(arrived(MemberAttendance("m_a"), starts_at), starts_at + 600)
    return OccurrenceAttendance("pg_1", key, f"r_{key}", starts_at, (record,))


async def test_programs_links_and_attendance_survive_a_restart(tmp_path: Path) -> None:
    store = ProgramStore.in_data_dir(tmp_path)
    await store.save_program(PROGRAM, new=True)
    await store.set_link("pg_1", "m_a", "d" * 64)
    await store.add_occurrence(attendance("s1@x", 1000.0), closes_at=1900.0)
    await store.close()

    again = ProgramStore.in_data_dir(tmp_path)
    assert await again.program("pg_1") == PROGRAM
    holder = await again.link_holder("d" * 64)
    assert holder is not None and holder.person_id == "m_a"
    assert await again.occurrence_of_room("r_s1@x") == attendance("s1@x", 1000.0)
    await again.close()


async def test_another_key_opens_nothing_and_rows_cannot_be_swapped(tmp_path: Path) -> None:
    store = ProgramStore.in_data_dir(tmp_path)
    await store.save_program(PROGRAM, new=True)
    await store.add_occurrence(attendance("s1@a", 1000.0), closes_at=1900.0)
    await store.add_occurrence(attendance("s1@b", 2000.0), closes_at=2900.0)
    await store.close()

    stranger = ProgramStore(tmp_path / DB_FILE, Sealer(b"\x07" * 32))
    with pytest.raises(SealError):
        await stranger.program("pg_1")
    await stranger.close()

    db = sqlite3.connect(tmp_path / DB_FILE)
    with db:
        (doc,) = db.execute("SELECT doc FROM occurrences WHERE occurrence_key = 's1@a'").fetchone()
        db.execute("UPDATE occurrences SET doc = ? WHERE occurrence_key = 's1@b'", (doc,))
    db.close()
    store = ProgramStore.in_data_dir(tmp_path)
    with pytest.raises(SealError):  # the sealed record is bound to its own row
        await store.attendance("pg_1", "s1@b")
    await store.close()


async def test_purge_removes_what_is_past_retention_or_the_whole_program(tmp_path: Path) -> None:
    store = ProgramStore.in_data_dir(tmp_path)
    await store.save_program(PROGRAM, new=True)
    await store.set_link("pg_1", "m_a", "d" * 64)
    for key, starts in (("s1@old", 100.0), ("s1@new", 5000.0)):
        await store.add_occurrence(attendance(key, starts), closes_at=starts + 900)
    purged = await store.purge(before=1000.0)
    assert (purged.programs, purged.occurrences) == (0, 1)
    assert [r.occurrence_key for r in await store.attendance_between("pg_1", 0, 1e9)] == ["s1@new"]
    purged = await store.purge(before=0.0, program_id="pg_1")
    assert (purged.programs, purged.occurrences) == (1, 1)
    assert await store.program("pg_1") is None
    assert await store.link_holder("d" * 64) is None
    await store.close()


async def test_rooms_are_due_to_close_once_after_their_close_time(tmp_path: Path) -> None:
    store = ProgramStore.in_data_dir(tmp_path)
    await store.add_occurrence(attendance("s1@a", 1000.0), closes_at=1900.0)
    await store.add_occurrence(attendance("s1@b", 2000.0), closes_at=2900.0)
    assert await store.rooms_to_close(1899.0) == []
    assert await store.rooms_to_close(1900.0) == ["r_s1@a"]
    await store.mark_closed("r_s1@a")
    assert await store.rooms_to_close(5000.0) == ["r_s1@b"]
    await store.close()
