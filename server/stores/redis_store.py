"""Rooms in Redis, for several processes serving one deployment."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from rooms.room import Room
from server.stores.base import RoomExists, StoreUnavailable
from server.stores.redis_connection import PromptWriteConnection
from server.stores.room_codec import room_from_json, room_to_json
from server.stores.sealed import Sealer

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

# With leases (server.cluster), a save is fenced: it lands only while the lease value
# the writer holds is still the room's lease. Atomic in Redis; see server.cluster.leases.
# It may carry the command's fan-out message (ARGV[6] channel, ARGV[7] message),
# published only when the save landed: one round trip for both, and a stalled former
# owner's events never reach anyone.
_FENCED_SAVE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[3] == '0' then redis.call('SET', KEYS[2], ARGV[2])
else redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3]) end
if ARGV[4] == '1' then redis.call('SREM', KEYS[3], ARGV[5]) end
if ARGV[6] ~= '' then redis.call('PUBLISH', ARGV[6], ARGV[7]) end
return 1
"""
LEASE_KEY = KEY_PREFIX + "lease:{room_id}"


class LeaseLost(StoreUnavailable):
    """A fenced save refused: this process no longer owns the room (another one took it)."""


# The lease value this process holds for a room, or None when it holds none.
Fence = Callable[[str], str | None]


@dataclass(frozen=True)
class Announcement:
    """A message to publish with a fenced save, atomically after it lands."""

    channel: str
    message: bytes


# Redis not answering, as redis-py raises it (OSError: a socket error it did not wrap).
_UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)


@contextmanager
def answering(operation: str) -> Iterator[None]:
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

    def __init__(
        self, url: str, *, timeout_s: float = TIMEOUT_S, sealer: Sealer | None = None
    ) -> None:
        # Documents hold display names: sealed like the SQLite store's when a key is given.
        self._sealer = sealer
        self.fence: Fence | None = None
        options: dict[str, Any] = {
            "socket_timeout": timeout_s,
            "socket_connect_timeout": timeout_s,
            "retry": Retry(NoBackoff(), 1),
            "health_check_interval": 10,
            "max_connections": 64,
        }
        if url.startswith("redis://"):  # rediss:// and unix:// keep redis-py's own classes
            options["connection_class"] = PromptWriteConnection
        self.redis = aioredis.Redis.from_url(url, **options)
        self._fenced = self.redis.register_script(_FENCED_SAVE)

    async def create(self, room: Room) -> None:
        with answering("create"):
            created = await self.redis.set(
                ROOM_KEY.format(room_id=room.id), self._seal(room), nx=True
            )
            if not created:
                raise RoomExists(room.id)
            await self.redis.sadd(ROOM_INDEX_KEY, room.id)

    async def get(self, room_id: str) -> Room | None:
        with answering("get"):
            raw = await self.redis.get(ROOM_KEY.format(room_id=room_id))
        return None if raw is None else self._open(room_id, raw)

    def _seal(self, room: Room) -> bytes | str:
        document = room_to_json(room)
        return document if self._sealer is None else self._sealer.seal(room.id, document)

    def _open(self, room_id: str, raw: bytes | str) -> Room:
        # A plain JSON document was written before sealing (or by a store without a key).
        if self._sealer is None or isinstance(raw, str) or raw[:1] == b"{":
            return room_from_json(raw)
        return room_from_json(self._sealer.open(room_id, raw))

    async def save(self, room: Room, announcement: Announcement | None = None) -> None:
        """`announcement` only with a fence (several processes)."""
        ttl = ROOM_RETENTION_S if room.is_over else None
        if self.fence is not None:
            await self._fenced_save(room, self.fence(room.id), ttl, announcement)
            return
        assert announcement is None, "an announcement rides on a fenced save only"
        with answering("save"):
            await self.redis.set(ROOM_KEY.format(room_id=room.id), self._seal(room), ex=ttl)
            if room.is_over:
                await self.redis.srem(ROOM_INDEX_KEY, room.id)

    async def _fenced_save(
        self, room: Room, lease: str | None, ttl: int | None, announcement: Announcement | None
    ) -> None:
        if lease is None:
            raise LeaseLost()
        keys = [LEASE_KEY.format(room_id=room.id), ROOM_KEY.format(room_id=room.id), ROOM_INDEX_KEY]
        args = [lease, self._seal(room), ttl or 0, int(room.is_over), room.id]
        if announcement is None:
            args += ["", ""]
        else:
            args += [announcement.channel, announcement.message]
        with answering("save"):
            saved = await self._fenced(keys=keys, args=args)
        if not int(saved):
            raise LeaseLost()

    async def delete(self, room_id: str) -> None:
        with answering("delete"):
            await self.redis.delete(ROOM_KEY.format(room_id=room_id))
            await self.redis.srem(ROOM_INDEX_KEY, room_id)

    async def list_ids(self) -> list[str]:
        with answering("list_ids"):
            members = await self.redis.smembers(ROOM_INDEX_KEY)
        return sorted(m.decode() if isinstance(m, bytes) else str(m) for m in members)

    async def ping(self) -> bool:
        try:
            return bool(await self.redis.ping())
        except (RedisError, OSError):
            return False

    async def close(self) -> None:
        await self.redis.aclose()
