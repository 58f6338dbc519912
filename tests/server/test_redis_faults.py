"""Redis going down under a live session, and coming back (issue 12, item 6).

A private `redis-server` with an append-only file (`appendfsync always`, as
docs/operations.md asks of a deployment) is killed with SIGKILL and restarted on the
same port and data directory, so the room it held must come back as last saved.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from rooms.errors import ErrorCode
from rooms.member import Presence
from tests.private_redis import PrivateRedis

if TYPE_CHECKING:
    from tests.conftest import Connector, StartServer

pytestmark = pytest.mark.redis

# A command with Redis down must be refused within this: the store's timeouts are 1 s,
# with one retry, so a Redis that never answers costs about 2 s; a refused port fails at once.
REFUSE_WITHIN_S = 3.0
FOLLOW_S = 10.0


@pytest.fixture
async def durable_redis(tmp_path: Path) -> AsyncIterator[PrivateRedis]:
    server = PrivateRedis(tmp_path, durable=True)
    await server.start()
    try:
        yield server
    finally:
        await server.kill()


async def test_commands_are_refused_while_redis_is_down_and_work_after(
    start_server: StartServer, durable_redis: PrivateRedis, connect: Connector
) -> None:
    server = await start_server(redis_url=durable_redis.url)
    room_id, t_token, p_token = await server.individual_tokens()
    therapist = await connect(server, t_token)
    patient = await connect(server, p_token)
    await therapist.join()
    p_id = (await patient.join())["self"]["id"]
    assert await patient.call("media.state", {"audio": False, "video": True}) == {"ok": True}
    before = await durable_redis.room(room_id, server.settings.data_dir)
    assert before is not None

    await durable_redis.kill()

    # Liveness stays up; readiness follows the store down.
    assert (await server.get("/healthz")).status == 200
    ready = await server.get("/readyz")
    assert (ready.status, ready.body) == (503, {"ready": False, "store": "redis"})

    # A command that needs the store is refused, quickly and in plain words.
    started = time.monotonic()
    reply = await patient.call("media.state", {"audio": True, "video": True})
    took = time.monotonic() - started
    assert reply == {
        "ok": False,
        "error": {"code": ErrorCode.UNAVAILABLE.value, "message": ErrorCode.UNAVAILABLE.message},
    }
    assert took < REFUSE_WITHIN_S, f"refused after {took:.2f}s"
    print(f"media.state refused {took * 1000:.0f} ms after the call with Redis down")
    # The admin API says so too, as a retryable 503 (no traceback, no 500).
    created = await server.post("/api/rooms", {"kind": "individual"})
    assert created.status == 503
    assert created.body["error"]["code"] == ErrorCode.UNAVAILABLE.value
    # Both connections are still up, and nobody was told the other left.
    await asyncio.sleep(0.3)
    assert patient.connected and therapist.connected
    assert therapist.peek("peer.left") == []

    await durable_redis.start()
    started = time.monotonic()
    while (await server.get("/readyz")).status != 200:
        assert time.monotonic() - started < FOLLOW_S, "readyz did not come back"
        await asyncio.sleep(0.1)

    # The room is as last saved: the refused change was not applied, nothing was lost.
    after = await durable_redis.room(room_id, server.settings.data_dir)
    assert after == before
    member = after.member(p_id) if after is not None else None
    assert member is not None and member.media.audio is False
    assert member.presence is Presence.CONNECTED

    # And the same command works again on the same connection.
    assert await patient.call("media.state", {"audio": True, "video": True}) == {"ok": True}
    stored = await durable_redis.room(room_id, server.settings.data_dir)
    member = stored.member(p_id) if stored is not None else None
    assert member is not None and member.media.audio is True


async def test_a_redis_that_never_answers_fails_a_command_in_bounded_time(
    start_server: StartServer, durable_redis: PrivateRedis, connect: Connector
) -> None:
    server = await start_server(redis_url=durable_redis.url)
    _room_id, t_token, _p_token = await server.individual_tokens()
    therapist = await connect(server, t_token)
    await therapist.join()

    durable_redis.freeze(True)
    try:
        started = time.monotonic()
        reply = await therapist.call("media.state", {"audio": False, "video": True})
        took = time.monotonic() - started
    finally:
        durable_redis.freeze(False)
    assert reply["error"]["code"] == ErrorCode.UNAVAILABLE.value
    assert took < REFUSE_WITHIN_S, f"refused after {took:.2f}s"
    print(f"media.state refused {took * 1000:.0f} ms after the call with Redis frozen")
    assert therapist.connected
    assert await therapist.call("media.state", {"audio": False, "video": True}) == {"ok": True}
