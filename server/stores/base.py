"""The narrow interface every room store implements (LiveKit's ObjectStore, in spirit)."""

from __future__ import annotations

from typing import Protocol

from rooms.errors import DomainError, ErrorCode
from rooms.room import Room


class RoomExists(Exception):
    pass


class StoreUnavailable(DomainError):
    """The store did not answer (down, unreachable, timed out): nothing was changed.

    A DomainError, so a command that meets it is refused with `unavailable` like any
    other refusal, and the connection and the room stay as they were last saved.
    """

    def __init__(self) -> None:
        super().__init__(ErrorCode.UNAVAILABLE)


class RoomStore(Protocol):
    backend: str

    async def create(self, room: Room) -> None:
        """Store a new room; RoomExists if the id is taken."""

    async def get(self, room_id: str) -> Room | None: ...

    async def save(self, room: Room) -> None:
        """Store the room's new state (the caller holds the room's lock)."""

    async def delete(self, room_id: str) -> None: ...

    async def list_ids(self) -> list[str]: ...

    async def ping(self) -> bool:
        """True when the store answers; never raises."""

    async def close(self) -> None: ...
