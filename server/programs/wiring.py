"""Programs in the app: one call from create_app builds the store, service, recorder and routes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from server.audit.log import AuditLog
from server.auth.tokens import TokenIssuer
from server.programs.api import ProgramApi
from server.programs.clock import ProgramClock
from server.programs.service import ProgramService
from server.programs.store import ProgramStore
from server.room_service import RoomService
from server.settings import Settings

log = logging.getLogger(__name__)

PROGRAMS = web.AppKey("programs", ProgramService)
# Occurrence rooms are ended this often once their window has closed.
CLOSE_ROOMS_EVERY_S = 5.0


def install_programs(
    app: web.Application,
    settings: Settings,
    rooms: RoomService,
    issuer: TokenIssuer,
    audit: AuditLog,
    admin_key: str,
) -> ProgramService:
    service = ProgramService(
        settings, ProgramStore.in_data_dir(settings.data_dir), rooms, issuer, audit, ProgramClock()
    )
    rooms.subscribe(service.recorder)
    app[PROGRAMS] = service
    app.add_routes(ProgramApi(service, rooms, issuer, admin_key).routes())
    app.cleanup_ctx.append(_close_rooms_beat)
    return service


async def _close_rooms_beat(app: web.Application) -> AsyncIterator[None]:
    service = app[PROGRAMS]

    async def beat() -> None:
        failing = False
        while True:
            await asyncio.sleep(CLOSE_ROOMS_EVERY_S)
            try:
                await service.rooms.end_closed()
                failing = False
            except Exception:
                # Logged once per outage, like the housekeeping jobs: the beat goes on.
                if not failing:
                    log.exception("closing program rooms failed")
                failing = True

    task = asyncio.create_task(beat(), name="program-rooms")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await service.store.close()
