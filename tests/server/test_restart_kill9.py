"""`telehealth serve` killed with SIGKILL and restarted on the same data directory and
port: links still connect, members resume with their resume tokens, and a group room's
admission, floor mode, hand queue, turn and revoked links are as they were."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.browser.browser_support import Server, free_port, running_server, token_of
from tests.conftest import Client, Connector

pytestmark = pytest.mark.timeout(120)

GRACE_S = 8.0


def _kill_9(server: Server) -> None:
    server.process.send_signal(signal.SIGKILL)
    assert server.process.wait(timeout=10) == -signal.SIGKILL


def _floor_of(ack_or_state: dict[str, Any]) -> dict[str, Any]:
    floor = dict(ack_or_state["floor"])
    turn = floor["turn"]
    return {
        "mode": floor["mode"],
        "holder": floor["holder"],
        "turn": None if turn is None else (turn["member"], turn["limit_s"]),
        "queue": floor["queue"],
        "hands": [hand["member"] for hand in floor["hands"]],
        "settings": floor["settings"],
    }


async def _resume(connect: Connector, url: str, resume_token: str) -> tuple[Client, dict[str, Any]]:
    client = await connect(url, resume_token)
    return client, await client.join(resume=True)


async def test_links_and_seats_survive_kill_9(tmp_path: Path, connect: Connector) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    port = free_port()
    grace = ("--grace-seconds", str(GRACE_S))

    with running_server(data_dir, *grace, port=port) as first:
        url = first.base_url
        individual = first.create_room("individual")
        t_link, p_link = (token_of(link["url"]) for link in individual["links"])
        group = first.create_room("group", "Alex", "Sam", "Kim")  # manual admission
        gt_link, alex_link, sam_link, kim_link = (token_of(link["url"]) for link in group["links"])

        therapist, patient = await connect(url, t_link), await connect(url, p_link)
        therapist_ack, patient_ack = await therapist.join(), await patient.join()
        patient_id = patient_ack["self"]["id"]

        moderator = await connect(url, gt_link)
        moderator_ack = await moderator.join()
        members: dict[str, Client] = {}
        acks: dict[str, dict[str, Any]] = {}
        for name, link in (("Alex", alex_link), ("Sam", sam_link), ("Kim", kim_link)):
            members[name] = await connect(url, link)
            acks[name] = await members[name].join()
            assert acks[name]["admission"] == "waiting"
            reply = await moderator.call("lobby.admit", {"member": acks[name]["self"]["id"]})
            assert reply == {"ok": True}, reply
            await members[name].wait_for("lobby.admitted")
        ids = {name: ack["self"]["id"] for name, ack in acks.items()}
        # Kim is removed: the link is revoked in the room's state.
        assert await moderator.call("moderation.remove", {"member": ids["Kim"]}) == {"ok": True}
        assert await moderator.call("floor.mode", {"mode": "hand_queue"}) == {"ok": True}
        for name in ("Alex", "Sam"):
            assert (await members[name].call("floor.raise_hand", {}))["ok"] is True
        assert (await moderator.call("floor.grant_next", {}))["ok"] is True
        # One of them holds the turn, the other's hand waits.
        before = _floor_of(
            await moderator.wait_for("floor.state", lambda s: s["floor"]["turn"] is not None)
        )
        assert before["mode"] == "hand_queue" and before["turn"] is not None
        assert len(before["hands"]) == 1
        _kill_9(first)

    killed_at = time.monotonic()
    with running_server(data_dir, *grace, port=port) as second:
        restarted_s = time.monotonic() - killed_at
        assert second.base_url == url
        log = second.log_tail(20_000)
        assert f"store: SQLite, {data_dir.resolve() / 'rooms.sqlite3'}" in log, log
        assert "seats in 2 rooms held for the grace period" in log, log

        # Individual room: the therapist resumes with the resume token; the patient's
        # original link still connects (a fresh page), and signaling flows between them.
        therapist2, back = await _resume(connect, url, therapist_ack["resume_token"])
        assert back["resumed"] is True
        assert back["self"] == therapist_ack["self"]
        patient2 = await connect(url, p_link)
        again = await patient2.join()
        assert again["self"]["id"] == patient_id
        offer = {"to": patient_id, "description": {"type": "offer", "sdp": "v=0\r\n"}}
        assert (await therapist2.call("signal.description", offer))["ok"] is True
        heard = await patient2.wait_for("signal.description")
        assert heard["from"] == therapist_ack["self"]["id"]

        # Group room: admission, floor mode, hand queue and turn as before the kill.
        moderator2, m_back = await _resume(connect, url, moderator_ack["resume_token"])
        assert m_back["resumed"] is True
        assert _floor_of(m_back) == before
        alex2, a_back = await _resume(connect, url, acks["Alex"]["resume_token"])
        assert a_back["resumed"] is True and a_back["admission"] == "admitted"
        assert _floor_of(a_back) == before
        # A link that was revoked before the kill stays revoked.
        refused = await connect.refused(url, kim_link)
        assert refused["code"] == "token_revoked", refused

        # Sam never comes back: the seat is held from the restart, then times out.
        left = await moderator2.wait_for(
            "peer.left", lambda p: p["id"] == ids["Sam"], wait_s=GRACE_S + 5
        )
        assert left["reason"] == "timeout"
        waited = time.monotonic() - killed_at
        assert waited >= GRACE_S, f"Sam timed out {waited:.1f}s after the kill, within grace"
        print(f"restart to healthy: {restarted_s:.2f}s; Sam timed out {waited:.1f}s after kill")
        for client in (therapist2, patient2, moderator2, alex2):
            assert client.connected
