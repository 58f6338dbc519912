"""One contract, every backend: what RoomService may rely on from a RoomStore.

Each test runs against MemoryRoomStore, SqliteRoomStore (a file in a temporary directory)
and RedisRoomStore (real Redis, see conftest).
Backend-specific promises (Redis retention TTL, ping on a dead server) follow at the end.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from dataclasses import replace

import pytest
import redis

from rooms.room import Room, RoomState
from server.stores import redis_store
from server.stores.base import RoomExists, RoomStore
from server.stores.redis_store import ROOM_RETENTION_S, RedisRoomStore
from tests.stores.sample_rooms import (
    group_room,
    hand_queue_floor,
    individual_room,
    played_group_session,
)


async def test_create_then_get(store: RoomStore) -> None:
    room = individual_room()
    await store.create(room)
    assert await store.get(room.id) == room
    assert await store.get("r_nobody") is None


async def test_create_refuses_a_taken_id(store: RoomStore) -> None:
    first = individual_room("r_same")
    await store.create(first)
    second = group_room(room_id="r_same")
    with pytest.raises(RoomExists):
        await store.create(second)
    assert await store.get("r_same") == first
    assert await store.list_ids() == ["r_same"]


async def test_save_replaces_the_state(store: RoomStore) -> None:
    room = group_room()
    await store.create(room)
    changed = replace(
        room, locked=False, floor=hand_queue_floor(), last_activity_at=room.last_activity_at + 1
    )
    await store.save(changed)
    assert await store.get(room.id) == changed


async def test_delete(store: RoomStore) -> None:
    keep, gone = individual_room("r_keep"), individual_room("r_gone")
    await store.create(keep)
    await store.create(gone)
    await store.delete(gone.id)
    assert await store.get(gone.id) is None
    assert await store.list_ids() == ["r_keep"]
    await store.delete(gone.id)  # deleting twice is not an error
    await store.delete("r_never_existed")
    assert await store.get(keep.id) == keep
    # The id is free again.
    await store.create(gone)
    assert await store.get(gone.id) == gone


async def test_list_ids_lists_live_rooms_sorted(store: RoomStore) -> None:
    assert await store.list_ids() == []
    for room_id in ("r_b", "r_c", "r_a"):
        await store.create(individual_room(room_id))
    assert await store.list_ids() == ["r_a", "r_b", "r_c"]


@pytest.mark.parametrize("final", [RoomState.ENDED, RoomState.EXPIRED])
async def test_a_room_that_is_over_leaves_the_list_but_stays_readable(
    store: RoomStore, final: RoomState
) -> None:
    """Late links must hear "ended", not "not found"; housekeeping need not tick it."""
    live, over = individual_room("r_live"), individual_room("r_over")
    await store.create(live)
    await store.create(over)
    ended = over.with_state(final)
    await store.save(ended)
    assert await store.get(over.id) == ended
    assert await store.list_ids() == ["r_live"]


async def test_ping(store: RoomStore) -> None:
    assert await store.ping() is True


async def test_close_is_safe_to_repeat(store: RoomStore) -> None:
    await store.create(individual_room())
    await store.close()
    await store.close()  # and the fixture closes it once more


async def test_backend_name(store: RoomStore) -> None:
    assert store.backend in ("memory", "sqlite", "redis")


# --- full round trips -----------------------------------------------------------------


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(individual_room, id="individual-every-presence"),
        pytest.param(group_room, id="group-go-around"),
        pytest.param(lambda: group_room(hand_queue_floor()), id="group-hand-queue"),
        pytest.param(lambda: replace(group_room(), floor=None), id="group-without-floor"),
    ],
)
async def test_round_trip_keeps_every_field(store: RoomStore, build: Callable[[], Room]) -> None:
    room = build()
    await store.create(room)
    stored = await store.get(room.id)
    assert stored == room
    assert stored is not None
    # Equality of the parts that matter most, spelled out for a readable failure.
    assert [m.admission for m in stored.members] == [m.admission for m in room.members]
    assert [
        (m.muted_by_moderator, m.video_stopped_by_moderator, m.media) for m in stored.members
    ] == [(m.muted_by_moderator, m.video_stopped_by_moderator, m.media) for m in room.members]
    assert stored.locked == room.locked
    assert stored.floor == room.floor
    if room.floor is not None:
        assert stored.floor is not None
        assert list(stored.floor.talk.members) == list(room.floor.talk.members)


async def test_every_state_of_a_played_session_round_trips(store: RoomStore) -> None:
    states = list(played_group_session())
    floors = [room.floor for room in states if room.floor is not None]
    # The script reaches the states worth storing.
    assert any(f.go_around is not None and f.turn is not None for f in floors)
    assert any(f.hands and f.turn is not None and f.voice_active for f in floors)
    assert any(m.muted_by_moderator for room in states for m in room.members)
    assert any(not m.admitted and m.seated for room in states for m in room.members)
    await store.create(states[0])
    for room in states[1:]:
        await store.save(room)
        assert await store.get(room.id) == room
    assert states[-1].state is RoomState.ENDED
    assert await store.list_ids() == []


async def test_concurrent_creates_of_one_id_admit_exactly_one(store: RoomStore) -> None:
    rooms = [individual_room("r_race") for _ in range(8)]
    results = await asyncio.gather(*(store.create(r) for r in rooms), return_exceptions=True)
    assert sum(r is None for r in results) == 1
    assert all(isinstance(r, RoomExists) for r in results if r is not None)


# --- Redis specifics ------------------------------------------------------------------


@pytest.mark.redis
async def test_redis_ended_rooms_expire_and_live_rooms_do_not(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    store = RedisRoomStore(redis_url)
    try:
        live, over = individual_room("r_live"), individual_room("r_over")
        await store.create(live)
        await store.create(over)
        live_key = redis_store.ROOM_KEY.format(room_id=live.id)
        over_key = redis_store.ROOM_KEY.format(room_id=over.id)
        assert raw_redis.ttl(live_key) == -1  # no expiry while in play
        await store.save(over.with_state(RoomState.ENDED))
        ttl = raw_redis.ttl(over_key)
        assert ROOM_RETENTION_S - 60 < ttl <= ROOM_RETENTION_S
        await store.save(replace(live, last_activity_at=live.last_activity_at + 1))
        assert raw_redis.ttl(live_key) == -1
        members = raw_redis.smembers(redis_store.ROOM_INDEX_KEY)
        assert members == {b"r_live"}
    finally:
        await store.close()


@pytest.mark.redis
async def test_redis_keys_live_under_the_prefix(
    redis_url: str, raw_redis: redis.Redis, key_prefix: str
) -> None:
    store = RedisRoomStore(redis_url)
    try:
        await store.create(group_room())
        keys = sorted(k.decode() for k in raw_redis.scan_iter(match=key_prefix + "*"))
        assert keys == [key_prefix + "room:r_group", key_prefix + "rooms"]
        assert key_prefix.startswith(redis_store.KEY_PREFIX)
    finally:
        await store.close()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # nothing listens here once the probe is closed


async def test_redis_ping_is_false_when_the_server_is_unreachable() -> None:
    store = RedisRoomStore(f"redis://127.0.0.1:{_closed_port()}/15")
    try:
        started = time.monotonic()
        assert await asyncio.wait_for(store.ping(), 10) is False
        assert time.monotonic() - started < 3.0
        assert await store.ping() is False  # and again, without raising
    finally:
        await store.close()


async def test_redis_ping_is_false_when_the_server_does_not_answer() -> None:
    """A listener that accepts and never replies: the store's timeout, not a hang."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        store = RedisRoomStore(f"redis://127.0.0.1:{port}/15", timeout_s=0.5)
        try:
            started = time.monotonic()
            assert await asyncio.wait_for(store.ping(), 10) is False
            assert time.monotonic() - started < 3.0
        finally:
            await store.close()


async def test_memory_store_forgets_ended_rooms_after_the_retention() -> None:
    from rooms.room import RoomKind, RoomState, new_room
    from server.stores.memory import MemoryRoomStore

    now = [1000.0]
    store = MemoryRoomStore(clock=lambda: now[0], retention_s=60.0)
    room = new_room("r_ended", RoomKind.INDIVIDUAL, 0.0)
    await store.create(room)
    await store.save(room.with_state(RoomState.ENDED))
    now[0] += 59
    assert await store.get("r_ended") is not None, "late links still learn the room ended"
    now[0] += 2
    assert await store.get("r_ended") is None
