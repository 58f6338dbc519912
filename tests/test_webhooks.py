"""Webhooks against a real aiohttp receiver on loopback."""

from __future__ import annotations

import asyncio
import json
import random
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from server.ops.webhooks import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookDispatcher,
    WebhookEvent,
    participant_joined,
    room_started,
    sign,
    verify_signature,
)

SECRET = "whsec-test-secret"
ServerFactory = Callable[[web.Application], Awaitable[TestServer]]


@dataclass
class Receiver:
    """A webhook receiver that answers with scripted statuses (then 200) and records requests."""

    statuses: list[int] = field(default_factory=list)
    hang: bool = False
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append((dict(request.headers), await request.read()))
        self.arrived.set()
        if self.hang:
            await asyncio.sleep(3600)
        status = self.statuses.pop(0) if self.statuses else 200
        headers = {"Retry-After": "7"} if status == 429 else {}
        return web.Response(status=status, headers=headers)

    def rooms(self) -> list[str]:
        return [json.loads(body)["data"]["room"] for _, body in self.requests]


@dataclass
class RecordingSleep:
    delays: list[float] = field(default_factory=list)

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


async def serve(aiohttp_server: ServerFactory, receiver: Receiver) -> str:
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    server = await aiohttp_server(app)
    return str(server.make_url("/hook"))


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
async def dispatchers() -> AsyncIterator[list[WebhookDispatcher]]:
    made: list[WebhookDispatcher] = []
    yield made
    for dispatcher in made:
        await dispatcher.aclose()


def make(
    dispatchers: list[WebhookDispatcher],
    urls: list[str],
    sleep: RecordingSleep,
    *,
    max_attempts: int = 5,
    max_queue: int = 1000,
) -> WebhookDispatcher:
    dispatcher = WebhookDispatcher(
        urls,
        SECRET,
        sleep=sleep,
        rng=random.Random(7),
        max_attempts=max_attempts,
        max_queue=max_queue,
    )
    dispatchers.append(dispatcher)
    return dispatcher


