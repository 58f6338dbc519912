"""Rooms in Redis, for several processes serving one deployment."""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from rooms.room import Room
from server.stores.base import RoomExists
from server.stores.room_codec import room_from_json, room_to_json

# Every Redis key this project uses is named here.
KEY_PREFIX = "telehealth:"
ROOM_KEY = KEY_PREFIX + "room:{room_id}"
ROOM_INDEX_KEY = KEY_PREFIX + "rooms"
# Ended or expired rooms are kept a while so late links get "ended", not "not found".
ROOM_RETENTION_S = 24 * 3600


class RedisRoomStore:
    backend = "redis"

    def __init__(self, url: str, *, timeout_s: float = 2.0) -> None:
        self._redis = aioredis.Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            health_check_interval=10,
            max_connections=64,
        )

    async def create(self, room: Room) -> None:
        created = await self._redis.set(
            ROOM_KEY.format(room_id=room.id), room_to_json(room), nx=True
        )
        if not created:
            raise RoomExists(room.id)
        await self._redis.sadd(ROOM_INDEX_KEY, room.id)

    async def get(self, room_id: str) -> Room | None:
        raw = await self._redis.get(ROOM_KEY.format(room_id=room_id))
        return None if raw is None else room_from_json(raw)

    async def save(self, room: Room) -> None:
        ttl = ROOM_RETENTION_S if room.is_over else None
        await self._redis.set(ROOM_KEY.format(room_id=room.id), room_to_json(room), ex=ttl)
        if room.is_over:
            await self._redis.srem(ROOM_INDEX_KEY, room.id)

    async def delete(self, room_id: str) -> None:
        await self._redis.delete(ROOM_KEY.format(room_id=room_id))
        await self._redis.srem(ROOM_INDEX_KEY, room_id)

    async def list_ids(self) -> list[str]:
        members = await self._redis.smembers(ROOM_INDEX_KEY)
        return sorted(m.decode() if isinstance(m, bytes) else str(m) for m in members)

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except (RedisError, OSError):
            return False

    async def close(self) -> None:
        await self._redis.aclose()
