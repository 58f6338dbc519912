"""Room ownership across processes: one lease per live room in Redis, with fencing.

A lease's value is "NODE|EPOCH". The epoch comes from a per-room counter that grows on
every takeover, so a lease value is never reused: a former owner that stalled past its
lease (a GC pause, a frozen VM) holds a value that no longer matches, and every write
it tries is refused by `fenced_save` (Redis runs each script atomically). That is the
whole of the safety argument; the TTL only decides how soon a dead owner is replaced.

Nodes (processes) announce themselves in a sorted set scored by their last heartbeat,
so a new owner can tell which seats were held by a process that is gone.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import redis.asyncio as aioredis

from server.stores.redis_store import KEY_PREFIX, LEASE_KEY, answering

EPOCH_KEY = KEY_PREFIX + "epoch:{room_id}"
NODES_KEY = KEY_PREFIX + "nodes"
SEATS_KEY = KEY_PREFIX + "seats:{room_id}"
# A dead owner is replaced within LEASE_TTL_S plus one housekeeping beat; the owner
# renews every RENEW_EVERY_S, so two renewals may fail (a slow Redis) before it loses one.
LEASE_TTL_S = 3.0
RENEW_EVERY_S = 1.0
NODE_TTL_S = LEASE_TTL_S

_ACQUIRE = """
local held = redis.call('GET', KEYS[1])
if held then return {0, held} end
local epoch = redis.call('INCR', KEYS[2])
local value = ARGV[1] .. '|' .. epoch
redis.call('SET', KEYS[1], value, 'PX', ARGV[2])
return {1, value}
"""

# Renew our own lease. If it lapsed but nobody took over since (the epoch counter still
# says ours), take it back: a Redis blip longer than the TTL must not move every room.
_RENEW = """
local held = redis.call('GET', KEYS[1])
if held == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[3]) return 1 end
if held then return 0 end
local epoch = redis.call('GET', KEYS[2])
if epoch and epoch ~= ARGV[2] then return 0 end
if not epoch then redis.call('SET', KEYS[2], ARGV[2]) end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1
"""

# Letting go is final: the epoch moves on, so a renewal already on its way (the renew
# beat runs beside commands) finds the counter no longer ours and does not take the
# room back from the process it was handed to.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('INCR', KEYS[2])
  return redis.call('DEL', KEYS[1])
end
return 0
"""


@dataclass(frozen=True)
class Lease:
    room_id: str
    value: str  # "NODE|EPOCH": what fenced writes compare

    @property
    def node(self) -> str:
        return self.value.rsplit("|", 1)[0]

    @property
    def epoch(self) -> int:
        return int(self.value.rsplit("|", 1)[1])


def _text(raw: object) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


class Leases:
    def __init__(self, redis: aioredis.Redis, node_id: str, ttl_s: float = LEASE_TTL_S) -> None:
        self._redis = redis
        self.node_id = node_id
        self._ttl_ms = int(ttl_s * 1000)
        self._acquire = redis.register_script(_ACQUIRE)
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    def _keys(self, room_id: str) -> list[str]:
        return [LEASE_KEY.format(room_id=room_id), EPOCH_KEY.format(room_id=room_id)]

    async def acquire(self, room_id: str) -> Lease | None:
        """Take the room if nobody holds it; None when another node does."""
        with answering("lease acquire"):
            taken, value = await self._acquire(
                keys=self._keys(room_id), args=[self.node_id, self._ttl_ms]
            )
        return Lease(room_id, _text(value)) if int(taken) else None

    async def renew(self, leases: list[Lease]) -> list[bool]:
        """Renew many in one round trip (a process may own hundreds of rooms)."""
        if not leases:
            return []
        # `async with`: a pipeline that met a dead Redis still gives its connection back.
        async with self._redis.pipeline(transaction=False) as pipe:
            for lease in leases:
                await self._renew(
                    keys=self._keys(lease.room_id),
                    args=[lease.value, lease.epoch, self._ttl_ms],
                    client=pipe,
                )
            with answering("lease renew"):
                kept = await pipe.execute()
        return [bool(int(k)) for k in kept]

    async def release(self, lease: Lease) -> None:
        with answering("lease release"):
            await self._release(keys=self._keys(lease.room_id), args=[lease.value])

    async def holder(self, room_id: str) -> Lease | None:
        with answering("lease holder"):
            value = await self._redis.get(LEASE_KEY.format(room_id=room_id))
        return None if value is None else Lease(room_id, _text(value))

    async def holders(self, room_ids: list[str]) -> dict[str, Lease | None]:
        if not room_ids:
            return {}
        with answering("lease holders"):
            values = await self._redis.mget([LEASE_KEY.format(room_id=r) for r in room_ids])
        return {
            room_id: None if value is None else Lease(room_id, _text(value))
            for room_id, value in zip(room_ids, values, strict=True)
        }


class Nodes:
    """Which processes are alive: each scores itself in a sorted set every beat."""

    def __init__(self, redis: aioredis.Redis, node_id: str, ttl_s: float = NODE_TTL_S) -> None:
        self._redis = redis
        self.node_id = node_id
        self._ttl_s = ttl_s

    async def heartbeat(self) -> None:
        with answering("node heartbeat"):
            await self._redis.zadd(NODES_KEY, {self.node_id: time.time()})

    async def leave(self) -> None:
        with answering("node leave"):
            await self._redis.zrem(NODES_KEY, self.node_id)

    async def alive(self) -> set[str]:
        cutoff = time.time() - self._ttl_s
        with answering("nodes alive"):
            # Long-dead entries are dropped here, so the set stays as small as the cluster.
            await self._redis.zremrangebyscore(NODES_KEY, "-inf", cutoff - 60)
            members = await self._redis.zrangebyscore(NODES_KEY, cutoff, "+inf")
        return {_text(m) for m in members}


class SeatNodes:
    """Which process holds each member's connection, for a new owner to check."""

    def __init__(self, redis: aioredis.Redis, node_id: str) -> None:
        self._redis = redis
        self.node_id = node_id

    async def hold(self, room_id: str, member_id: str) -> None:
        with answering("seat hold"):
            await self._redis.hset(SEATS_KEY.format(room_id=room_id), member_id, self.node_id)

    async def all(self, room_id: str) -> dict[str, str]:
        with answering("seat nodes"):
            raw = await self._redis.hgetall(SEATS_KEY.format(room_id=room_id))
        return {_text(k): _text(v) for k, v in raw.items()}
