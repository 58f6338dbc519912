"""Two processes on one Redis: any process takes any connection, a room's commands run
on its owner, and every member hears every change wherever they are connected."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.browser.browser_support import token_of
from tests.cluster.cluster_support import group_split_over_processes, running_cluster
from tests.conftest import Connector

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(120)]


async def test_members_on_different_processes_share_one_room(
    tmp_path: Path, connect: Connector
) -> None:
    async with running_cluster(tmp_path, 2) as cluster:
        room = cluster.create_room("group", "Alex", "Sam")  # through the balancer
        assert room["links"][0]["url"].startswith(cluster.balancer_url)
        t_link, alex_link, sam_link = (token_of(link["url"]) for link in room["links"])
        therapist = await connect(cluster.url(0), t_link)
        alex = await connect(cluster.url(1), alex_link)
        sam = await connect(cluster.balancer_url, sam_link)
        await therapist.join()
        alex_ack, sam_ack = await alex.join(), await sam.join()
        assert alex_ack["admission"] == sam_ack["admission"] == "waiting"
        lobby = await therapist.wait_for(
            "lobby.state", where=lambda state: len(state["waiting"]) == 2
        )
        assert {w["name"] for w in lobby["waiting"]} == {"Alex", "Sam"}

        # Commands from process 0 for members on process 1 and behind the balancer.
        for ack, client in ((alex_ack, alex), (sam_ack, sam)):
            reply = await therapist.call("lobby.admit", {"member": ack["self"]["id"]})
            assert reply == {"ok": True}, reply
            admitted = await client.wait_for("lobby.admitted")
            assert "therapist" in {peer["role"] for peer in admitted["peers"]}
        assert await therapist.call("floor.mode", {"mode": "hand_queue"}) == {"ok": True}
        assert (await alex.call("floor.raise_hand", {}))["ok"] is True
        state = await sam.wait_for(
            "floor.state", where=lambda s: [h["member"] for h in s["floor"]["hands"]] != []
        )
        assert [h["member"] for h in state["floor"]["hands"]] == [alex_ack["self"]["id"]]

        # One owner; the room as stored is what everyone was told.
        owner = await cluster.owner_index(room["room"])
        stored = await cluster.room(room["room"])
        assert [h.member for h in stored.floor.hands] == [alex_ack["self"]["id"]]
        assert owner in (0, 1)


async def test_a_rooms_members_meet_in_the_process_that_owns_it(
    tmp_path: Path, connect: Connector
) -> None:
    """Through the balancer with the room hint (as pages connect): every member of a
    room on one process, and that process owns the room, whichever process
    housekeeping gave the new room to. Without the hint, round robin splits them."""
    async with running_cluster(tmp_path, 2) as cluster:
        rooms = [cluster.create_room("group", "Alex", "Sam") for _ in range(4)]
        for room in rooms:  # booked ahead: housekeeping claims each before anyone comes
            await cluster.owner_index(room["room"])
        for room in rooms:
            url = f"{cluster.balancer_url}/?room={room['room']}"
            members = [await connect(url, token_of(link["url"])) for link in room["links"]]
            for member in members:
                await member.join()
            seats = await cluster.seat_indexes(room["room"])
            assert len(seats) == 3, seats
            owner = await cluster.owner_index(room["room"])
            assert set(seats.values()) == {owner}, (seats, owner)
            for member in members:
                await member.disconnect()


async def test_the_same_link_on_two_processes_the_newest_wins(
    tmp_path: Path, connect: Connector
) -> None:
    async with running_cluster(tmp_path, 2) as cluster:
        room = cluster.create_room("individual")
        patient_link = token_of(room["links"][1]["url"])
        first = await connect(cluster.url(0), patient_link)
        await first.join()
        second = await connect(cluster.url(1), patient_link)
        await second.join()
        await first.wait_for("session.replaced")
        await first.wait_disconnected()
        assert second.connected


async def test_a_redis_restart_refuses_commands_then_carries_on(
    tmp_path: Path, connect: Connector
) -> None:
    async with running_cluster(tmp_path, 2) as cluster:
        group = await group_split_over_processes(cluster, connect)
        therapist, alex, sam = group.therapist, group.alex, group.sam
        alex_ack, sam_ack = group.alex_ack, group.sam_ack

        await cluster.redis.kill()
        await sam.disconnect()  # Sam's network drops while Redis is down
        refused = await therapist.call("lobby.admit", {"member": alex_ack["self"]["id"]})
        assert refused["ok"] is False
        assert refused["error"]["code"] == "unavailable", refused
        assert therapist.connected and alex.connected  # liveness is not readiness

        await cluster.redis.start()  # append-only file: the room is still there
        # Ready again once each process hears the others (its pub/sub resubscribed).
        await cluster.wait_ready(within_s=15)
        deadline = asyncio.get_running_loop().time() + 15
        while True:
            reply = await therapist.call("lobby.admit", {"member": alex_ack["self"]["id"]})
            if reply.get("ok") or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.3)
        assert reply == {"ok": True}, reply
        await alex.wait_for("lobby.admitted")
        stored = await cluster.room(group.room_id)
        assert stored.require_member(alex_ack["self"]["id"]).admitted
        # Sam's drop was recorded once Redis answered: the seat is in its grace period.
        deadline = asyncio.get_running_loop().time() + 5
        while stored.require_member(sam_ack["self"]["id"]).presence.value != "disconnected":
            assert asyncio.get_running_loop().time() < deadline, "Sam's disconnect was lost"
            await asyncio.sleep(0.2)
            stored = await cluster.room(group.room_id)
