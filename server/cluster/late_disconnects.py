"""Disconnects that met a Redis outage, recorded when Redis answers again.

A member whose connection drops while Redis is down would otherwise stay "connected"
in the room until they came back or left: nobody holds the seat, but nobody starts
its grace period either. The drop is kept here and sent again every beat, with the
time it really happened, so grace counts from then. It is dropped instead when the
member is back (on this process, or on another: the seat map says who holds it).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from rooms.commands import Disconnect
from rooms.errors import DomainError, ErrorCode
from server.cluster.leases import SeatNodes

log = logging.getLogger(__name__)

# Bounded: a long outage with many drops keeps the newest this many.
MAX_PENDING = 10_000

Execute = Callable[[str, Disconnect], Awaitable[object]]


class LateDisconnects:
    def __init__(self, seats: SeatNodes, holds_here: Callable[[str, str], bool]) -> None:
        self._seats = seats
        self._holds_here = holds_here
        self._pending: dict[tuple[str, str], float] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, room_id: str, member_id: str, at: float) -> None:
        if len(self._pending) >= MAX_PENDING:
            del self._pending[next(iter(self._pending))]
        self._pending[(room_id, member_id)] = at

    async def retry(self, execute: Execute) -> None:
        for (room_id, member_id), at in list(self._pending.items()):
            try:
                if not await self._still_gone(room_id, member_id):
                    del self._pending[(room_id, member_id)]
                    continue
                await execute(room_id, Disconnect(member_id, at))
            except DomainError as refusal:
                if refusal.code is ErrorCode.UNAVAILABLE:
                    return  # still away: the next beat tries again
            del self._pending[(room_id, member_id)]
            log.info("a disconnect from a Redis outage recorded", extra={"room": room_id})

    async def _still_gone(self, room_id: str, member_id: str) -> bool:
        if self._holds_here(room_id, member_id):
            return False
        holder = (await self._seats.all(room_id)).get(member_id)
        return holder in (None, self._seats.node_id)
