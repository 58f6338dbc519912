"""After a crash, seats the store still shows connected are held in grace from now.

A `kill -9` leaves every member the store had as connected; nobody holds those
connections any more. On startup, before the first connection is accepted, each is
disconnected as of now: pages that come back resume with their resume token within
the grace period, and the absent time out as after any dropped transport.
"""

from __future__ import annotations

import logging

from rooms.commands import Disconnect
from rooms.errors import DomainError
from server.room_service import RoomService

log = logging.getLogger(__name__)

# Stores only this process writes. With Redis other processes may hold these very
# connections: who owns a room there is the lease's business (issue 12), not ours.
PROCESS_LOCAL_BACKENDS = frozenset({"sqlite", "memory"})


async def hold_seats_after_restart(rooms: RoomService) -> None:
    if rooms.store.backend not in PROCESS_LOCAL_BACKENDS:
        return
    now = rooms.clock()
    held = 0
    live = await rooms.live_rooms()
    for room in live:
        for member in room.connected():
            try:
                _, events = await rooms.execute(room.id, Disconnect(member.id, now))
            except DomainError:
                continue
            held += bool(events)
    if held:
        log.info("restart: %d seats in %d rooms held for the grace period", held, len(live))
