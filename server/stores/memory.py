"""Rooms in this process's memory, gone when it stops: for tests (`embedded_store="memory"`)."""

from __future__ import annotations

import time
from collections.abc import Callable

from rooms.room import Room
from server.stores.base import RoomExists

# As in Redis: an ended room is kept a day so late links hear "ended", then forgotten
# (display names must not outlive the session by more than that).
ENDED_RETENTION_S = 24 * 3600.0


class MemoryRoomStore:
    backend = "memory"

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, retention_s: float = ENDED_RETENTION_S
    ) -> None:
        self._rooms: dict[str, Room] = {}
        self._ended_at: dict[str, float] = {}
        self._clock = clock
        self._retention_s = retention_s

    def _forget_old_ended(self) -> None:
        if not self._ended_at:  # the usual case, on every get
            return
        now = self._clock()
        for room_id in [r for r, at in self._ended_at.items() if now - at >= self._retention_s]:
            self._rooms.pop(room_id, None)
            del self._ended_at[room_id]

    async def create(self, room: Room) -> None:
        self._forget_old_ended()
        if room.id in self._rooms:
            raise RoomExists(room.id)
        self._rooms[room.id] = room

    async def get(self, room_id: str) -> Room | None:
        self._forget_old_ended()
        return self._rooms.get(room_id)

    async def save(self, room: Room) -> None:
        self._rooms[room.id] = room
        if room.is_over:
            self._ended_at.setdefault(room.id, self._clock())

    async def delete(self, room_id: str) -> None:
        self._rooms.pop(room_id, None)
        self._ended_at.pop(room_id, None)

    async def list_ids(self) -> list[str]:
        """Rooms still in play; an ended or expired room stays readable with `get`."""
        self._forget_old_ended()
        return sorted(room_id for room_id, room in self._rooms.items() if not room.is_over)

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        self._rooms.clear()
        self._ended_at.clear()
