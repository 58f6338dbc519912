"""Store fixtures: every backend behind one `store` fixture, Redis isolated per test.

The Redis backend runs against the real server at TELEHEALTH_TEST_REDIS_URL (DB 15 by
default). Each test gets its own key prefix, `telehealth:test:<random>:`, and every
key under it is deleted afterwards, so tests never touch real `telehealth:` data and
never see each other's rooms.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator

import pytest
import redis
from redis.exceptions import RedisError

from server.stores import redis_store
from server.stores.base import RoomStore
from server.stores.memory import MemoryRoomStore
from server.stores.redis_store import RedisRoomStore
from server.stores.sqlite_store import SqliteRoomStore

DEFAULT_TEST_REDIS_URL = "redis://127.0.0.1:6379/15"
BACKENDS = ("memory", "sqlite", "redis")


def configured_redis_url() -> str:
    return os.environ.get("TELEHEALTH_TEST_REDIS_URL") or DEFAULT_TEST_REDIS_URL


def _redis_answers(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        return bool(client.ping())
    except (RedisError, OSError):
        return False
    finally:
        client.close()


@pytest.fixture
def redis_url() -> str:
    """The test Redis: a missing one is a failure, never a skip (scripts/test starts one)."""
    url = configured_redis_url()
    if not _redis_answers(url):
        pytest.fail(f"no Redis answers at {url}; scripts/test starts one on 127.0.0.1:6379")
    return url


@pytest.fixture
def key_prefix(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point the Redis store's key names at a prefix of this test's own."""
    prefix = f"{redis_store.KEY_PREFIX}test:{secrets.token_hex(6)}:"
    monkeypatch.setattr(redis_store, "ROOM_KEY", prefix + "room:{room_id}")
    monkeypatch.setattr(redis_store, "ROOM_INDEX_KEY", prefix + "rooms")
    yield prefix


@pytest.fixture
def raw_redis(redis_url: str, key_prefix: str) -> Iterator[redis.Redis]:
    """A plain client on the test DB; deletes this test's keys before and after."""
    client = redis.Redis.from_url(redis_url, socket_timeout=5)

    def clean() -> None:
        for key in client.scan_iter(match=key_prefix + "*", count=500):
            client.delete(key)

    clean()
    try:
        yield client
    finally:
        clean()
        client.close()


@pytest.fixture(params=BACKENDS, ids=BACKENDS)
async def store(request: pytest.FixtureRequest) -> AsyncIterator[RoomStore]:
    """Each contract test runs once per backend."""
    backend: RoomStore
    if request.param == "memory":
        backend = MemoryRoomStore()
    elif request.param == "sqlite":
        backend = SqliteRoomStore.in_data_dir(request.getfixturevalue("tmp_path"))
    else:
        request.applymarker(pytest.mark.redis)
        request.getfixturevalue("raw_redis")  # skip/fail early, isolate and clean keys
        backend = RedisRoomStore(request.getfixturevalue("redis_url"))
    try:
        yield backend
    finally:
        await asyncio.wait_for(backend.close(), 5)
