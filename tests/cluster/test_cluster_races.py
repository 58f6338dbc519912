"""Two processes' worth of ClusteredRooms on the real Redis, racing commands on one room:
no update is lost, whatever the interleaving, even when the lease moves mid-run (a
stalled owner's fenced writes are refused and its commands follow the room)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rooms.commands import Join, SetMedia
from rooms.roles import Role
from rooms.room import RoomKind, RoomPolicy
from server.cluster.leases import LEASE_KEY
from server.stores.redis_store import LeaseLost
from tests.cluster.in_process import two_processes

pytestmark = [pytest.mark.cluster, pytest.mark.redis]

# Each member: which process its connection is on, then its mic toggles in order.
member_plans = st.lists(
    st.tuples(st.integers(0, 1), st.lists(st.booleans(), min_size=1, max_size=4)),
    min_size=2,
    max_size=6,
)


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(plans=member_plans, steal_after=st.integers(0, 12))
def test_racing_commands_lose_no_update(tmp_path: Path, plans: list[Any], steal_after: int) -> None:
    asyncio.run(_race(tmp_path, plans, steal_after))


async def _race(data_dir: Path, plans: list[tuple[int, list[bool]]], steal_after: int) -> None:
    async with two_processes(data_dir) as processes:
        room = await processes[0].create(RoomKind.GROUP, RoomPolicy())
        done = 0
        redis = processes[0].store.redis  # type: ignore[attr-defined]

        async def member(index: int, via: int, toggles: list[bool]) -> None:
            nonlocal done
            rooms = processes[via]
            member_id = f"m{index}"
            await rooms.execute(room.id, Join(member_id, Role.PARTICIPANT, f"M{index}", 1.0))
            for step, audio in enumerate(toggles):
                await rooms.execute(room.id, SetMedia(member_id, audio, True, 2.0 + step))
                done += 1
                if done == steal_after:
                    # The lease lapses under the owner (a stall past its TTL): whoever
                    # comes next takes the room; the old owner's writes must not land.
                    await redis.delete(LEASE_KEY.format(room_id=room.id))

        await asyncio.gather(*(member(i, via, toggles) for i, (via, toggles) in enumerate(plans)))
        stored = await processes[1].get(room.id)
        assert stored is not None
        for index, (_, toggles) in enumerate(plans):
            seat = stored.member(f"m{index}")
            assert seat is not None, f"m{index}'s join was lost"
            assert seat.media.audio is toggles[-1], f"m{index}'s last mic change was lost"


async def test_a_former_owner_cannot_overwrite(tmp_path: Path) -> None:
    async with two_processes(tmp_path) as (first, second):
        room = await first.create(RoomKind.GROUP, RoomPolicy())
        await first.execute(room.id, Join("a", Role.PARTICIPANT, "A", 1.0))
        assert first.owns(room.id)
        stale_lease = first.fence(room.id)
        # The owner stalls past its lease; the other process takes the room over.
        await first.store.redis.delete(LEASE_KEY.format(room_id=room.id))  # type: ignore[attr-defined]
        await second.execute(room.id, Join("b", Role.PARTICIPANT, "B", 2.0))
        assert second.owns(room.id)
        assert second.fence(room.id) != stale_lease
        # The stalled owner wakes and writes straight to the store: refused.
        current = await first.get(room.id)
        assert current is not None
        with pytest.raises(LeaseLost):
            await first.store.save(current)
        # Through the service, the same command follows the room to its new owner.
        await first.execute(room.id, Join("c", Role.PARTICIPANT, "C", 3.0))
        stored = await second.get(room.id)
        assert stored is not None
        assert {m.id for m in stored.members} == {"a", "b", "c"}
        assert not first.owns(room.id)
