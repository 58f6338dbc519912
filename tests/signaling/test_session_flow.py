"""Two real socket.io clients in an individual room, through the real server."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.conftest import Client, Connector, LiveServer, StartServer

OFFER = {"type": "offer", "sdp": "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"}
CANDIDATE = {
    "candidate": "candidate:1 1 UDP 2122252543 192.0.2.1 50000 typ host",
    "sdpMid": "0",
    "sdpMLineIndex": 0,
    "usernameFragment": "abcd",
}


async def pair(
    server: LiveServer, connect: Connector
) -> tuple[Client, Client, dict[str, Any], dict[str, Any], str]:
    """Therapist and patient joined in a fresh individual room."""
    _, t_token, p_token = await server.individual_tokens()
    therapist = await connect(server, t_token)
    patient = await connect(server, p_token)
    t_ack = await therapist.join()
    p_ack = await patient.join()
    return therapist, patient, t_ack, p_ack, p_token


async def test_join_ack_shape(live_server: LiveServer, connect: Connector) -> None:
    room_id, t_token, p_token = await live_server.individual_tokens()
    therapist = await connect(live_server, t_token)
    ack = await therapist.join()
    assert set(ack) >= {
        "ok",
        "self",
        "room",
        "peers",
        "polite",
        "ice_servers",
        "resume_token",
        "resumed",
    }
    assert ack["self"]["role"] == "therapist"
    assert ack["self"]["name"] == "Therapist"
    assert ack["self"]["id"].startswith("p_")
    assert ack["room"] == {"id": room_id, "kind": "individual", "state": "active"}
    assert ack["peers"] == []
    assert ack["polite"] is False
    assert isinstance(ack["ice_servers"], list)
    assert isinstance(ack["resume_token"], str) and ack["resume_token"]
    assert ack["resumed"] is False

    patient = await connect(live_server, p_token)
    p_ack = await patient.join()
    assert p_ack["polite"] is True
    assert p_ack["self"]["role"] == "participant"
    [peer] = p_ack["peers"]
    media = peer.pop("media")
    assert peer == {
        "id": ack["self"]["id"],
        "role": "therapist",
        "name": "Therapist",
        "connected": True,
        "epoch": 1,
    }
    assert (media["audio"], media["video"]) == (True, True)


async def test_ice_servers_from_settings(start_server: StartServer, connect: Connector) -> None:
    server = await start_server(
        stun_urls=("stun:stun.example:3478",),
        turn_urls=("turn:turn.example:3478",),
        turn_secret="s3cret",
    )
    _, t_token, _ = await server.individual_tokens()
    ack = await (await connect(server, t_token)).join()
    stun, turn = ack["ice_servers"]
    assert stun == {"urls": ["stun:stun.example:3478"]}
    expiry, member = turn["username"].split(":", 1)
    assert member == ack["self"]["id"] and int(expiry) > 0 and turn["credential"]


async def test_peer_joined_and_relay(live_server: LiveServer, connect: Connector) -> None:
    therapist, patient, t_ack, p_ack, _ = await pair(live_server, connect)
    t_id, p_id = t_ack["self"]["id"], p_ack["self"]["id"]
    joined = await therapist.wait_for("peer.joined")
    assert joined["peer"]["id"] == p_id and joined["peer"]["role"] == "participant"
    # The joiner is not told about itself.
    await patient.assert_none("peer.joined", within=0.2)

    ack = await therapist.call("signal.description", {"to": p_id, "description": OFFER})
    assert ack == {"ok": True}
    got = await patient.wait_for("signal.description")
    assert got == {"from": t_id, "description": OFFER}

    answer = {"type": "answer", "sdp": "v=0\r\n"}
    assert (await patient.call("signal.description", {"to": t_id, "description": answer}))[
        "ok"
    ] is True
    assert await therapist.wait_for("signal.description") == {"from": p_id, "description": answer}

    assert (await patient.call("signal.candidate", {"to": t_id, "candidate": CANDIDATE}))[
        "ok"
    ] is True
    assert await therapist.wait_for("signal.candidate") == {"from": p_id, "candidate": CANDIDATE}
    # End of candidates.
    assert (await patient.call("signal.candidate", {"to": t_id, "candidate": None}))["ok"]
    assert await therapist.wait_for("signal.candidate") == {"from": p_id, "candidate": None}
    # Nothing echoes back to the sender.
    assert not patient.peek("signal.candidate")


async def test_forged_from_is_refused(live_server: LiveServer, connect: Connector) -> None:
    therapist, patient, t_ack, p_ack, _ = await pair(live_server, connect)
    t_id, p_id = t_ack["self"]["id"], p_ack["self"]["id"]
    ack = await patient.call("signal.description", {"to": t_id, "from": t_id, "description": OFFER})
    assert ack["ok"] is False and ack["error"]["code"] == "invalid_payload"
    assert "from" in ack["error"]["message"]
    await therapist.assert_none("signal.description", within=0.2)
    # The identity on relayed messages is the connection's.
    await patient.call("signal.candidate", {"to": t_id, "candidate": CANDIDATE})
    assert (await therapist.wait_for("signal.candidate"))["from"] == p_id


async def test_unknown_peer(live_server: LiveServer, connect: Connector) -> None:
    therapist, _, t_ack, _, _ = await pair(live_server, connect)
    ack = await therapist.call("signal.description", {"to": "p_nobody", "description": OFFER})
    assert ack["ok"] is False and ack["error"]["code"] == "unknown_peer"
    # Yourself is not a peer either.
    ack = await therapist.call(
        "signal.candidate", {"to": t_ack["self"]["id"], "candidate": CANDIDATE}
    )
    assert ack["error"]["code"] == "unknown_peer"


async def test_signal_before_join(live_server: LiveServer, connect: Connector) -> None:
    _, t_token, _ = await live_server.individual_tokens()
    therapist = await connect(live_server, t_token)
    ack = await therapist.call("signal.candidate", {"to": "p_x", "candidate": None})
    assert ack["error"]["code"] == "not_joined"


async def test_second_patient_link_seat_taken(live_server: LiveServer, connect: Connector) -> None:
    therapist, patient, *_ = await pair(live_server, connect)
    room_id = (await therapist.call("session.join", {"resume": True}))["room"]["id"]
    invite = await live_server.invite(room_id, "participant", "Second")
    second = await connect(live_server, live_server.token_of(invite["url"]))
    ack = await second.call("session.join", {"resume": False})
    assert ack["ok"] is False and ack["error"]["code"] == "seat_taken"
    assert ack["error"]["message"]
    assert second.connected and patient.connected
    # A therapist invite is refused the same way while the therapist is seated.
    invite = await live_server.invite(room_id, "therapist", "Dr Two")
    other = await connect(live_server, live_server.token_of(invite["url"]))
    assert (await other.call("session.join", {}))["error"]["code"] == "seat_taken"


async def test_same_link_takes_over(live_server: LiveServer, connect: Connector) -> None:
    therapist, patient, t_ack, p_ack, p_token = await pair(live_server, connect)
    await therapist.wait_for("peer.joined")
    second_tab = await connect(live_server, p_token)
    ack = await second_tab.join()
    assert ack["self"]["id"] == p_ack["self"]["id"]
    assert await patient.wait_for("session.replaced") == {}
    await patient.wait_disconnected()
    # The therapist sees the fresh page (epoch bumped) and no departure of the seat.
    joined = await therapist.wait_for("peer.joined")
    assert joined["peer"]["id"] == p_ack["self"]["id"] and joined["peer"]["epoch"] == 2
    await therapist.assert_none("peer.disconnected", within=0.3)
    # Relaying reaches the new tab only.
    await therapist.call("signal.description", {"to": p_ack["self"]["id"], "description": OFFER})
    assert (await second_tab.wait_for("signal.description"))["from"] == t_ack["self"]["id"]


async def test_resume_within_grace(live_server: LiveServer, connect: Connector) -> None:
    therapist, patient, t_ack, p_ack, _ = await pair(live_server, connect)
    await therapist.wait_for("peer.joined")
    p_id = p_ack["self"]["id"]
    await patient.disconnect()
    assert await therapist.wait_for("peer.disconnected") == {"id": p_id}

    back = await connect(live_server, p_ack["resume_token"])
    ack = await back.join(resume=True)
    assert ack["resumed"] is True
    assert ack["self"]["id"] == p_id
    assert await therapist.wait_for("peer.reconnected") == {"id": p_id}
    await therapist.assert_none("peer.left", within=0.2)
    # Same seat: messages still reach it.
    await therapist.call("signal.candidate", {"to": p_id, "candidate": CANDIDATE})
    assert (await back.wait_for("signal.candidate"))["from"] == t_ack["self"]["id"]


async def test_resume_token_works_without_resume_flag(
    live_server: LiveServer, connect: Connector
) -> None:
    """A fresh page with the resume token keeps the seat (a new epoch)."""
    therapist, patient, _, p_ack, _ = await pair(live_server, connect)
    await patient.disconnect()
    await therapist.wait_for("peer.disconnected")
    back = await connect(live_server, p_ack["resume_token"])
    ack = await back.join(resume=False)
    assert ack["self"]["id"] == p_ack["self"]["id"] and ack["resumed"] is False
    joined = await therapist.wait_for(
        "peer.joined",
        where=lambda d: d["peer"]["id"] == p_ack["self"]["id"] and d["peer"]["epoch"] == 2,
    )
    assert joined["peer"]["connected"] is True


async def test_grace_expiry(start_server: StartServer, connect: Connector) -> None:
    server = await start_server(grace_s=1.5)
    therapist, patient, _, p_ack, _ = await pair(server, connect)
    p_id = p_ack["self"]["id"]
    await patient.disconnect()
    await therapist.wait_for("peer.disconnected")
    left = await therapist.wait_for("peer.left", wait_s=5.0)
    assert left == {"id": p_id, "reason": "timeout"}
    # The seat is free again: the patient's link joins as a fresh page.
    back = await connect(server, p_ack["resume_token"])
    ack = await back.join(resume=True)
    assert ack["resumed"] is False


async def test_leave_frees_the_seat(live_server: LiveServer, connect: Connector) -> None:
    therapist, patient, _, p_ack, _ = await pair(live_server, connect)
    room_id = p_ack["room"]["id"]
    assert await patient.call("session.leave", {}) == {"ok": True}
    assert await therapist.wait_for("peer.left") == {"id": p_ack["self"]["id"], "reason": "left"}
    invite = await live_server.invite(room_id, "participant", "Next")
    newcomer = await connect(live_server, live_server.token_of(invite["url"]))
    ack = await newcomer.join()
    assert ack["peers"][0]["role"] == "therapist"
    # The one who left no longer hears the room.
    await therapist.call("media.state", {"audio": False, "video": True})
    await patient.assert_none("peer.media", within=0.3)


async def test_media_state(live_server: LiveServer, connect: Connector) -> None:
    therapist, patient, t_ack, _, _ = await pair(live_server, connect)
    assert await therapist.call("media.state", {"audio": False, "video": True}) == {"ok": True}
    media = await patient.wait_for("peer.media")
    assert (media["id"], media["audio"], media["video"]) == (t_ack["self"]["id"], False, True)
    # (The sender may hear its own peer.media too: moderator mutes arrive that way.)
    # The same state again changes nothing and tells nobody.
    assert await therapist.call("media.state", {"audio": False, "video": True}) == {"ok": True}
    await patient.assert_none("peer.media", within=0.2)


@pytest.mark.parametrize("role", ["therapist", "participant"])
async def test_peer_media_seen_in_join_ack(
    live_server: LiveServer, connect: Connector, role: str
) -> None:
    _, t_token, p_token = await live_server.individual_tokens()
    first_token, second_token = (t_token, p_token) if role == "therapist" else (p_token, t_token)
    first = await connect(live_server, first_token)
    await first.join()
    await first.call("media.state", {"audio": True, "video": False})
    second = await connect(live_server, second_token)
    ack = await second.join()
    media = ack["peers"][0]["media"]
    assert (media["audio"], media["video"]) == (True, False)


async def test_resume_token_is_refreshed_before_it_expires(
    start_server: StartServer, connect: Connector
) -> None:
    server = await start_server(resume_ttl_s=4.0)
    _, t_token, _ = await server.individual_tokens()
    therapist = await connect(server, t_token)
    ack = await therapist.join()
    pushed = await therapist.wait_for("session.token")
    assert pushed["resume_token"] and pushed["resume_token"] != ack["resume_token"]
    therapist_again = await connect(server, pushed["resume_token"])
    assert (await therapist_again.join(resume=True))["resumed"] is True
