"""Members' chat off and screen-share permissions are room state: a restart on the same
data directory keeps them, and a share whose sharer's page went with the old process
ends (its media went with it)."""

from __future__ import annotations

from pathlib import Path

from rooms.commands import Admit, AllowScreenShare, Join, SetMembersChat, StartScreenShare
from rooms.roles import Role
from rooms.room import RoomKind, RoomPolicy
from server.room_service import RoomService
from server.seat_recovery import hold_seats_after_restart
from server.stores.sqlite_store import SqliteRoomStore


async def test_chat_off_and_share_permissions_survive_a_restart(tmp_path: Path) -> None:
    now = 1_000.0
    store = SqliteRoomStore.in_data_dir(tmp_path)
    rooms = RoomService(store, clock=lambda: now)
    room = await rooms.create(RoomKind.GROUP, RoomPolicy())
    for command in (
        Join("m_t", Role.THERAPIST, "Dr T", now),
        Join("m_a", Role.PARTICIPANT, "Alex", now),
        Admit("m_t", "m_a", now),
        SetMembersChat("m_t", False, now),
        AllowScreenShare("m_t", "m_a", True, now),
        StartScreenShare("m_a", now),
    ):
        await rooms.execute(room.id, command)
    await store.close()  # the process dies; the file stays

    store = SqliteRoomStore.in_data_dir(tmp_path)
    rooms = RoomService(store, clock=lambda: now + 5)
    try:
        await hold_seats_after_restart(rooms)
        after = await rooms.get(room.id)
        assert after is not None
        assert after.members_chat is False
        assert after.share_allowed == frozenset({"m_a"})
        assert after.screen_sharer is None
    finally:
        await store.close()
