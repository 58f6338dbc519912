"""A forwarding break inside the relay shows on /ops, in the metrics and in the therapist's
member list within 10 s, and clears when forwarding resumes.

Three members played by aiortc join through the real signaling with the default manual
admission; the test then makes one of the relay's slots forward nothing (inside the
test: no product switch). Only the subscriber's own receiver reports can tell.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Any

import socketio

from server.app import COMPONENTS
from server.auth.keys import load_or_create
from server.auth.tokens import TokenIssuer
from server.ops.feed import pseudonym
from tests.e2e.wire_member import WireMember
from tests.relay.relay_members import eventually

if TYPE_CHECKING:
    from tests.conftest import Client, Connector, LiveServer

SHOWN_WITHIN_S = 10.0


async def admitted_group(
    live_server: LiveServer, connect: Connector
) -> tuple[dict[str, Any], dict[str, Client], dict[str, str]]:
    room = await live_server.create_room("group", ["Alex", "Sam"])  # manual admission
    clients, ids = {}, {}
    for link in room["links"]:
        client = await connect(live_server, live_server.token_of(link["url"]))
        ids[link["name"]] = (await client.join())["self"]["id"]
        clients[link["name"]] = client
    for name in ("Alex", "Sam"):
        ack = await clients["Therapist"].call("lobby.admit", {"member": ids[name]})
        assert ack == {"ok": True}, ack
        await clients[name].wait_for("lobby.admitted")
    return room, clients, ids


async def watch_ops(live_server: LiveServer, room_id: str) -> tuple[Any, list[dict[str, Any]]]:
    token = TokenIssuer(load_or_create(live_server.settings.data_dir).signing_key).issue_ops(
        ttl_s=600
    )
    ops = socketio.AsyncClient(reconnection=False)
    snapshots: list[dict[str, Any]] = []
    ops.on("ops.snapshot", snapshots.append, namespace="/ops")
    await ops.connect(
        live_server.base_url, auth={"token": token}, namespaces=["/ops"], transports=["websocket"]
    )
    ack = await ops.call("ops.watch", {"room": room_id}, namespace="/ops", timeout=10)
    assert ack == {"ok": True}, ack
    return ops, snapshots


async def test_a_forwarding_break_shows_on_ops_metrics_and_the_therapists_list(
    live_server: LiveServer, connect: Connector
) -> None:
    room, clients, ids = await admitted_group(live_server, connect)
    members = {name: WireMember(client) for name, client in clients.items()}
    ops, snapshots = await watch_ops(live_server, room["room"])
    try:
        for member in members.values():
            await member.publish()
        await eventually(
            lambda: all(
                members[a].received[(ids[b], "video")] > 10
                for a in members
                for b in members
                if a != b
            ),
            30,
            "everyone receives everyone's video",
        )
        relay = live_server.app[COMPONENTS].relays.relay(room["room"])
        assert relay is not None
        await asyncio.sleep(2.0)
        assert relay.media_gaps() == []

        # Sam's slot for Alex's video: the relay still thinks it forwards; nothing goes.
        slot = next(
            s
            for s in relay._legs[ids["Sam"]].slots
            if s.publisher_id == ids["Alex"] and s.kind == "video"
        )
        publication = slot.publication
        assert publication is not None
        publication.unsubscribe(slot.track)
        broke_at = time.monotonic()

        sam, alex = pseudonym(room["room"], ids["Sam"]), pseudonym(room["room"], ids["Alex"])
        expected = f"{sam} is not receiving video from {alex}"

        def alert_shown() -> bool:
            return any(
                a["kind"] == "media_incomplete" and a["detail"] == expected
                for s in snapshots
                for a in s["alerts"]
            )

        await eventually(alert_shown, SHOWN_WITHIN_S, "the ops alert")
        shown_after = time.monotonic() - broke_at
        assert shown_after < SHOWN_WITHIN_S, f"shown after {shown_after:.1f}s"
        latest = snapshots[-1]
        assert latest["room"]["health"] == "degraded"
        sam_row = next(m for m in latest["room"]["members"] if m["id"] == sam)
        assert sam_row["not_receiving"] == [{"from": alex, "kind": "video"}]
        gaps = await clients["Therapist"].wait_for("media.gaps", lambda d: d["gaps"], wait_s=5)
        assert gaps["gaps"] == [{"member": ids["Sam"], "from": ids["Alex"], "kind": "video"}]
        metrics = (await live_server.get("/metrics")).body
        assert 'telehealth_media_gaps_total{kind="video"} 1.0' in metrics
        assert "telehealth_media_gaps_open 1.0" in metrics
        assert not clients["Alex"].peek("media.gaps"), "members are not told of others' gaps"

        # Forwarding resumes: the gap closes and the therapist is told.
        publication.subscribe(slot.track)
        slot.request_keyframe()
        await clients["Therapist"].wait_for("media.gaps", lambda d: d["gaps"] == [], wait_s=15)
        await eventually(lambda: relay.media_gaps() == [], 5, "the relay agrees")
    finally:
        with contextlib.suppress(Exception):
            await ops.disconnect()
        for member in members.values():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(member.close(), 10)
