"""Programs, links and attendance in `DATA/programs.sqlite3`, beside the room store.

Program documents (which hold names) and attendance records are sealed with the room
store's key and cipher (server/stores/sealed.py: AES-256-GCM, `DATA/storage.key`),
each under its own associated data so a sealed blob cannot be moved to another row.
What stays in clear: ids, occurrence keys, start times and the SHA-256 of each personal
link's secret (what lookups and retention need; none of it names anyone).

Calls run in a worker thread, one at a time under a lock, so the event loop never
waits on disk. WAL with FULL sync, as for rooms: attendance is acknowledged when saved.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from rooms.programs.attendance import OccurrenceAttendance
from rooms.programs.program import Program
from server.programs.codec import (
    attendance_from_json,
    attendance_to_json,
    program_from_json,
    program_to_json,
)
from server.stores.sealed import Sealer

DB_FILE = "programs.sqlite3"
MAX_PROGRAMS = 1000

SCHEMA = """
CREATE TABLE IF NOT EXISTS programs (id TEXT PRIMARY KEY, doc BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS links (
    digest TEXT PRIMARY KEY, program_id TEXT NOT NULL, person_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS links_person ON links (program_id, person_id);
CREATE TABLE IF NOT EXISTS occurrences (
    program_id TEXT NOT NULL,
    occurrence_key TEXT NOT NULL,
    room_id TEXT NOT NULL UNIQUE,
    starts_at REAL NOT NULL,
    -- When the room is to be ended, and whether it was: the close beat reads only these.
    closes_at REAL NOT NULL,
    closed INTEGER NOT NULL DEFAULT 0,
    doc BLOB NOT NULL,
    PRIMARY KEY (program_id, occurrence_key)
);
CREATE INDEX IF NOT EXISTS occurrences_starts_at ON occurrences (starts_at);
CREATE INDEX IF NOT EXISTS occurrences_to_close ON occurrences (closed, closes_at);
"""

T = TypeVar("T")


@dataclass(frozen=True)
class LinkHolder:
    program_id: str
    person_id: str


@dataclass(frozen=True)
class Purged:
    programs: int
    occurrences: int


class TooManyPrograms(Exception):
    pass


class ProgramStore:
    def __init__(self, path: Path, sealer: Sealer) -> None:
        self.path = Path(path)
        self._sealer = sealer
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> ProgramStore:
        return cls(Path(data_dir) / DB_FILE, Sealer.in_data_dir(Path(data_dir)))

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        def locked() -> T:
            with self._lock:
                if self._db is None:
                    self._db = _open(self.path)
                with self._db:
                    return work(self._db)

        return await asyncio.to_thread(locked)

    # --- programs -------------------------------------------------------------------

    async def save_program(self, program: Program, *, new: bool = False) -> None:
        doc = self._sealer.seal(_program_ad(program.id), program_to_json(program))

        def upsert(db: sqlite3.Connection) -> None:
            if new and db.execute("SELECT COUNT(*) FROM programs").fetchone()[0] >= MAX_PROGRAMS:
                raise TooManyPrograms(f"this server holds at most {MAX_PROGRAMS} programs")
            db.execute(
                "INSERT INTO programs (id, doc) VALUES (?, ?)"
                " ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
                (program.id, doc),
            )

        await self._run(upsert)

    async def change_program(
        self, program_id: str, change: Callable[[Program], Program]
    ) -> Program | None:
        """Read, change and save in one write transaction: two changes at once, from this
        process or another on the same file, never lose one another. None: no such program."""

        def work(db: sqlite3.Connection) -> Program | None:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute("SELECT doc FROM programs WHERE id = ?", (program_id,)).fetchone()
            if row is None:
                return None
            program = change(
                program_from_json(self._sealer.open(_program_ad(program_id), bytes(row[0])))
            )
            doc = self._sealer.seal(_program_ad(program_id), program_to_json(program))
            db.execute("UPDATE programs SET doc = ? WHERE id = ?", (doc, program_id))
            return program

        return await self._run(work)

    async def program(self, program_id: str) -> Program | None:
        row = await self._run(
            lambda db: db.execute("SELECT doc FROM programs WHERE id = ?", (program_id,)).fetchone()
        )
        if row is None:
            return None
        return program_from_json(self._sealer.open(_program_ad(program_id), bytes(row[0])))

    async def program_ids(self) -> list[str]:
        rows = await self._run(
            lambda db: db.execute("SELECT id FROM programs ORDER BY id").fetchall()
        )
        return [str(r[0]) for r in rows]

    # --- personal links -------------------------------------------------------------

    async def set_link(self, program_id: str, person_id: str, digest: str) -> None:
        """The person's one link: a new one replaces (revokes) the old."""

        def replace(db: sqlite3.Connection) -> None:
            db.execute(
                "DELETE FROM links WHERE program_id = ? AND person_id = ?", (program_id, person_id)
            )
            db.execute(
                "INSERT INTO links (digest, program_id, person_id) VALUES (?, ?, ?)",
                (digest, program_id, person_id),
            )

        await self._run(replace)

    async def drop_link(self, program_id: str, person_id: str) -> None:
        await self._run(
            lambda db: db.execute(
                "DELETE FROM links WHERE program_id = ? AND person_id = ?", (program_id, person_id)
            )
        )

    async def link_holder(self, digest: str) -> LinkHolder | None:
        row = await self._run(
            lambda db: db.execute(
                "SELECT program_id, person_id FROM links WHERE digest = ?", (digest,)
            ).fetchone()
        )
        return None if row is None else LinkHolder(str(row[0]), str(row[1]))

    # --- occurrences and their attendance -------------------------------------------

    def _seal_attendance(self, record: OccurrenceAttendance) -> bytes:
        return self._sealer.seal(
            _attendance_ad(record.program_id, record.occurrence_key), attendance_to_json(record)
        )

    async def add_occurrence(
        self, record: OccurrenceAttendance, closes_at: float
    ) -> OccurrenceAttendance:
        """The occurrence's room, recorded once; if another call got there first, theirs."""
        doc = self._seal_attendance(record)
        row = (record.program_id, record.occurrence_key, record.room_id, record.starts_at)

        def insert(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO occurrences"
                " (program_id, occurrence_key, room_id, starts_at, closes_at, doc)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (program_id, occurrence_key) DO NOTHING",
                (*row, closes_at, doc),
            )

        await self._run(insert)
        stored = await self.attendance(record.program_id, record.occurrence_key)
        assert stored is not None
        return stored

    async def save_attendance(self, record: OccurrenceAttendance) -> None:
        """Saves the record, and its room id (which changes if the old room was forgotten)."""
        doc = self._seal_attendance(record)
        await self._run(
            lambda db: db.execute(
                "UPDATE occurrences SET doc = ?, room_id = ?, closed = 0"
                " WHERE program_id = ? AND occurrence_key = ?",
                (doc, record.room_id, record.program_id, record.occurrence_key),
            )
        )

    async def rooms_to_close(self, now: float) -> list[str]:
        rows = await self._run(
            lambda db: db.execute(
                "SELECT room_id FROM occurrences WHERE closed = 0 AND closes_at <= ?", (now,)
            ).fetchall()
        )
        return [str(r[0]) for r in rows]

    async def mark_closed(self, room_id: str) -> None:
        await self._run(
            lambda db: db.execute("UPDATE occurrences SET closed = 1 WHERE room_id = ?", (room_id,))
        )

    async def attendance(self, program_id: str, occurrence_key: str) -> OccurrenceAttendance | None:
        row = await self._run(
            lambda db: db.execute(
                "SELECT doc FROM occurrences WHERE program_id = ? AND occurrence_key = ?",
                (program_id, occurrence_key),
            ).fetchone()
        )
        return None if row is None else self._open_attendance(program_id, occurrence_key, row[0])

    async def attendance_between(
        self, program_id: str, since: float, until: float
    ) -> list[OccurrenceAttendance]:
        rows = await self._run(
            lambda db: db.execute(
                "SELECT occurrence_key, doc FROM occurrences"
                " WHERE program_id = ? AND starts_at >= ? AND starts_at < ? ORDER BY starts_at",
                (program_id, since, until),
            ).fetchall()
        )
        return [self._open_attendance(program_id, str(key), doc) for key, doc in rows]

    async def occurrence_of_room(self, room_id: str) -> OccurrenceAttendance | None:
        row = await self._run(
            lambda db: db.execute(
                "SELECT program_id, occurrence_key, doc FROM occurrences WHERE room_id = ?",
                (room_id,),
            ).fetchone()
        )
        return None if row is None else self._open_attendance(str(row[0]), str(row[1]), row[2])

    def _open_attendance(self, program_id: str, key: str, doc: bytes) -> OccurrenceAttendance:
        return attendance_from_json(self._sealer.open(_attendance_ad(program_id, key), bytes(doc)))

    # --- retention ------------------------------------------------------------------

    async def purge(self, *, before: float, program_id: str | None = None) -> Purged:
        """Attendance of occurrences that started before `before`; with a program id,
        that whole program (people, links, every occurrence) instead."""

        def delete(db: sqlite3.Connection) -> Purged:
            if program_id is None:
                gone = db.execute("DELETE FROM occurrences WHERE starts_at < ?", (before,))
                return Purged(0, gone.rowcount)
            gone = db.execute("DELETE FROM occurrences WHERE program_id = ?", (program_id,))
            db.execute("DELETE FROM links WHERE program_id = ?", (program_id,))
            programs = db.execute("DELETE FROM programs WHERE id = ?", (program_id,))
            return Purged(programs.rowcount, gone.rowcount)

        return await self._run(delete)

    async def close(self) -> None:
        def shut() -> None:
            with self._lock:
                if self._db is not None:
                    self._db.close()
                    self._db = None

        await asyncio.to_thread(shut)


def _program_ad(program_id: str) -> str:
    return f"program:{program_id}"


def _attendance_ad(program_id: str, key: str) -> str:
    return f"attendance:{program_id}:{key}"


def _open(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Owner-only like the keys: even sealed, who-attended-when is nobody else's business.
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    db = sqlite3.connect(path, check_same_thread=False, isolation_level="DEFERRED")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.executescript(SCHEMA)
    return db
