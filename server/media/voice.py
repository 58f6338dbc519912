"""The relay's voice activity, fed into the room's floor as server-measured talk time."""

from __future__ import annotations

import asyncio
import logging

from rooms.commands import Voice
from rooms.errors import DomainError
from server.room_service import RoomService
from signaling.fanout import Fanout

log = logging.getLogger(__name__)


class VoiceToFloor:
    def __init__(self, rooms: RoomService, fanout: Fanout) -> None:
        self._rooms = rooms
        self._fanout = fanout
        self._tasks: set[asyncio.Task[None]] = set()

    def report(self, room_id: str, member_id: str, speaking: bool) -> None:
        """Called from the relay's packet path: never blocks it, never raises into it."""
        self._fanout.announce_speaking(room_id, member_id, speaking)
        task = asyncio.get_running_loop().create_task(self._record(room_id, member_id, speaking))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _record(self, room_id: str, member_id: str, speaking: bool) -> None:
        try:
            await self._rooms.perform(room_id, Voice(member_id, speaking, self._rooms.clock()))
        except DomainError:
            # The room ended or the member left while the packet was in flight.
            pass
        except Exception:
            log.exception("recording voice activity failed", extra={"room": room_id})
