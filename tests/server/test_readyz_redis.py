"""Readiness follows a real Redis going away and coming back; sessions run on Redis.

Each test starts a private `redis-server` on a free port (no persistence), so it can
be killed and restarted without touching the shared test Redis.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from rooms.member import Admission, Presence
from rooms.room import RoomKind, RoomState
from tests.private_redis import PrivateRedis

if TYPE_CHECKING:
    from tests.conftest import Connector, HttpReply, StartServer

pytestmark = pytest.mark.redis

# How long /readyz may take to follow Redis down or up.
FOLLOW_S = 10.0


@pytest.fixture
async def private_redis(tmp_path: Path) -> AsyncIterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    await server.start()
    try:
        yield server
    finally:
        await server.kill()


async def poll(
    probe: Callable[[], Awaitable[HttpReply]], done: Callable[[HttpReply], bool], within: float
) -> HttpReply:
    deadline = time.monotonic() + within
    while True:
        reply = await probe()
        if done(reply) or time.monotonic() > deadline:
            return reply
        await asyncio.sleep(0.1)


async def test_readyz_follows_redis_down_and_up(
    start_server: StartServer, private_redis: PrivateRedis
) -> None:
    server = await start_server(redis_url=private_redis.url)
    ready = await server.get("/readyz")
    assert (ready.status, ready.body) == (200, {"ready": True, "store": "redis"})

    await private_redis.kill()
    started = time.monotonic()
    down = await poll(lambda: server.get("/readyz"), lambda r: r.status == 503, FOLLOW_S)
    assert (down.status, down.body) == (503, {"ready": False, "store": "redis"}), (
        f"still {down.status} {time.monotonic() - started:.1f}s after Redis died"
    )
    # Liveness is not readiness: the process itself is fine.
    assert (await server.get("/healthz")).status == 200

    await private_redis.start()
    started = time.monotonic()
    up = await poll(lambda: server.get("/readyz"), lambda r: r.status == 200, FOLLOW_S)
    assert (up.status, up.body) == (200, {"ready": True, "store": "redis"}), (
        f"still {up.status} {time.monotonic() - started:.1f}s after Redis came back"
    )
    # And the store really works again, not just its ping.
    room = await server.create_room("individual")
    assert await private_redis.room(room["room"], server.settings.data_dir) is not None


async def test_individual_session_state_lives_in_redis(
    start_server: StartServer, private_redis: PrivateRedis, connect: Connector
) -> None:
    server = await start_server(redis_url=private_redis.url)
    room_id, t_token, p_token = await server.individual_tokens()
    stored = await private_redis.room(room_id, server.settings.data_dir)
    assert stored is not None and stored.state is RoomState.CREATED
    assert stored.kind is RoomKind.INDIVIDUAL
    assert room_id in await private_redis.index()

    therapist = await connect(server, t_token)
    patient = await connect(server, p_token)
    t_ack = await therapist.join()
    p_ack = await patient.join()
    joined = await therapist.wait_for("peer.joined")
    assert joined["peer"]["id"] == p_ack["self"]["id"]
    assert [peer["id"] for peer in p_ack["peers"]] == [t_ack["self"]["id"]]

    stored = await private_redis.room(room_id, server.settings.data_dir)
    assert stored is not None and stored.state is RoomState.ACTIVE
    members = {m.id: m for m in stored.members}
    assert set(members) == {t_ack["self"]["id"], p_ack["self"]["id"]}
    assert {m.presence for m in members.values()} == {Presence.CONNECTED}
    assert members[p_ack["self"]["id"]].role.value == "participant"

    # A media change goes through the store, too.
    assert await patient.call("media.state", {"audio": False, "video": True}) == {"ok": True}
    stored = await private_redis.room(room_id, server.settings.data_dir)
    assert stored is not None
    muted = stored.member(p_ack["self"]["id"])
    assert muted is not None and muted.media.audio is False

    # Leaving frees the seat in the stored room.
    assert await patient.call("session.leave", {}) == {"ok": True}
    stored = await private_redis.room(room_id, server.settings.data_dir)
    assert stored is not None
    left = stored.member(p_ack["self"]["id"])
    assert left is not None and left.presence is Presence.LEFT


async def test_group_session_state_lives_in_redis(
    start_server: StartServer, private_redis: PrivateRedis, connect: Connector
) -> None:
    """Waiting room, admission, lock and the floor survive the trip through Redis."""
    server = await start_server(redis_url=private_redis.url)
    created = await server.create_room("group", ["Ana", "Ben"], admit="manual")
    links = {link["name"]: server.token_of(link["url"]) for link in created["links"]}
    therapist_link = next(link for link in created["links"] if link["role"] == "therapist")
    room_id = created["room"]

    therapist = await connect(server, server.token_of(therapist_link["url"]))
    await therapist.join()
    ana = await connect(server, links["Ana"])
    ana_id = (await ana.join())["self"]["id"]
    ben = await connect(server, links["Ben"])
    ben_ack = await ben.join()
    assert ben_ack["admission"] == "waiting"

    assert await therapist.call("lobby.admit", {"member": ana_id}) == {"ok": True}
    assert await therapist.call("room.lock", {"locked": True}) == {"ok": True}
    assert await therapist.call("floor.mode", {"mode": "hand_queue"}) == {"ok": True}
    assert await ana.call("floor.raise_hand", {}) == {"ok": True}
    assert await therapist.call("moderation.mute", {"member": ana_id}) == {"ok": True}

    stored = await private_redis.room(room_id, server.settings.data_dir)
    assert stored is not None and stored.floor is not None
    assert stored.locked is True
    admission = {m.id: m.admission for m in stored.members}
    assert admission[ana_id] is Admission.ADMITTED
    assert admission[ben_ack["self"]["id"]] is Admission.WAITING
    ana_stored = stored.member(ana_id)
    assert ana_stored is not None and ana_stored.muted_by_moderator is True
    assert stored.floor.mode.value == "hand_queue"
    assert stored.floor.participants == (ana_id,)
    assert [hand.member for hand in stored.floor.hands] == [ana_id]

    assert await therapist.call("floor.grant_next", {}) == {"ok": True}
    stored = await private_redis.room(room_id, server.settings.data_dir)
    assert stored is not None and stored.floor is not None
    assert stored.floor.holder == ana_id

    assert await therapist.call("room.end", {}) == {"ok": True}
    stored = await private_redis.room(room_id, server.settings.data_dir)
    assert stored is not None and stored.state is RoomState.ENDED
    assert room_id not in await private_redis.index()
