"""kill -9 of a group room's owner, of a process holding members' connections, and
SIGTERM of the owner: members (aiortc) receive everyone's audio and video again, and
the room's state is intact. All behind HAProxy on a Redis of the test's own."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.browser.browser_support import token_of
from tests.cluster.cluster_members import RelayMember, all_receive, fresh_counts
from tests.cluster.cluster_support import (
    Cluster,
    leave_placeholder,
    owner_held_by_a_placeholder,
    running_cluster,
)
from tests.conftest import Connector

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(150)]

# The target is 10 s from the kill; the test allows for a loaded CI machine.
# benchmarks/cluster.py measures the real figure.
RECOVER_S = 20.0
FIRST_MEDIA_S = 20.0


async def _group_away_from_its_owner(
    cluster: Cluster, connect: Connector
) -> tuple[str, list[RelayMember], int]:
    """A group room whose therapist and members are connected to the processes that do
    not own it, all admitted from the waiting room, each with a relay leg."""
    names = ["Alex", "Sam"]
    room = cluster.create_room("group", *names, "Pat")
    room_id = str(room["room"])
    owner, pat = await owner_held_by_a_placeholder(
        cluster, connect, room_id, token_of(room["links"][3]["url"])
    )
    others = [i for i in range(len(cluster.servers)) if i != owner]
    placement = {"Therapist": others[0], "Alex": others[-1], "Sam": others[0]}
    links = dict(zip(["Therapist", *names], room["links"], strict=False))
    members: list[RelayMember] = []
    for name, index in placement.items():
        client = await connect(cluster.url(index), token_of(links[name]["url"]))
        members.append(RelayMember(name, client, await client.join()))
    await leave_placeholder(pat)
    therapist = members[0]
    for member in members[1:]:
        reply = await therapist.client.call("lobby.admit", {"member": member.id})
        assert reply == {"ok": True}, reply
        await member.client.wait_for("lobby.admitted")
    for member in members:
        member.follow_restarts()
        await member.open_leg()
    await all_receive(members, FIRST_MEDIA_S)
    return room_id, members, owner


def _connected_to(cluster: Cluster, index: int, members: list[RelayMember]) -> list[RelayMember]:
    return [m for m in members if m.client.sio.connection_url.startswith(cluster.url(index))]


async def test_kill_9_of_the_owner(tmp_path: Path, connect: Connector) -> None:
    async with running_cluster(tmp_path, 3) as cluster:
        room_id, members, owner = await _group_away_from_its_owner(cluster, connect)
        try:
            assert await cluster.owner_index(room_id) == owner
            before = await cluster.room(room_id)
            killed_at = time.monotonic()
            cluster.kill(owner)
            fresh_counts(members)
            await all_receive(members, RECOVER_S)
            recovered_s = time.monotonic() - killed_at
            new_owner = await cluster.owner_index(room_id)
            assert new_owner != owner
            after = await cluster.room(room_id)
            # Identity and admission as before; nobody left.
            assert {(m.id, m.admission, m.presence) for m in after.members} == {
                (m.id, m.admission, m.presence) for m in before.members
            }, cluster.logs()
            print(f"owner kill -9: every member decoding again {recovered_s:.1f}s after")
        finally:
            for member in members:
                await member.close()


async def test_kill_9_of_a_process_holding_connections(tmp_path: Path, connect: Connector) -> None:
    async with running_cluster(tmp_path, 3) as cluster:
        room_id, members, owner = await _group_away_from_its_owner(cluster, connect)
        victim = next(i for i in range(3) if i != owner and _connected_to(cluster, i, members))
        on_victim = _connected_to(cluster, victim, members)
        try:
            cluster.kill(victim)
            fresh_counts(members)
            for member in on_victim:
                await member.come_back(connect, cluster.balancer_url)
            await all_receive(members, RECOVER_S)
            assert await cluster.owner_index(room_id) == owner  # the owner never moved
        finally:
            for member in members:
                await member.close()


async def test_sigterm_of_the_owner_hands_the_room_over(tmp_path: Path, connect: Connector) -> None:
    async with running_cluster(tmp_path, 2) as cluster:
        room_id, members, owner = await _group_away_from_its_owner(cluster, connect)
        try:
            fresh_counts(members)
            exit_s = cluster.terminate(owner)
            assert exit_s < 5.0, f"SIGTERM took {exit_s:.1f}s"
            # Handed over, not expired: the other process owns it at once.
            assert await cluster.owner_index(room_id, within_s=1.0) != owner
            await all_receive(members, RECOVER_S)
            assert all(m.legs == 2 for m in members), [(m.name, m.legs) for m in members]
        finally:
            for member in members:
                await member.close()