async def test_delivery_is_signed_and_carries_ids_only(
    aiohttp_server: ServerFactory, sleep: RecordingSleep, dispatchers: list[WebhookDispatcher]
) -> None:
    receiver = Receiver()
    dispatcher = make(dispatchers, [await serve(aiohttp_server, receiver)], sleep)
    dispatcher.start()
    dispatcher.emit(
        WebhookEvent.PARTICIPANT_JOINED, participant_joined("r_1", "p_9", "participant", "group")
    )
    await dispatcher.drain()

    [(headers, body)] = receiver.requests
    assert headers[EVENT_HEADER] == "participant.joined"
    assert len(headers[DELIVERY_HEADER]) == 36
    assert headers["Content-Type"] == "application/json"
    assert verify_signature(SECRET, headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    envelope = json.loads(body)
    assert envelope["event"] == "participant.joined"
    assert envelope["id"] == headers[DELIVERY_HEADER]
    assert envelope["data"] == {
        "room": "r_1",
        "participant": "p_9",
        "role": "participant",
        "kind": "group",
    }
    assert dispatcher.stats.delivered == 1


async def test_server_error_is_retried_until_success(
    aiohttp_server: ServerFactory, sleep: RecordingSleep, dispatchers: list[WebhookDispatcher]
) -> None:
    receiver = Receiver(statuses=[500, 503, 429])
    dispatcher = make(dispatchers, [await serve(aiohttp_server, receiver)], sleep)
    dispatcher.start()
    dispatcher.emit(WebhookEvent.ROOM_STARTED, room_started("r_1", "individual"))
    await dispatcher.drain()

    assert len(receiver.requests) == 4
    delivery_ids = {headers[DELIVERY_HEADER] for headers, _ in receiver.requests}
    assert len(delivery_ids) == 1, "retries keep the delivery id so receivers can dedupe"
    assert dispatcher.stats.delivered == 1 and dispatcher.stats.retried == 3
    assert sleep.delays[2] == 7.0, "429 honours Retry-After"
    assert 0.25 <= sleep.delays[0] <= 0.5 and 0.5 <= sleep.delays[1] <= 1.0


async def test_client_error_is_not_retried(
    aiohttp_server: ServerFactory, sleep: RecordingSleep, dispatchers: list[WebhookDispatcher]
) -> None:
    receiver = Receiver(statuses=[400])
    dispatcher = make(dispatchers, [await serve(aiohttp_server, receiver)], sleep)
    dispatcher.start()
    dispatcher.emit(WebhookEvent.ROOM_STARTED, room_started("r_1", "group"))
    await dispatcher.drain()

    assert len(receiver.requests) == 1
    assert dispatcher.stats.failed == 1 and sleep.delays == []


async def test_unreachable_receiver_is_retried_then_given_up(
    sleep: RecordingSleep, dispatchers: list[WebhookDispatcher]
) -> None:
    with socket.socket() as probe:  # a loopback port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dispatcher = make(dispatchers, [f"http://127.0.0.1:{port}/hook"], sleep, max_attempts=3)
    dispatcher.start()
    dispatcher.emit(WebhookEvent.ROOM_STARTED, room_started("r_1", "group"))
    await dispatcher.drain()

    assert dispatcher.stats.failed == 1 and len(sleep.delays) == 2


def test_backoff_grows_with_jitter_and_stays_bounded() -> None:
    dispatcher = WebhookDispatcher(["http://127.0.0.1:9/"], SECRET, base_delay=0.5, max_delay=30)
    for attempt in range(1, 60):
        ceiling = min(30.0, 0.5 * 2 ** (attempt - 1))
        delays = {dispatcher.backoff_delay(attempt) for _ in range(20)}
        assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
        assert len(delays) > 1, "jittered"
    assert dispatcher.backoff_delay(1, retry_after=10_000) == 30


async def test_full_queue_drops_the_oldest_without_blocking(
    aiohttp_server: ServerFactory, sleep: RecordingSleep, dispatchers: list[WebhookDispatcher]
) -> None:
    receiver = Receiver()
    dispatcher = make(dispatchers, [await serve(aiohttp_server, receiver)], sleep, max_queue=3)
    started = time.perf_counter()
    for n in range(5):  # not started yet: nothing drains the queue
        dispatcher.emit(WebhookEvent.ROOM_STARTED, room_started(f"r_{n}", "group"))
    assert time.perf_counter() - started < 0.05
    assert dispatcher.stats.dropped == 2

    dispatcher.start()
    await dispatcher.drain()
    assert receiver.rooms() == ["r_2", "r_3", "r_4"]


async def test_a_stuck_receiver_does_not_hold_up_the_others(
    aiohttp_server: ServerFactory, sleep: RecordingSleep, dispatchers: list[WebhookDispatcher]
) -> None:
    stuck, healthy = Receiver(hang=True), Receiver()
    urls = [await serve(aiohttp_server, stuck), await serve(aiohttp_server, healthy)]
    dispatcher = make(dispatchers, urls, sleep)
    dispatcher.start()
    dispatcher.emit(WebhookEvent.ROOM_STARTED, room_started("r_1", "group"))
    dispatcher.emit(WebhookEvent.ROOM_STARTED, room_started("r_2", "group"))
    async with asyncio.timeout(5):
        while len(healthy.requests) < 2:
            healthy.arrived.clear()
            await healthy.arrived.wait()
    assert healthy.rooms() == ["r_1", "r_2"]


async def test_aclose_cancels_an_in_flight_delivery(
    aiohttp_server: ServerFactory, sleep: RecordingSleep
) -> None:
    receiver = Receiver(hang=True)
    dispatcher = WebhookDispatcher([await serve(aiohttp_server, receiver)], SECRET, sleep=sleep)
    dispatcher.start()
    dispatcher.emit(WebhookEvent.ROOM_STARTED, room_started("r_1", "group"))
    async with asyncio.timeout(5):
        await receiver.arrived.wait()
        await dispatcher.aclose()
    dispatcher.emit(WebhookEvent.ROOM_STARTED, room_started("r_2", "group"))  # no-op after close
    assert len(receiver.requests) == 1


@pytest.mark.parametrize(
    "payload",
    [
        {"room": "r_1", "display_name": "Alex"},
        {"room": "r_1", "name": "Alex"},
        {"room": "r_1", "token": "x"},
        {"room": "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJwIn0.c2ln"},
    ],
)
def test_emit_refuses_names_and_secrets(payload: dict[str, str]) -> None:
    dispatcher = WebhookDispatcher(["http://127.0.0.1:9/"], SECRET)
    with pytest.raises(ValueError):
        dispatcher.emit(WebhookEvent.ROOM_STARTED, payload)


def test_emit_refuses_unknown_events() -> None:
    dispatcher = WebhookDispatcher(["http://127.0.0.1:9/"], SECRET)
    with pytest.raises(ValueError):
        dispatcher.emit("room.exploded", {"room": "r_1"})


def test_verify_signature_rejects_forgeries_and_stale_deliveries() -> None:
    body = b'{"event":"room.started"}'
    now = 1_700_000_000
    header = sign(SECRET, str(now), body)
    assert verify_signature(SECRET, str(now), body, header, now=now + 299)
    assert not verify_signature("other-secret", str(now), body, header, now=now)
    assert not verify_signature(SECRET, str(now), body + b" ", header, now=now)
    assert not verify_signature(SECRET, str(now + 1), body, header, now=now)
    assert not verify_signature(SECRET, str(now), body, header, now=now + 301)
    assert not verify_signature(SECRET, "yesterday", body, header, now=now)
    assert not verify_signature(SECRET, str(now), body, header.removeprefix("sha256="), now=now)
