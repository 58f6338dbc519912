"""The one place that picks a store backend from configuration."""

from __future__ import annotations

from server.settings import Settings
from server.stores.base import RoomStore
from server.stores.memory import MemoryRoomStore
from server.stores.redis_store import RedisRoomStore
from server.stores.sealed import Sealer
from server.stores.sqlite_store import DB_FILE, SqliteRoomStore


def make_store(settings: Settings) -> RoomStore:
    """Redis with a URL (several processes), else the embedded store: the SQLite file in
    the data directory, or memory when a test asks for it."""
    if settings.redis_url:
        return RedisRoomStore(settings.redis_url, sealer=sealer_for(settings))
    if settings.embedded_store == "memory":
        return MemoryRoomStore()
    return SqliteRoomStore.in_data_dir(settings.data_dir)


def sealer_for(settings: Settings) -> Sealer:
    """Room documents and cluster messages are sealed with the data directory's key,
    which every process of one deployment shares (one data directory)."""
    return Sealer.in_data_dir(settings.data_dir)


def describe_store(settings: Settings) -> str:
    """For the startup banner: which store this process uses."""
    if settings.redis_url:
        return "Redis"
    if settings.embedded_store == "memory":
        return "in memory (rooms are lost when the process stops)"
    return f"SQLite, {(settings.data_dir / DB_FILE).resolve()}"
