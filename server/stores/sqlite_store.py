"""The embedded default: rooms in one SQLite file in the data directory.

One process owns the file. Every call runs on one worker thread that holds the one
connection, so the event loop never blocks on disk and SQLite never sees two threads.
The database is in WAL mode with `synchronous=FULL`: a command is acknowledged only
after its result is saved, and FULL makes "saved" mean on disk (NORMAL would keep
every commit through a `kill -9`, but could lose the last ones to a power cut).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from rooms.room import Room
from server.stores.base import RoomExists
from server.stores.room_codec import room_from_json, room_to_json
from server.stores.sealed import Sealer

DB_FILE = "rooms.sqlite3"
# As in Redis and memory: an ended room is kept a day so late links hear "ended", then
# forgotten (display names must not outlive the session by more than that).
ENDED_RETENTION_S = 24 * 3600.0
# Forgotten rooms are deleted from the file at most this often (reads skip them anyway).
SWEEP_EVERY_S = 60.0
BUSY_TIMEOUT_MS = 5000

SCHEMA = """
CREATE TABLE IF NOT EXISTS rooms (
    id TEXT PRIMARY KEY,
    doc BLOB NOT NULL,
    ended_at REAL
);
CREATE INDEX IF NOT EXISTS rooms_ended_at ON rooms (ended_at);
"""

T = TypeVar("T")


class SqliteRoomStore:
    backend = "sqlite"

    def __init__(
        self,
        path: Path,
        sealer: Sealer,
        *,
        clock: Callable[[], float] = time.time,
        retention_s: float = ENDED_RETENTION_S,
    ) -> None:
        # Wall-clock time: an ended room's retention must count across restarts.
        self.path = Path(path)
        # Documents hold display names: sealed at rest (server/stores/sealed.py).
        self._sealer = sealer
        self._clock = clock
        self._retention_s = retention_s
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-store")
        self._db: sqlite3.Connection | None = None
        self._closed = False
        self._last_sweep = float("-inf")

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> SqliteRoomStore:
        return cls(Path(data_dir) / DB_FILE, Sealer.in_data_dir(Path(data_dir)))

    # --- the worker thread ----------------------------------------------------------

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        if self._closed:
            raise RuntimeError("the room store is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._worker, lambda: work(self._connection()))

    def _connection(self) -> sqlite3.Connection:
        """Opened on first use, on the worker thread (the only thread that touches it)."""
        if self._db is None:
            self._db = open_database(self.path)
        return self._db

    def _cutoff(self) -> float:
        return self._clock() - self._retention_s

    # --- RoomStore ------------------------------------------------------------------

    async def create(self, room: Room) -> None:
        doc = self._sealer.seal(room.id, room_to_json(room))
        ended_at = self._clock() if room.is_over else None

        def insert(db: sqlite3.Connection) -> bool:
            with db:
                # An ended room past its retention is gone, as in the other backends.
                db.execute(
                    "DELETE FROM rooms WHERE id = ? AND ended_at <= ?", (room.id, self._cutoff())
                )
                cursor = db.execute(
                    "INSERT INTO rooms (id, doc, ended_at) VALUES (?, ?, ?)"
                    " ON CONFLICT (id) DO NOTHING",
                    (room.id, doc, ended_at),
                )
                return cursor.rowcount == 1

        if not await self._run(insert):
            raise RoomExists(room.id)

    async def get(self, room_id: str) -> Room | None:
        def select(db: sqlite3.Connection) -> bytes | None:
            row = db.execute(
                "SELECT doc FROM rooms WHERE id = ? AND (ended_at IS NULL OR ended_at > ?)",
                (room_id, self._cutoff()),
            ).fetchone()
            return None if row is None else bytes(row[0])

        doc = await self._run(select)
        return None if doc is None else room_from_json(self._sealer.open(room_id, doc))

    async def save(self, room: Room) -> None:
        doc = self._sealer.seal(room.id, room_to_json(room))
        ended_at = self._clock() if room.is_over else None

        def upsert(db: sqlite3.Connection) -> None:
            with db:
                # The retention counts from the first save that found the room over.
                db.execute(
                    "INSERT INTO rooms (id, doc, ended_at) VALUES (?, ?, ?)"
                    " ON CONFLICT (id) DO UPDATE SET doc = excluded.doc,"
                    " ended_at = COALESCE(rooms.ended_at, excluded.ended_at)",
                    (room.id, doc, ended_at),
                )

        await self._run(upsert)

    async def delete(self, room_id: str) -> None:
        def remove(db: sqlite3.Connection) -> None:
            with db:
                db.execute("DELETE FROM rooms WHERE id = ?", (room_id,))

        await self._run(remove)

    async def list_ids(self) -> list[str]:
        """Rooms still in play; an ended or expired room stays readable with `get`."""
        now = self._clock()
        sweep = now - self._last_sweep >= SWEEP_EVERY_S
        if sweep:
            self._last_sweep = now

        def select(db: sqlite3.Connection) -> list[str]:
            if sweep:
                with db:
                    db.execute("DELETE FROM rooms WHERE ended_at <= ?", (self._cutoff(),))
            rows = db.execute("SELECT id FROM rooms WHERE ended_at IS NULL ORDER BY id")
            return [str(row[0]) for row in rows]

        return await self._run(select)

    async def ping(self) -> bool:
        try:
            return await self._run(lambda db: db.execute("SELECT 1").fetchone() == (1,))
        except (sqlite3.Error, OSError, RuntimeError):
            return False

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True

        def shut(_: None) -> None:
            if self._db is not None:
                self._db.close()
                self._db = None

        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._worker, shut, None)
        self._worker.shutdown(wait=True)


def open_database(path: Path) -> sqlite3.Connection:
    """Open (creating it owner-only if new) the rooms file, in WAL mode with FULL sync."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # Display names live here: owner-only, like the keys. SQLite gives the -wal and
    # -shm files the main file's permissions.
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level="DEFERRED")
    try:
        mode = db.execute("PRAGMA journal_mode=WAL").fetchone()
        if mode is None or str(mode[0]).lower() != "wal":
            raise sqlite3.OperationalError(f"{path}: WAL mode refused (got {mode})")
        db.execute("PRAGMA synchronous=FULL")
        db.executescript(SCHEMA)
    except BaseException:
        db.close()
        raise
    return db
