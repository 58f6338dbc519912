"""Runs room commands one at a time per room, saves, then tells the listeners."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from weakref import WeakValueDictionary

from rooms.commands import AnyCommand, Tick
from rooms.engine import apply
from rooms.errors import DomainError, ErrorCode
from rooms.events import DomainEvent
from rooms.room import Room, RoomKind, RoomPolicy, new_room
from server.stores.base import RoomExists, RoomStore

log = logging.getLogger(__name__)

RoomListener = Callable[[Room, Sequence[DomainEvent]], Awaitable[None]]


def new_room_id() -> str:
    return "r_" + secrets.token_urlsafe(9)


class RoomService:
    def __init__(self, store: RoomStore, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock
        self._locks: WeakValueDictionary[str, asyncio.Lock] = WeakValueDictionary()
        self._listeners: list[RoomListener] = []
        self._created: list[Callable[[Room], None]] = []

    def subscribe(self, listener: RoomListener) -> None:
        self._listeners.append(listener)

    def on_created(self, listener: Callable[[Room], None]) -> None:
        self._created.append(listener)

    def _lock(self, room_id: str) -> asyncio.Lock:
        lock = self._locks.get(room_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[room_id] = lock
        return lock

    async def create(self, kind: RoomKind, policy: RoomPolicy) -> Room:
        for _ in range(5):
            room = new_room(new_room_id(), kind, self.clock(), policy)
            try:
                await self.store.create(room)
            except RoomExists:
                continue
            for listener in self._created:
                listener(room)
            return room
        raise RuntimeError("could not find a free room id")  # pragma: no cover

    async def get(self, room_id: str) -> Room | None:
        return await self.store.get(room_id)

    async def live_rooms(self) -> list[Room]:
        """Every room still in play (for gauges and the ops dashboard), newest first."""
        rooms = [
            room
            for room_id in await self.store.list_ids()
            if (room := await self.store.get(room_id)) is not None
        ]
        return sorted(rooms, key=lambda r: r.created_at, reverse=True)

    async def execute(
        self, room_id: str, command: AnyCommand
    ) -> tuple[Room, tuple[DomainEvent, ...]]:
        """Apply the command under the room's lock; listeners run after the save."""
        async with self._lock(room_id):
            return await self._execute_locked(room_id, command)

    async def _execute_locked(
        self, room_id: str, command: AnyCommand
    ) -> tuple[Room, tuple[DomainEvent, ...]]:
        """`execute`, for a caller that holds the room's lock already."""
        room = await self._load(room_id)
        if room is None:
            raise DomainError(ErrorCode.ROOM_NOT_FOUND, "This session does not exist.")
        updated, events = apply(room, command)
        if updated is not room and not _quiet_tick(command, events):
            await self._save(updated, events)
        self._applied(updated)
        await self._notify(updated, events)
        return updated, events

    async def perform(self, room_id: str, command: AnyCommand) -> None:
        """`execute`, for a caller that needs only to know it is done and saved (with
        several processes, no room needs to travel back to it)."""
        await self.execute(room_id, command)

    async def _save(self, room: Room, events: Sequence[DomainEvent]) -> None:
        """A command's room, durably (a subclass may send its events along)."""
        await self.store.save(room)

    async def _load(self, room_id: str) -> Room | None:
        """The room a command starts from (called under the room's lock)."""
        return await self.store.get(room_id)

    def _applied(self, room: Room) -> None:
        """The room after a command, saved (a subclass may keep it)."""

    async def _notify(self, room: Room, events: Sequence[DomainEvent]) -> None:
        if not events:
            return
        for listener in self._listeners:
            try:
                await listener(room, events)
            except Exception:
                # One broken listener (metrics, webhooks) must not break the room.
                log.exception("room listener failed", extra={"room": room.id})

    async def tick(self, room_ids: Sequence[str]) -> None:
        now = self.clock()
        for room_id in room_ids:
            try:
                await self.execute(room_id, Tick(now))
            except DomainError:
                continue


def _quiet_tick(command: AnyCommand, events: Sequence[DomainEvent]) -> bool:
    """A tick that changed nothing but the floor's clock: not worth a durable write.

    Every second each group room's floor clock moves; saving that would be one fsync
    per group room per second. The next tick recomputes from the time it is given, so
    the stored clock may lag: anything that happens (a turn times out, the queue order
    changes) comes with events, and those ticks are saved.
    """
    return isinstance(command, Tick) and not events
