"""One process's part in a deployment of several on one Redis: built, started, drained."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

from rooms.room import Room, RoomKind
from server.cluster.bus import ClusterBus
from server.cluster.fanout import ClusterFanout, RoomConnections
from server.cluster.late_disconnects import LateDisconnects
from server.cluster.leases import RENEW_EVERY_S, Leases, Nodes, SeatNodes
from server.cluster.router import ClusteredRooms
from server.stores.redis_store import RedisRoomStore
from server.stores.sealed import Sealer
from signaling.events import ServerEvent
from signaling.fanout import SignalingObserver
from signaling.socket_server import SignalingServer

log = logging.getLogger(__name__)

# What a member's page does with ServerEvent.RELAY_RESTART: open a fresh relay leg.
RELAY_RESTART_REASON = "owner_changed"


def new_node_id() -> str:
    """Unique per process start: a restarted process is a new node (its seats are gone)."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


@dataclass
class ClusterNode:
    node_id: str
    bus: ClusterBus
    rooms: ClusteredRooms
    fanout: ClusterFanout
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    def build(
        cls,
        store: RedisRoomStore,
        sealer: Sealer,
        sio: SignalingServer,
        observer: SignalingObserver,
        clock: Callable[[], float],
    ) -> ClusterNode:
        node_id = new_node_id()
        redis = store.redis
        bus = ClusterBus(redis, node_id, sealer)
        seats = SeatNodes(redis, node_id)
        rooms = ClusteredRooms(
            store,
            leases=Leases(redis, node_id),
            nodes=Nodes(redis, node_id),
            seats=seats,
            bus=bus,
            clock=clock,
        )
        connections = RoomConnections()
        fanout = ClusterFanout(sio, connections, observer, clock, bus=bus, seats=seats)
        bus.serve(rooms.handle_request, fanout.deliver)
        rooms.announce_with_saves(fanout.announcement)
        rooms.connected_here = connections.has_room
        rooms.late_disconnects = LateDisconnects(
            seats,
            holds_here=lambda room_id, member_id: (
                fanout.connections.seat_holder(room_id, member_id) is not None
            ),
        )

        async def restart_legs(room: Room) -> None:
            # The relay lived in the old owner: every member's leg points at nothing.
            if room.kind is RoomKind.GROUP and not room.is_over:
                await fanout.send_to_room(
                    room.id, ServerEvent.RELAY_RESTART, {"reason": RELAY_RESTART_REASON}
                )

        rooms.on_takeover(restart_legs)
        return cls(node_id, bus, rooms, fanout)

    async def start(self) -> None:
        await self.bus.start()
        await self.rooms.renew()
        self._tasks.append(asyncio.create_task(self.rooms.renew_forever(), name="leases"))
        self._tasks.append(asyncio.create_task(self._resync_forever(), name="room-channels"))

    async def _resync_forever(self) -> None:
        while True:
            await asyncio.sleep(RENEW_EVERY_S)
            try:
                await self.fanout.resync()
                await self.rooms.late_disconnects.retry(self.rooms.execute)
            except Exception:  # the next beat tries again; this loop must not die
                log.exception("cluster: re-syncing room channels failed")

    async def drain(self) -> int:
        """SIGTERM: hand every owned room to another process; how many were handed."""
        return await self.rooms.hand_over()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.bus.close()
