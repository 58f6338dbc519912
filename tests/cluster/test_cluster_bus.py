"""The cluster bus on the real Redis: requests and replies, a room's fan-out that also
answers the request that caused it, and messages a process must not act on."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from rooms.room import RoomKind, new_room
from server.cluster.bus import FANOUT_CHANNEL, ClusterBus, Message
from server.cluster.leases import LEASE_KEY
from server.cluster.wire_batch import batch_from_data, batch_to_data
from server.stores.redis_store import Announcement, LeaseLost, RedisRoomStore
from server.stores.sealed import Sealer
from signaling.codec import Audience, Outgoing
from signaling.events import ServerEvent
from signaling.fanout import WireBatch

pytestmark = [pytest.mark.cluster, pytest.mark.redis]

REDIS_URL = os.environ.get("TELEHEALTH_TEST_REDIS_URL") or "redis://127.0.0.1:6379/15"
ROOM = "r_bus_test"


class Process:
    """One bus, with what reached it."""

    def __init__(self, redis: aioredis.Redis, sealer: Sealer, name: str) -> None:
        self.bus = ClusterBus(redis, f"{name}-{secrets.token_hex(3)}", sealer)
        self._redis = redis
        self.room_messages: list[Message] = []
        self.requests: list[Message] = []
        self.bus.serve(self._on_request, self._on_room)

    async def _on_request(self, kind: str, room_id: str, body: Message) -> Any:
        self.requests.append(body)
        if kind == "echo":
            return {"echo": body["text"]}
        # "act": what an owner does for a command: its fenced save publishes the events
        # (here a plain PUBLISH), and it answers nothing more.
        sealed = self.bus.room_message(room_id, {"kind": "wire", "n": body["n"]})
        await self._redis.publish(sealed.channel, sealed.message)
        sealed.published()
        return None

    async def _on_room(self, room_id: str, message: Message) -> None:
        self.room_messages.append(message)


@asynccontextmanager
async def two_buses(tmp_path: Path) -> AsyncIterator[tuple[Process, Process]]:
    sealer = Sealer.in_data_dir(tmp_path)
    redis = aioredis.Redis.from_url(REDIS_URL)
    processes = (Process(redis, sealer, "a"), Process(redis, sealer, "b"))
    for process in processes:
        await process.bus.start()
        await process.bus.watch_room(ROOM)
    try:
        yield processes
    finally:
        for process in processes:
            await process.bus.close()
        await redis.aclose()


async def _until(check: Any, timeout_s: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not check():
        assert loop.time() < deadline, "not within the time"
        await asyncio.sleep(0.01)


async def test_a_request_is_answered_by_a_reply(tmp_path: Path) -> None:
    async with two_buses(tmp_path) as (caller, owner):
        result = await caller.bus.call(owner.bus.node_id, "echo", ROOM, {"text": "hi"})
        assert result == {"echo": "hi"}


async def test_the_rooms_fan_out_answers_a_caller_that_hears_the_room(tmp_path: Path) -> None:
    async with two_buses(tmp_path) as (caller, owner):
        await _until(lambda: caller.bus.hears(ROOM))
        body = {"n": 1, "answer_on_room": caller.bus.hears(ROOM)}
        result = await caller.bus.call(owner.bus.node_id, "act", ROOM, body)
        assert result is None
        # The events were delivered before the call returned, and they were the answer:
        # the caller read one message (the room's), not a room message and a reply.
        assert [m["n"] for m in caller.room_messages] == [1]
        assert caller.room_messages[0]["done"]
        assert caller.bus.handled == 1


async def test_a_caller_that_does_not_hear_the_room_gets_a_reply(tmp_path: Path) -> None:
    async with two_buses(tmp_path) as (caller, owner):
        await caller.bus.unwatch_room(ROOM)
        body = {"n": 2, "answer_on_room": caller.bus.hears(ROOM)}
        assert body["answer_on_room"] is False
        assert await caller.bus.call(owner.bus.node_id, "act", ROOM, body) is None
        assert caller.room_messages == []
        assert caller.bus.handled == 1  # the reply


async def test_a_process_skips_its_own_room_messages(tmp_path: Path) -> None:
    async with two_buses(tmp_path) as (first, second):
        await first.bus.publish_room(ROOM, {"kind": "room", "n": 3})
        await _until(lambda: second.room_messages)
        await asyncio.sleep(0.2)  # the copy Redis sends back to `first` has arrived too
        assert first.room_messages == [] and first.bus.handled == 0
        assert [m["n"] for m in second.room_messages] == [3]


async def test_a_message_whose_clear_sender_lies_is_dropped(tmp_path: Path) -> None:
    async with two_buses(tmp_path) as (first, second):
        channel = FANOUT_CHANNEL.format(room_id=ROOM)
        sealer = Sealer.in_data_dir(tmp_path)
        inner = json.dumps({"kind": "room", "n": 4, "sender": first.bus.node_id})
        forged = b"someone-else|" + sealer.seal(channel, inner)
        redis = aioredis.Redis.from_url(REDIS_URL)
        try:
            await redis.publish(channel, forged)
            await redis.publish(channel, b"x|not sealed at all")
        finally:
            await redis.aclose()
        await first.bus.publish_room(ROOM, {"kind": "room", "n": 5})
        await _until(lambda: second.room_messages)
        assert [m["n"] for m in second.room_messages] == [5]


def test_a_wire_batch_travels_intact() -> None:
    batch = WireBatch(
        ROOM,
        moves=(("m1", True), ("m2", False)),
        messages=(
            Outgoing(ServerEvent.PEER_JOINED, {"peer": {"id": "m1"}}, except_member="m1"),
            Outgoing(ServerEvent.LOBBY_SENT_BACK, {}, Audience.MEMBER, member="m2"),
        ),
        over=False,
    )
    data = json.loads(json.dumps(batch_to_data(batch)))
    assert batch_from_data(ROOM, data) == batch


@pytest.mark.parametrize(
    "broken",
    [
        {"moves": [], "messages": [{"event": "no.such", "payload": {}, "audience": "room"}]},
        {"moves": [[1, True]], "messages": [], "over": False},
        {"moves": [], "messages": [{"event": "peer.left", "payload": [], "audience": "room"}]},
        {"moves": [], "messages": [], "over": "yes"},
    ],
)
def test_a_malformed_wire_batch_is_refused(broken: dict[str, Any]) -> None:
    with pytest.raises((KeyError, TypeError, ValueError)):
        batch_from_data(ROOM, broken)


async def test_a_fenced_save_publishes_its_announcement_only_when_it_lands(
    tmp_path: Path,
) -> None:
    sealer = Sealer.in_data_dir(tmp_path)
    store = RedisRoomStore(REDIS_URL, sealer=sealer)
    room = new_room(f"r_fence_{secrets.token_hex(4)}", RoomKind.GROUP, 1.0)
    lease = {"value": "node-a|1"}
    store.fence = lambda room_id: lease["value"]
    listener = store.redis.pubsub()
    channel = FANOUT_CHANNEL.format(room_id=room.id)
    try:
        await store.create(room)
        await listener.subscribe(channel)
        await store.redis.set(LEASE_KEY.format(room_id=room.id), "node-a|1")
        await store.save(room, Announcement(channel, b"landed"))
        lease["value"] = "node-a|0"  # a stalled former owner's fence
        with pytest.raises(LeaseLost):
            await store.save(room, Announcement(channel, b"stale"))
        heard = []
        for _ in range(5):  # the subscribe confirmation reads as None, then the messages
            raw = await listener.get_message(ignore_subscribe_messages=True, timeout=0.3)
            if raw is not None:
                heard.append(raw["data"])
        assert heard == [b"landed"]
    finally:
        await store.redis.delete(LEASE_KEY.format(room_id=room.id))
        await store.delete(room.id)
        await listener.aclose()
        await store.close()
