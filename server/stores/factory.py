"""The one place that picks a store backend from configuration."""

from __future__ import annotations

from server.stores.base import RoomStore
from server.stores.memory import MemoryRoomStore
from server.stores.redis_store import RedisRoomStore


def make_store(redis_url: str | None) -> RoomStore:
    if redis_url:
        return RedisRoomStore(redis_url)
    return MemoryRoomStore()
