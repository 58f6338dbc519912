"""RoomService saves what changed: a tick that moved only the floor's clock is not
written (it would be one durable write per group room per second); a tick with events is."""

from __future__ import annotations

from rooms.commands import Disconnect, Join, Tick
from rooms.roles import Role
from rooms.room import Room, RoomKind, RoomPolicy
from server.room_service import RoomService
from server.stores.memory import MemoryRoomStore


class CountingStore(MemoryRoomStore):
    def __init__(self) -> None:
        super().__init__()
        self.saves = 0

    async def save(self, room: Room) -> None:
        self.saves += 1
        await super().save(room)


async def test_a_quiet_tick_is_not_saved_and_one_with_events_is() -> None:
    store = CountingStore()
    rooms = RoomService(store, clock=lambda: 1_000.0)
    room = await rooms.create(RoomKind.GROUP, RoomPolicy(grace_s=5.0))
    await rooms.execute(room.id, Join("m_t", Role.THERAPIST, "Dr T", 1_000.0))
    saved = store.saves

    for second in range(1, 4):  # the floor's clock moves; nothing happens
        _, events = await rooms.execute(room.id, Tick(1_000.0 + second))
        assert events == ()
    assert store.saves == saved

    # A dropped member's grace runs out in a tick with events: that one is saved.
    await rooms.execute(room.id, Disconnect("m_t", 1_004.0))
    saved = store.saves
    _, events = await rooms.execute(room.id, Tick(1_010.0))
    assert events
    assert store.saves == saved + 1
