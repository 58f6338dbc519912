"""Rooms in Redis, for several processes serving one deployment."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from rooms.room import Room
from server.stores.base import RoomExists, StoreUnavailable
from server.stores.room_codec import room_from_json, room_to_json

# Every Redis key this project uses is named here.
KEY_PREFIX = "telehealth:"
ROOM_KEY = KEY_PREFIX + "room:{room_id}"
ROOM_INDEX_KEY = KEY_PREFIX + "rooms"
# Ended or expired rooms are kept a while so late links get "ended", not "not found".
ROOM_RETENTION_S = 24 * 3600
# A down or unreachable Redis fails a command within about 2 x this (one quick retry,
# for a pooled connection that went stale when Redis restarted), never hangs it.
TIMEOUT_S = 1.0

log = logging.getLogger(__name__)

# Redis not answering, as redis-py raises it (OSError: a socket error it did not wrap).
_UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)


@contextmanager
def _answering(operation: str) -> Iterator[None]:
    """The one place a Redis outage becomes StoreUnavailable (`unavailable` on the wire)."""
    try:
        yield
    except _UNREACHABLE as error:
        log.warning(
            "redis unavailable", extra={"operation": operation, "error": type(error).__name__}
        )
        raise StoreUnavailable() from error


class RedisRoomStore:
    backend = "redis"

    def __init__(self, url: str, *, timeout_s: float = TIMEOUT_S) -> None:
        self._redis = aioredis.Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), 1),
            health_check_interval=10,
            max_connections=64,
        )

    async def create(self, room: Room) -> None:
        with _answering("create"):
            created = await self._redis.set(
                ROOM_KEY.format(room_id=room.id), room_to_json(room), nx=True
            )
            if not created:
                raise RoomExists(room.id)
            await self._redis.sadd(ROOM_INDEX_KEY, room.id)

    async def get(self, room_id: str) -> Room | None:
        with _answering("get"):
            raw = await self._redis.get(ROOM_KEY.format(room_id=room_id))
        return None if raw is None else room_from_json(raw)

    async def save(self, room: Room) -> None:
        ttl = ROOM_RETENTION_S if room.is_over else None
        with _answering("save"):
            await self._redis.set(ROOM_KEY.format(room_id=room.id), room_to_json(room), ex=ttl)
            if room.is_over:
                await self._redis.srem(ROOM_INDEX_KEY, room.id)

    async def delete(self, room_id: str) -> None:
        with _answering("delete"):
            await self._redis.delete(ROOM_KEY.format(room_id=room_id))
            await self._redis.srem(ROOM_INDEX_KEY, room_id)

    async def list_ids(self) -> list[str]:
        with _answering("list_ids"):
            members = await self._redis.smembers(ROOM_INDEX_KEY)
        return sorted(m.decode() if isinstance(m, bytes) else str(m) for m in members)

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except (RedisError, OSError):
            return False

    async def close(self) -> None:
        await self._redis.aclose()
