"""Two processes' worth of ClusteredRooms in this one, on the real Redis: the cluster's
ownership and routing without servers around them."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from server.cluster.bus import ClusterBus
from server.cluster.leases import Leases, Nodes, SeatNodes
from server.cluster.router import ClusteredRooms
from server.stores.redis_store import RedisRoomStore
from server.stores.sealed import Sealer

REDIS_URL = os.environ.get("TELEHEALTH_TEST_REDIS_URL") or "redis://127.0.0.1:6379/15"


async def _no_room_messages(room_id: str, message: dict[str, Any]) -> None:
    return None


@asynccontextmanager
async def two_processes(data_dir: Path) -> AsyncIterator[list[ClusteredRooms]]:
    sealer = Sealer.in_data_dir(data_dir)
    nodes: list[tuple[RedisRoomStore, ClusterBus, ClusteredRooms]] = []
    for index in range(2):
        store = RedisRoomStore(REDIS_URL, sealer=sealer)
        node_id = f"race{index}-{os.getpid()}-{secrets.token_hex(3)}"
        bus = ClusterBus(store.redis, node_id, sealer)
        rooms = ClusteredRooms(
            store,
            leases=Leases(store.redis, node_id),
            nodes=Nodes(store.redis, node_id),
            seats=SeatNodes(store.redis, node_id),
            bus=bus,
        )
        bus.serve(rooms.handle_request, _no_room_messages)
        await bus.start()
        await rooms.renew()
        nodes.append((store, bus, rooms))
    try:
        yield [rooms for _, _, rooms in nodes]
    finally:
        for store, bus, _ in nodes:
            await bus.close()
            await store.close()
