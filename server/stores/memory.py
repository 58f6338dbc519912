"""The embedded default: rooms in this process's memory."""

from __future__ import annotations

from rooms.room import Room
from server.stores.base import RoomExists


class MemoryRoomStore:
    backend = "memory"

    def __init__(self) -> None:
        self._rooms: dict[str, Room] = {}

    async def create(self, room: Room) -> None:
        if room.id in self._rooms:
            raise RoomExists(room.id)
        self._rooms[room.id] = room

    async def get(self, room_id: str) -> Room | None:
        return self._rooms.get(room_id)

    async def save(self, room: Room) -> None:
        self._rooms[room.id] = room

    async def delete(self, room_id: str) -> None:
        self._rooms.pop(room_id, None)

    async def list_ids(self) -> list[str]:
        """Rooms still in play; an ended or expired room stays readable with `get`."""
        return sorted(room_id for room_id, room in self._rooms.items() if not room.is_over)

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        self._rooms.clear()
