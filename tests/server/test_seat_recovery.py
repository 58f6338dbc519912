"""After a crash the store still shows members connected: startup holds their seats
in grace from the restart, so the returning resume and the absent time out."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from rooms.commands import Join
from rooms.member import Presence
from rooms.roles import Role
from rooms.room import RoomKind, RoomPolicy
from server.room_service import RoomService
from server.seat_recovery import hold_seats_after_restart
from server.settings import Settings
from server.stores.factory import describe_store, make_store
from server.stores.memory import MemoryRoomStore
from server.stores.redis_store import RedisRoomStore
from server.stores.sqlite_store import DB_FILE, SqliteRoomStore

GRACE_S = 30.0


async def _room_with_two_connected(tmp_path: Path, now: list[float]) -> str:
    """The run before the crash: both members joined, nothing marked them gone."""
    store = SqliteRoomStore.in_data_dir(tmp_path)
    rooms = RoomService(store, clock=lambda: now[0])
    room = await rooms.create(RoomKind.INDIVIDUAL, RoomPolicy(grace_s=GRACE_S))
    await rooms.execute(room.id, Join("m_t", Role.THERAPIST, "Dr T", now[0]))
    await rooms.execute(room.id, Join("m_p", Role.PARTICIPANT, "Pat", now[0]))
    await store.close()  # the file is all a killed process leaves behind
    return room.id


async def test_seats_are_held_from_the_restart_then_resume_or_time_out(tmp_path: Path) -> None:
    now = [1_000.0]
    room_id = await _room_with_two_connected(tmp_path, now)
    now[0] += 600  # the restart comes much later than the grace period
    store = SqliteRoomStore.in_data_dir(tmp_path)
    rooms = RoomService(store, clock=lambda: now[0])
    try:
        await hold_seats_after_restart(rooms)
        room = await rooms.get(room_id)
        assert room is not None
        assert {(m.id, m.presence, m.disconnected_at) for m in room.members} == {
            ("m_t", Presence.DISCONNECTED, now[0]),
            ("m_p", Presence.DISCONNECTED, now[0]),
        }

        now[0] += GRACE_S - 1
        await rooms.tick([room_id])
        _, events = await rooms.execute(
            room_id, Join("m_t", Role.THERAPIST, "Dr T", now[0], resume=True)
        )
        assert [e.name for e in events] == ["member_reconnected"]

        now[0] += 2
        await rooms.tick([room_id])
        room = await rooms.get(room_id)
        assert room is not None
        assert {m.id: m.presence for m in room.members} == {
            "m_t": Presence.CONNECTED,
            "m_p": Presence.LEFT,
        }
        # A second startup finds nobody to hold but the one still connected.
        await hold_seats_after_restart(rooms)
    finally:
        await store.close()


async def test_a_shared_redis_store_is_left_alone() -> None:
    """Other processes may hold those connections; the lease work decides (issue 12)."""

    class SharedStore(MemoryRoomStore):
        backend = "redis"

    rooms = RoomService(SharedStore(), clock=lambda: 5.0)
    room = await rooms.create(RoomKind.INDIVIDUAL, RoomPolicy())
    await rooms.execute(room.id, Join("m_t", Role.THERAPIST, "Dr T", 5.0))
    await hold_seats_after_restart(rooms)
    stored = await rooms.get(room.id)
    assert stored is not None and stored.connected()


@pytest.mark.parametrize(
    ("settings", "kind", "banner"),
    [
        (Settings(), SqliteRoomStore, "SQLite, "),
        (Settings(embedded_store="memory"), MemoryRoomStore, "in memory"),
        (
            Settings(redis_url="redis://127.0.0.1:1/0", embedded_store="memory"),
            RedisRoomStore,
            "Redis",
        ),
    ],
)
async def test_the_factory_picks_redis_with_a_url_else_the_embedded_store(
    settings: Settings, kind: type, banner: str, tmp_path: Path
) -> None:
    settings = replace(settings, data_dir=tmp_path)
    store = make_store(settings)
    try:
        assert isinstance(store, kind)
        assert describe_store(settings).startswith(banner)
        if isinstance(store, SqliteRoomStore):
            assert store.path == tmp_path / DB_FILE
            assert str(tmp_path / DB_FILE) in describe_store(settings)
    finally:
        await store.close()


def test_an_unknown_embedded_store_is_refused() -> None:
    with pytest.raises(ValueError, match="embedded_store"):
        Settings(embedded_store="postgres")
