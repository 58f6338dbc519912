"""What only the SQLite store promises: the file outlives the process, WAL with FULL sync,
owner-only permissions, retention by wall clock, and no blocking of the event loop."""

from __future__ import annotations

import asyncio
import sqlite3
import stat
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from rooms.room import RoomState
from server.stores.sealed import STORAGE_KEY_FILE, Sealer, SealError
from server.stores.sqlite_store import DB_FILE, SqliteRoomStore
from tests.stores.sample_rooms import group_room, hand_queue_floor, individual_room


async def test_rooms_outlive_the_store(tmp_path: Path) -> None:
    first = SqliteRoomStore.in_data_dir(tmp_path)
    room = replace(group_room(), floor=hand_queue_floor())
    await first.create(room)
    await first.create(individual_room("r_over"))
    await first.save(individual_room("r_over").with_state(RoomState.ENDED))
    await first.close()

    again = SqliteRoomStore.in_data_dir(tmp_path)
    try:
        assert await again.get(room.id) == room
        assert await again.list_ids() == [room.id]
        over = await again.get("r_over")
        assert over is not None and over.state is RoomState.ENDED
    finally:
        await again.close()


def test_a_save_survives_kill_9_of_the_process(tmp_path: Path) -> None:
    """The process dies right after a save returns: the saved state is in the file."""
    script = f"""
import asyncio, os, signal, sys
sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
from dataclasses import replace
from server.stores.sqlite_store import SqliteRoomStore
from tests.stores.sample_rooms import group_room, hand_queue_floor

async def main():
    store = SqliteRoomStore.in_data_dir({str(tmp_path)!r})
    room = group_room()
    await store.create(room)
    await store.save(replace(room, floor=hand_queue_floor()))
    os.kill(os.getpid(), signal.SIGKILL)

asyncio.run(main())
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, timeout=30, check=False
    )
    assert result.returncode == -9, result.stderr.decode()

    async def read() -> None:
        store = SqliteRoomStore.in_data_dir(tmp_path)
        try:
            stored = await store.get("r_group")
            assert stored == replace(group_room(), floor=hand_queue_floor())
        finally:
            await store.close()

    asyncio.run(read())


async def test_the_file_is_wal_with_full_sync_and_owner_only(tmp_path: Path) -> None:
    store = SqliteRoomStore.in_data_dir(tmp_path)
    try:
        await store.create(individual_room())
        path = tmp_path / DB_FILE
        assert store.path == path
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        wal = path.with_name(DB_FILE + "-wal")
        assert wal.exists() and stat.S_IMODE(wal.stat().st_mode) == 0o600
        with sqlite3.connect(path) as other:
            assert other.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        # synchronous is per connection: ask the store's own.
        level = await store._run(lambda db: db.execute("PRAGMA synchronous").fetchone())
        assert level == (2,)  # FULL
    finally:
        await store.close()


async def test_ended_rooms_are_forgotten_after_the_retention(tmp_path: Path) -> None:
    now = [1_000_000.0]
    store = SqliteRoomStore.in_data_dir(tmp_path)
    store = SqliteRoomStore(
        store.path, Sealer.in_data_dir(tmp_path), clock=lambda: now[0], retention_s=60.0
    )
    try:
        await store.create(individual_room("r_ended"))
        await store.create(individual_room("r_live"))
        await store.save(individual_room("r_ended").with_state(RoomState.ENDED))
        now[0] += 30
        # A later save of the ended room does not restart its retention.
        await store.save(individual_room("r_ended").with_state(RoomState.ENDED))
        now[0] += 29
        assert await store.get("r_ended") is not None, "late links still learn the room ended"
        now[0] += 2
        assert await store.get("r_ended") is None
        assert await store.list_ids() == ["r_live"]  # and the sweep deletes the row
        count = await store._run(lambda db: db.execute("SELECT COUNT(*) FROM rooms").fetchone())
        assert count == (1,)
        # The id is free again.
        await store.create(individual_room("r_ended"))
        assert await store.get("r_ended") == individual_room("r_ended")
    finally:
        await store.close()


async def test_calls_run_off_the_event_loop_on_one_thread(tmp_path: Path) -> None:
    store = SqliteRoomStore.in_data_dir(tmp_path)
    try:
        threads = set()
        for _ in range(3):
            threads.add(await store._run(lambda _db: threading.get_ident()))
        assert len(threads) == 1
        assert threading.get_ident() not in threads
    finally:
        await store.close()


async def test_after_close_ping_is_false_and_calls_refuse(tmp_path: Path) -> None:
    store = SqliteRoomStore.in_data_dir(tmp_path)
    assert await store.ping() is True
    await store.close()
    assert await store.ping() is False
    with pytest.raises(RuntimeError):
        await store.get("r_any")


async def test_documents_are_sealed_at_rest_and_bound_to_their_room(tmp_path: Path) -> None:
    """Display names never reach the file (or its WAL, or a backup) in the clear; a sealed
    document copied onto another room's row does not open; a wrong key is refused."""
    store = SqliteRoomStore.in_data_dir(tmp_path)
    room = group_room(room_id="r_sealed")
    name = room.members[1].name
    await store.create(room)
    await store.save(room)
    await store.close()
    files = await asyncio.to_thread(lambda: sorted(tmp_path.glob("rooms.sqlite3*")))
    on_disk = b"".join([await asyncio.to_thread(p.read_bytes) for p in files])
    assert name.encode() not in on_disk and b"Therapist" not in on_disk
    key_mode = (await asyncio.to_thread((tmp_path / STORAGE_KEY_FILE).stat)).st_mode
    assert key_mode & 0o777 == 0o600

    reopened = SqliteRoomStore.in_data_dir(tmp_path)
    loaded = await reopened.get("r_sealed")
    assert loaded == room
    await reopened.close()

    db = sqlite3.connect(tmp_path / "rooms.sqlite3")
    blob = db.execute("SELECT doc FROM rooms WHERE id = 'r_sealed'").fetchone()[0]
    db.execute("INSERT INTO rooms (id, doc, ended_at) VALUES ('r_other', ?, NULL)", (blob,))
    db.commit()
    db.close()
    moved = SqliteRoomStore.in_data_dir(tmp_path)
    with pytest.raises(SealError):
        await moved.get("r_other")
    await moved.close()
    wrong_key = SqliteRoomStore(tmp_path / "rooms.sqlite3", Sealer(bytes(32)))
    with pytest.raises(SealError):
        await wrong_key.get("r_sealed")
    await wrong_key.close()
