"""Members' chat off and screen share are stored room state: a member connected to
another process than the therapist's is held to them by the server (issue 15)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cluster.cluster_support import group_split_over_processes, running_cluster
from tests.conftest import Connector

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(120)]


async def test_chat_off_and_share_permissions_hold_on_every_process(
    tmp_path: Path, connect: Connector
) -> None:
    async with running_cluster(tmp_path, 2) as cluster:
        group = await group_split_over_processes(cluster, connect)
        therapist, alex, sam = group.therapist, group.alex, group.sam
        alex_ack, sam_ack = group.alex_ack, group.sam_ack
        alex_id, sam_id = alex_ack["self"]["id"], sam_ack["self"]["id"]
        for member, client in ((alex_id, alex), (sam_id, sam)):
            assert await therapist.call("lobby.admit", {"member": member}) == {"ok": True}
            await client.wait_for("lobby.admitted")

        # Chat off, asked on process 0: refused on process 1 too, and said so there.
        assert (await therapist.call("chat.members", {"allowed": False}))["ok"] is True
        await alex.wait_for("chat.state", where=lambda s: s["members_allowed"] is False)
        refused = await alex.call("chat.send", {"text": "hello"})
        assert refused["error"]["code"] == "chat_off"
        assert (await sam.call("chat.state", {}))["members_allowed"] is False

        # Alex may share, Sam may not; one share at a time.
        reply = await therapist.call("screen.allow", {"member": alex_id, "allowed": True})
        assert reply == {"ok": True}
        refused = await sam.call("screen.start", {})
        assert refused["error"]["code"] == "screen_share_not_allowed"
        assert await alex.call("screen.start", {}) == {"ok": True}
        state = await sam.wait_for("screen.state", where=lambda s: s["sharer"] == alex_id)
        assert state["allowed"] == [alex_id]
        refused = await therapist.call("screen.start", {})
        assert refused["error"]["code"] == "screen_share_busy"

        stored = await cluster.room(group.room_id)
        assert (stored.members_chat, stored.screen_sharer) == (False, alex_id)
        assert stored.share_allowed == frozenset({alex_id})
