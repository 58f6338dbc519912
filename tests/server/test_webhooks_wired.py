"""Webhooks as a deployment sees them: the real app posts signed events to a real receiver."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from server.ops.webhooks import verify_signature

if TYPE_CHECKING:
    from tests.conftest import Connector, StartServer

SECRET = "hook-secret-for-tests"


async def test_room_and_participant_events_arrive_signed(
    start_server: StartServer, connect: Connector
) -> None:
    received: list[tuple[dict[str, str], bytes]] = []
    arrived = asyncio.Event()

    async def receive(request: web.Request) -> web.Response:
        received.append((dict(request.headers), await request.read()))
        arrived.set()
        return web.Response(status=204)

    receiver = web.Application()
    receiver.router.add_post("/hook", receive)
    runner = web.AppRunner(receiver)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = next(a[1] for a in runner.addresses if isinstance(a, tuple))
    try:
        server = await start_server(
            webhook_urls=(f"http://127.0.0.1:{port}/hook",), webhook_secret=SECRET
        )
        room_id, t_token, _ = await server.individual_tokens()
        therapist = await connect(server, t_token)
        ack = await therapist.join()

        async def events() -> list[dict[str, Any]]:
            while len(received) < 2:
                arrived.clear()
                await asyncio.wait_for(arrived.wait(), 10)
            return [json.loads(body) for _, body in received]

        await asyncio.wait_for(events(), 15)
        names = [headers["X-Telehealth-Event"] for headers, _ in received]
        assert names[:2] == ["room.started", "participant.joined"]
        for headers, body in received:
            assert verify_signature(
                SECRET, headers["X-Telehealth-Timestamp"], body, headers["X-Telehealth-Signature"]
            )
            assert not verify_signature(
                "wrong", headers["X-Telehealth-Timestamp"], body, headers["X-Telehealth-Signature"]
            )
            assert b"Therapist" not in body, "no display names in webhooks"
        joined = json.loads(received[1][1])["data"]
        assert joined["room"] == room_id and joined["participant"] == ack["self"]["id"]
    finally:
        await runner.cleanup()
