"""create_app(): the whole server as one aiohttp application."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from server.admin_api import AdminApi
from server.group_media import RelayRegistry
from server.ice import ice_servers_for
from server.identity import TokenAuthenticator
from server.keys import KeyRing, load_or_create
from server.pages import SECURITY_HEADERS, page_routes
from server.room_service import RoomService
from server.settings import Settings
from server.stores.base import RoomStore
from server.stores.factory import make_store
from server.tokens import TokenIssuer, TokenVerifier
from server.voice import VoiceToFloor
from signaling.events import ServerEvent
from signaling.gateway import Limits, Signaling
from signaling.group_routes import register_group_routes
from signaling.group_views import talk_report_view
from signaling.origin import OriginPolicy
from signaling.socket_server import SignalingServer

log = logging.getLogger(__name__)

HOUSEKEEPING_INTERVAL_S = 1.0
# The therapist's live talk-time view refreshes this often (in housekeeping beats).
TALK_REPORT_EVERY_BEATS = 3
# Engine.IO closes a connection past this; our own 64 KiB limit answers with an error first.
TRANSPORT_MAX_BYTES = 256 * 1024


@dataclass
class Components:
    settings: Settings
    keys: KeyRing
    store: RoomStore
    rooms: RoomService
    issuer: TokenIssuer
    signaling: Signaling
    relays: RelayRegistry


COMPONENTS = web.AppKey("components", Components)


class SettingsIce:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def ice_servers(self, member_id: str) -> list[dict[str, Any]]:
        return ice_servers_for(self._settings, member_id, time.time())


def create_app(settings: Settings, *, store: RoomStore | None = None) -> web.Application:
    keys = load_or_create(settings.data_dir)
    store = store or make_store(settings.redis_url)
    rooms = RoomService(store)
    issuer = TokenIssuer(keys.signing_key)
    verifier = TokenVerifier(keys.verify_key)
    sio = SignalingServer(
        async_mode="aiohttp",
        # Origins are checked in our connect handler, which can say why.
        cors_allowed_origins=[],
        max_http_buffer_size=TRANSPORT_MAX_BYTES,
        logger=False,
        engineio_logger=False,
    )
    relays = RelayRegistry(
        rooms,
        lambda room_id, member_id, event, payload: signaling.send_to_member(
            room_id, member_id, event, payload
        ),
        on_voice=lambda room_id, member_id, speaking, at: voice.report(
            room_id, member_id, speaking
        ),
    )
    signaling = Signaling(
        sio,
        auth=TokenAuthenticator(issuer, verifier, settings.resume_ttl_s),
        rooms=rooms,
        ice=SettingsIce(settings),
        origin_policy=OriginPolicy(settings.allowed_origins, trust_proxy=settings.trust_proxy),
        limits=Limits(settings.rate_per_s, settings.rate_burst, settings.max_message_bytes),
        group_media=relays,
    )
    register_group_routes(signaling)
    voice = VoiceToFloor(rooms, signaling)
    rooms.subscribe(signaling.publish)
    rooms.subscribe(relays.on_room_events)

    app = web.Application(client_max_size=64 * 1024, middlewares=[security_headers])
    app[COMPONENTS] = Components(settings, keys, store, rooms, issuer, signaling, relays)
    sio.attach(app)
    app.add_routes(page_routes(store))
    app.add_routes(AdminApi(settings, rooms, issuer, keys.admin_key).routes())
    app.cleanup_ctx.append(housekeeping)
    return app


@web.middleware
async def security_headers(request: web.Request, handler: Any) -> web.StreamResponse:
    response: web.StreamResponse = await handler(request)
    if not request.path.startswith("/socket.io"):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
    return response


async def housekeeping(app: web.Application) -> AsyncIterator[None]:
    """Grace periods and room expiry advance even when nobody sends anything."""
    components = app[COMPONENTS]

    async def loop() -> None:
        beats = 0
        while True:
            await asyncio.sleep(HOUSEKEEPING_INTERVAL_S)
            beats += 1
            try:
                await components.rooms.tick(await components.store.list_ids())
                if beats % TALK_REPORT_EVERY_BEATS == 0:
                    await send_talk_reports(components)
            except Exception:
                log.exception("housekeeping failed")

    task = asyncio.create_task(loop(), name="housekeeping")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await components.relays.close()
    await components.store.close()


async def send_talk_reports(components: Components) -> None:
    """Live talk time for the therapists of every group room with media on this node."""
    now = time.time()
    for room_id in components.relays.relays():
        room = await components.rooms.get(room_id)
        if room is None or room.floor is None or room.is_over:
            continue
        await components.signaling.send_to_moderators(
            room_id, ServerEvent.TALK_REPORT, {"report": talk_report_view(room, now)}
        )
