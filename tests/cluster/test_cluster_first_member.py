"""A room follows its first member: an owner asked to seat someone in a room where
nobody is seated hands the room to the asking process (server/cluster/router.py), so a
room whose members the balancer sends to one process runs in that process."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from rooms.commands import Join, Leave
from rooms.roles import Role
from rooms.room import RoomKind, RoomPolicy
from server.cluster.leases import LEASE_KEY
from tests.cluster.in_process import two_processes

pytestmark = [pytest.mark.cluster, pytest.mark.redis]


async def test_an_empty_room_moves_to_its_first_members_process(tmp_path: Path) -> None:
    async with two_processes(tmp_path) as (first, second):
        room = await first.create(RoomKind.GROUP, RoomPolicy())
        await first.tick([room.id])  # housekeeping claims it before anyone comes
        assert first.owns(room.id)

        await second.execute(room.id, Join("t", Role.THERAPIST, "T", 1.0))
        assert second.owns(room.id)
        assert not first.owns(room.id)
        # Now someone is seated: a join through the first process runs on the second.
        await first.execute(room.id, Join("a", Role.PARTICIPANT, "A", 2.0))
        assert second.owns(room.id)
        stored = await first.get(room.id)
        assert stored is not None
        assert {m.id for m in stored.seated()} == {"t", "a"}


async def test_a_room_with_a_member_seated_stays_with_its_owner(tmp_path: Path) -> None:
    async with two_processes(tmp_path) as (first, second):
        room = await first.create(RoomKind.GROUP, RoomPolicy())
        await first.execute(room.id, Join("t", Role.THERAPIST, "T", 1.0))
        await second.execute(room.id, Join("a", Role.PARTICIPANT, "A", 2.0))
        assert first.owns(room.id)
        assert not second.owns(room.id)


async def test_a_room_everyone_left_moves_with_the_next_first_member(tmp_path: Path) -> None:
    async with two_processes(tmp_path) as (first, second):
        room = await first.create(RoomKind.INDIVIDUAL, RoomPolicy())
        await first.execute(room.id, Join("t", Role.THERAPIST, "T", 1.0))
        await first.execute(room.id, Leave("t", 2.0))
        await second.execute(room.id, Join("t", Role.THERAPIST, "T", 3.0))
        assert second.owns(room.id)
        stored = await second.get(room.id)
        assert stored is not None
        assert [m.id for m in stored.seated()] == ["t"]


async def test_a_draining_process_does_not_take_the_room(tmp_path: Path) -> None:
    async with two_processes(tmp_path) as (first, second):
        room = await first.create(RoomKind.GROUP, RoomPolicy())
        await first.tick([room.id])
        await second.hand_over()  # SIGTERM: it owns nothing, and takes nothing now
        await second.execute(room.id, Join("t", Role.THERAPIST, "T", 1.0))
        assert first.owns(room.id)
        stored = await first.get(room.id)
        assert stored is not None
        assert [m.id for m in stored.seated()] == ["t"]


async def test_housekeeping_does_not_claim_back_a_room_it_handed_over(tmp_path: Path) -> None:
    async with two_processes(tmp_path) as (first, second):
        room = await first.create(RoomKind.GROUP, RoomPolicy())
        await first.tick([room.id])
        await second.execute(room.id, Join("t", Role.THERAPIST, "T", 1.0))
        # As if the second process had not taken the room yet when the first one's beat
        # came: the first leaves it for the process it handed it to.
        await first.store.redis.delete(LEASE_KEY.format(room_id=room.id))  # type: ignore[attr-defined]
        await first.tick([room.id])
        assert not first.owns(room.id)


async def test_a_renewal_on_its_way_does_not_take_back_a_released_room(tmp_path: Path) -> None:
    """The renew beat snapshots the owned leases, then writes: a room released in
    between (handed over, ended, SIGTERM), and not yet taken by anyone, must stay
    released, or nobody can take it until the resurrected lease lapses."""
    async with two_processes(tmp_path) as (first, second):
        room = await first.create(RoomKind.GROUP, RoomPolicy())
        await first.tick([room.id])
        leases = first._leases
        lease = await leases.holder(room.id)  # what the renew beat holds on to
        assert lease is not None
        await first._release(room.id)
        assert await leases.renew([lease]) == [False]
        assert await leases.holder(room.id) is None
        await second.execute(room.id, Join("t", Role.THERAPIST, "T", 1.0))
        assert second.owns(room.id)


async def test_an_owner_with_a_connection_of_the_room_keeps_it(tmp_path: Path) -> None:
    """Two first members at once on two processes: the owner, whose own member is about
    to sit down, keeps the room (else the two would pass it back and forth)."""
    async with two_processes(tmp_path) as (first, second):
        room = await first.create(RoomKind.GROUP, RoomPolicy())
        await first.tick([room.id])
        first.connected_here = lambda room_id: True  # its member connected, not yet seated
        await second.execute(room.id, Join("a", Role.PARTICIPANT, "A", 1.0))
        assert first.owns(room.id)


async def test_members_back_during_a_takeover_are_seated_after_it_settles(
    tmp_path: Path,
) -> None:
    """The owner died; its members come back to another process at once. The takeover
    puts the dead process's seats into grace before anyone sits down again, so all of
    them end up connected (none left marked away, to time out of the room)."""
    async with two_processes(tmp_path) as (first, second):
        room = await first.create(RoomKind.GROUP, RoomPolicy())
        for member_id in ("t", "a", "b"):
            role = Role.THERAPIST if member_id == "t" else Role.PARTICIPANT
            await first.execute(room.id, Join(member_id, role, member_id.upper(), 1.0))
        # The owner is gone: its lease lapsed (the seats it held are nobody's now).
        await first.store.redis.delete(LEASE_KEY.format(room_id=room.id))  # type: ignore[attr-defined]
        await asyncio.gather(
            *(
                second.execute(room.id, Join(m, Role.PARTICIPANT, m.upper(), 2.0, resume=True))
                for m in ("a", "b")
            )
        )
        stored = await second.get(room.id)
        assert stored is not None
        presence = {m.id: m.presence.value for m in stored.members}
        assert presence == {"t": "disconnected", "a": "connected", "b": "connected"}, presence


async def test_a_command_for_a_dead_owner_runs_here_once_its_lease_lapses(
    tmp_path: Path,
) -> None:
    """kill -9 of the owner: nobody hears its channel any more. A member who comes back
    to another process is seated as soon as the dead owner's lease lapses, instead of
    being refused after a request timeout and retrying on the page's growing delay."""
    async with two_processes(tmp_path) as (first, second):
        room = await first.create(RoomKind.GROUP, RoomPolicy())
        await first.execute(room.id, Join("t", Role.THERAPIST, "T", 1.0))
        await first._bus.close()  # the owner is gone; its lease runs out (no renewals)
        await second.execute(room.id, Join("t", Role.THERAPIST, "T", 2.0, resume=True))
        assert second.owns(room.id)


async def test_a_request_told_the_room_moved_reads_the_lease_afresh(tmp_path: Path) -> None:
    """Another request here may cache the old owner again just after this one was told
    the room moved (its read of the lease began before the move): the retry reads the
    lease itself. Simulated by a cache that forgets nothing."""
    async with two_processes(tmp_path) as (first, second):
        room = await first.create(RoomKind.GROUP, RoomPolicy())
        await first.tick([room.id])
        assert await second.owner(room.id) == first.node_id  # cached for 0.5 s
        second._forget_owner = lambda room_id: None  # type: ignore[method-assign]
        await second.execute(room.id, Join("t", Role.THERAPIST, "T", 1.0))  # handed over
        assert second.owns(room.id)
