"""signaling.gateway.Signaling with fakes at every port and a fake socket server.

No sockets: events go straight into the handlers Signaling registers, and the fake
server works out who would have received what. The room logic is the real engine.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from socketio.exceptions import ConnectionRefusedError as SocketRefused

from rooms import commands as c
from rooms.errors import ErrorCode
from rooms.roles import Role
from rooms.room import RoomKind
from signaling.connections import ConnectionRegistry
from signaling.fanout import Fanout, SignalingObserver
from signaling.gateway import Limits, Signaling
from signaling.group_routes import register_group_routes
from signaling.origin import OriginPolicy
from signaling.ports import Identity, Refusal
from signaling.socket_server import ack_requested, wire_size
from tests.signaling.fakes import (
    T0,
    CollectingStats,
    EchoGroupMedia,
    FakeAuthenticator,
    FakeClock,
    FakeSignalingServer,
    InMemoryRooms,
    StaticIce,
    identity,
)

SAME_ORIGIN = {"HTTP_HOST": "sessions.test", "HTTP_ORIGIN": "http://sessions.test"}
OFFER = {"type": "offer", "sdp": "v=0\r\n"}


class World:
    """One Signaling gateway with fakes at its ports."""

    def __init__(self, limits: Limits | None = None, media: EchoGroupMedia | None = None) -> None:
        self.sio = FakeSignalingServer()
        self.auth = FakeAuthenticator()
        self.rooms = InMemoryRooms()
        self.ice = StaticIce()
        self.media = media or EchoGroupMedia()
        self.stats = CollectingStats()
        self.clock = FakeClock()
        self.fanout = Fanout(
            self.sio,
            ConnectionRegistry(),  # type: ignore[arg-type]
            SignalingObserver(),
            self.clock,
        )
        self.signaling = Signaling(
            self.sio,  # type: ignore[arg-type]
            fanout=self.fanout,
            auth=self.auth,
            rooms=self.rooms,
            ice=self.ice,
            origin_policy=OriginPolicy(),
            limits=limits or Limits(),
            group_media=self.media,
            stats_sink=self.stats,
            clock=self.clock,
            monotonic=self.clock,
        )
        register_group_routes(self.signaling)
        self.rooms.subscribe(self.signaling.publish)
        self.rooms.create("ri", RoomKind.INDIVIDUAL)
        self.rooms.create("rg", RoomKind.GROUP)

    async def connect(self, sid: str, who: Identity, environ: dict[str, Any] | None = None) -> str:
        await self.sio.connect(
            sid, {"token": self.auth.issue(who)}, SAME_ORIGIN if environ is None else environ
        )
        return sid

    async def joined(self, sid: str, who: Identity) -> dict[str, Any]:
        await self.connect(sid, who)
        ack = await self.sio.send(sid, "session.join", {})
        assert ack["ok"] is True, ack
        return dict(ack)

    async def send(self, sid: str, event: str, data: Any = None, *extra: Any) -> dict[str, Any]:
        return dict(await self.sio.send(sid, event, data, *extra))


THERAPIST_I = identity("ri", "t", role=Role.THERAPIST, kind=RoomKind.INDIVIDUAL, name="Dr. T")
PATIENT_I = identity("ri", "p", kind=RoomKind.INDIVIDUAL, name="Pat")
THERAPIST_G = identity("rg", "t", role=Role.THERAPIST, name="Dr. T")


def member(name: str) -> Identity:
    return identity("rg", name)


def code(reply: dict[str, Any]) -> str:
    assert reply["ok"] is False, reply
    return str(reply["error"]["code"])


@contextmanager
def acked() -> Iterator[None]:
    """The client asked for an ack: errors go in the ack, not as an error event."""
    token = ack_requested.set(True)
    try:
        yield
    finally:
        ack_requested.reset(token)


# --- connect ------------------------------------------------------------------------


def refusal_code(refused: pytest.ExceptionInfo[SocketRefused]) -> str:
    return str(refused.value.error_args["data"]["code"])


async def test_a_good_token_connects() -> None:
    world = World()
    await world.connect("s1", PATIENT_I)
    assert world.sio.connected == {"s1"}
    assert world.signaling.connections.get("s1") is not None


@pytest.mark.parametrize(
    ("auth", "expected"),
    [
        (None, "token_missing"),
        ({}, "token_missing"),
        ({"token": 42}, "token_missing"),
        ({"token": "forged"}, "token_bad_signature"),
    ],
)
async def test_bad_tokens_are_refused_with_their_code(auth: Any, expected: str) -> None:
    world = World()
    with pytest.raises(SocketRefused) as refused:
        await world.sio.connect("s1", auth, SAME_ORIGIN)
    assert refusal_code(refused) == expected
    assert world.signaling.connections.get("s1") is None


async def test_another_origin_is_refused_before_the_token_is_read() -> None:
    world = World()
    with pytest.raises(SocketRefused) as refused:
        await world.connect(
            "s1", PATIENT_I, {"HTTP_HOST": "sessions.test", "HTTP_ORIGIN": "http://evil.test"}
        )
    assert refusal_code(refused) == "origin_not_allowed"


async def test_a_room_that_does_not_exist_or_has_ended_is_refused() -> None:
    world = World()
    with pytest.raises(SocketRefused) as refused:
        await world.connect("s1", identity("nowhere", "p"))
    assert refusal_code(refused) == "room_not_found"
    await world.joined("st", THERAPIST_G)
    await world.send("st", "room.end", {})
    with pytest.raises(SocketRefused) as refused:
        await world.connect("s2", member("a"))
    assert refusal_code(refused) == "room_ended"


async def test_a_removed_member_cannot_connect_again() -> None:
    world = World()
    await world.joined("st", THERAPIST_G)
    await world.joined("sa", member("a"))
    assert (await world.send("st", "lobby.deny", {"member": "a"}))["ok"] is True
    with pytest.raises(SocketRefused) as refused:
        await world.connect("sa2", member("a"))
    assert refusal_code(refused) == "token_revoked"


# --- dispatch: the refusals before any handler runs -------------------------------------


async def test_an_event_from_an_unknown_connection_is_not_connected() -> None:
    world = World()
    assert code(await world.send("ghost", "session.join", {})) == "not_connected"


async def test_unknown_event() -> None:
    world = World()
    await world.connect("s1", PATIENT_I)
    reply = await world.send("s1", "session.hack", {})
    assert code(reply) == "unknown_event"
    assert "session.hack" in reply["error"]["message"]


async def test_an_error_without_an_ack_also_comes_as_an_error_event() -> None:
    world = World()
    await world.connect("s1", PATIENT_I)
    await world.send("s1", "nope", {})
    assert world.sio.received("s1", "error") == [
        {"code": "unknown_event", "message": "There is no event called 'nope'.", "event": "nope"}
    ]


async def test_an_error_with_an_ack_is_only_in_the_ack() -> None:
    world = World()
    await world.connect("s1", PATIENT_I)
    with acked():
        assert code(await world.send("s1", "nope", {})) == "unknown_event"
    assert world.sio.received("s1", "error") == []


@pytest.mark.parametrize(
    ("event", "data"),
    [
        ("session.join", {"resume": "yes"}),
        ("session.join", ["resume"]),
        ("session.join", "x"),
        ("media.state", {"audio": True}),
        ("media.state", {"audio": 1, "video": 0}),  # strict: no coercion
        ("signal.description", {"to": "", "description": OFFER}),
        ("signal.description", {"to": "t", "description": {"type": "bogus"}}),
        ("lobby.admit", {"member": "x" * 65}),
    ],
)
async def test_invalid_payloads(event: str, data: Any) -> None:
    world = World()
    await world.joined("s1", PATIENT_I)
    assert code(await world.send("s1", event, data)) == "invalid_payload"


async def test_more_than_one_payload_is_invalid() -> None:
    world = World()
    await world.connect("s1", PATIENT_I)
    assert code(await world.send("s1", "session.join", {}, {})) == "invalid_payload"


async def test_a_message_over_the_size_limit_is_refused() -> None:
    world = World(limits=Limits(max_message_bytes=100))
    await world.connect("s1", PATIENT_I)
    token = wire_size.set(101)
    try:
        assert code(await world.send("s1", "session.join", {})) == "message_too_large"
    finally:
        wire_size.reset(token)
    assert (await world.send("s1", "session.join", {}))["ok"] is True


@pytest.mark.parametrize(
    ("event", "data"),
    [
        ("session.leave", {}),
        ("media.state", {"audio": False, "video": True}),
        ("signal.candidate", {"to": "t", "candidate": None}),
        ("relay.offer", {"sdp": "v=0"}),
        ("stats.report", {"rtt_ms": 10}),
        ("lobby.admit", {"member": "a"}),
    ],
)
async def test_events_before_join_are_not_joined(event: str, data: Any) -> None:
    world = World()
    await world.connect("s1", PATIENT_I)
    assert code(await world.send("s1", event, data)) == "not_joined"
    assert world.rooms.executed == []


async def test_the_rate_limit_then_the_flood_rule() -> None:
    world = World(limits=Limits(rate_per_s=1.0, burst=2.0))
    await world.connect("s1", PATIENT_I)
    assert (await world.send("s1", "media.connected", {}))["error"]["code"] == "not_joined"
    await world.send("s1", "media.connected", {})
    assert code(await world.send("s1", "media.connected", {})) == "rate_limited"
    assert "s1" in world.sio.connected
    # 20x the rate for the 3 s window (the rule is 10x): flooding, told why, then closed.
    for _ in range(100):
        world.clock.advance(0.05)
        await world.send("s1", "media.connected", {})
        if "s1" not in world.sio.connected:
            break
    assert "s1" not in world.sio.connected
    assert [e["code"] for e in world.sio.received("s1", "error")][-1] == "flooding"
    assert ("s1",) in world.sio.calls_named("close_connection")


# --- refusals from the domain and the ports become error replies ----------------------


async def test_a_domain_refusal_is_an_error_reply() -> None:
    world = World()
    await world.joined("st", THERAPIST_I)
    await world.joined("sp", PATIENT_I)
    other_patient = identity("ri", "q", kind=RoomKind.INDIVIDUAL)
    await world.connect("sq", other_patient)
    reply = await world.send("sq", "session.join", {})
    assert code(reply) == "seat_taken"
    assert "sq" in world.sio.connected  # the connection carries on


async def test_a_participant_cannot_moderate() -> None:
    world = World()
    await world.joined("st", THERAPIST_G)
    await world.joined("sa", member("a"))
    await world.send("st", "lobby.admit", {"member": "a"})
    await world.joined("sb", member("b"))
    assert code(await world.send("sa", "lobby.admit", {"member": "b"})) == "not_allowed"


async def test_a_waiting_member_cannot_use_the_floor() -> None:
    world = World()
    await world.joined("st", THERAPIST_G)
    await world.joined("sa", member("a"))
    assert code(await world.send("sa", "floor.raise_hand", {})) == "waiting"


async def test_a_group_media_refusal_is_an_error_reply() -> None:
    world = World(media=EchoGroupMedia(refusal=Refusal(ErrorCode.INVALID_SDP, "no good")))
    await world.joined("st", THERAPIST_G)
    reply = await world.send("st", "relay.offer", {"sdp": "v=0"})
    assert reply == {"ok": False, "error": {"code": "invalid_sdp", "message": "no good"}}


async def test_the_relay_is_for_group_rooms_only() -> None:
    world = World()
    await world.joined("st", THERAPIST_I)
    assert code(await world.send("st", "relay.offer", {"sdp": "v=0"})) == "not_allowed"
    assert world.media.offers == []


async def test_group_members_do_not_signal_each_other() -> None:
    world = World()
    await world.joined("st", THERAPIST_G)
    reply = await world.send("st", "signal.description", {"to": "a", "description": OFFER})
    assert code(reply) == "not_allowed"


async def test_talk_report_is_for_therapists() -> None:
    world = World()
    await world.joined("st", THERAPIST_G)
    await world.joined("sa", member("a"))
    await world.send("st", "lobby.admit", {"member": "a"})
    assert code(await world.send("sa", "talk.report", {})) == "not_allowed"
    reply = await world.send("st", "talk.report", {})
    assert reply["ok"] is True and [r["id"] for r in reply["report"]["members"]] == ["a"]


# --- identity comes from the connection -------------------------------------------------


async def test_the_join_ack_is_built_from_the_connection_and_the_ports() -> None:
    world = World()
    ack = await world.joined("st", THERAPIST_I)
    assert ack["self"] == {"id": "t", "role": "therapist", "name": "Dr. T"}
    assert ack["room"] == {"id": "ri", "kind": "individual", "state": "active"}
    assert ack["polite"] is False and ack["resumed"] is False
    assert ack["ice_servers"] == world.ice.servers and world.ice.asked_for == ["t"]
    assert world.auth.authenticate(ack["resume_token"]) == THERAPIST_I
    [(room_id, join)] = world.rooms.executed
    assert (room_id, join) == ("ri", c.Join("t", Role.THERAPIST, "Dr. T", T0))


async def test_a_payload_cannot_claim_an_identity() -> None:
    world = World()
    await world.connect("s1", PATIENT_I)
    for claim in ({"member_id": "t"}, {"role": "therapist"}, {"name": "Dr. Fake"}):
        assert code(await world.send("s1", "session.join", claim)) == "invalid_payload"
    assert world.rooms.executed == []


async def test_relayed_signals_carry_the_sender_set_by_the_server() -> None:
    world = World()
    await world.joined("st", THERAPIST_I)
    await world.joined("sp", PATIENT_I)
    forged = {"to": "t", "from": "t", "description": OFFER}
    assert code(await world.send("sp", "signal.description", forged)) == "invalid_payload"
    reply = await world.send("sp", "signal.description", {"to": "t", "description": OFFER})
    assert reply == {"ok": True}
    [message] = world.sio.received("st", "signal.description")
    assert message["from"] == "p"
    assert world.sio.received("sp", "signal.description") == []


async def test_signals_go_only_to_seated_others() -> None:
    world = World()
    await world.joined("st", THERAPIST_I)
    await world.joined("sp", PATIENT_I)
    to_self = {"to": "p", "candidate": None}
    assert code(await world.send("sp", "signal.candidate", to_self)) == "unknown_peer"
    to_nobody = {"to": "x", "candidate": None}
    assert code(await world.send("sp", "signal.candidate", to_nobody)) == "unknown_peer"


async def test_moderation_is_done_by_the_connection_member() -> None:
    world = World()
    await world.joined("st", THERAPIST_G)
    await world.joined("sa", member("a"))
    assert (await world.send("st", "lobby.admit", {"member": "a"}))["ok"] is True
    [admit] = world.rooms.commands(c.Admit)
    assert (admit.by, admit.member_id) == ("t", "a")


async def test_stats_and_relay_sdp_reach_the_ports_with_the_connection_identity() -> None:
    world = World()
    await world.joined("st", THERAPIST_G)
    assert (await world.send("st", "stats.report", {"rtt_ms": 12}))["ok"] is True
    [(who, stats)] = world.stats.reports
    assert who == THERAPIST_G and stats["rtt_ms"] == 12.0
    reply = await world.send("st", "relay.offer", {"sdp": "v=0 offer"})
    assert reply == {"ok": True, "sdp": world.media.answer_sdp, "tracks": []}
    assert world.media.offers == [(THERAPIST_G, "v=0 offer")]


# --- the connection's life ---------------------------------------------------------------


async def test_a_dropped_transport_holds_the_seat_and_tells_the_peer() -> None:
    world = World()
    await world.joined("st", THERAPIST_I)
    await world.joined("sp", PATIENT_I)
    await world.sio.drop("sp")
    assert world.rooms.commands(c.Disconnect) == [c.Disconnect("p", T0)]
    assert world.sio.received("st", "peer.disconnected") == [{"id": "p"}]
    assert world.signaling.connections.get("sp") is None


async def test_a_connection_that_never_joined_leaves_no_trace() -> None:
    world = World()
    await world.connect("s1", PATIENT_I)
    await world.sio.drop("s1")
    assert world.rooms.executed == []


async def test_leave_releases_the_seat_and_the_channels() -> None:
    world = World()
    await world.joined("st", THERAPIST_I)
    await world.joined("sp", PATIENT_I)
    assert (await world.send("sp", "session.leave", {}))["ok"] is True
    assert world.sio.received("st", "peer.left") == [{"id": "p", "reason": "left"}]
    assert not any("sp" in sids for sids in world.sio.channels.values())
    assert code(await world.send("sp", "media.state", {"audio": True, "video": True})) == (
        "not_joined"
    )


async def test_a_resume_on_a_new_connection_drops_the_old_one() -> None:
    world = World()
    await world.joined("st", THERAPIST_I)
    await world.joined("sp1", PATIENT_I)
    await world.connect("sp2", PATIENT_I)
    ack = await world.send("sp2", "session.join", {"resume": True})
    assert ack["resumed"] is True
    assert "sp1" not in world.sio.connected
    # The old connection's disconnect does not take the seat with it.
    assert world.rooms.commands(c.Disconnect) == []
    assert world.sio.received("st", "peer.disconnected") == []


async def test_a_join_that_finishes_after_its_connection_closed_is_undone() -> None:
    world = World()
    await world.joined("st", THERAPIST_I)
    await world.connect("sp", PATIENT_I)

    async def close_while_joining(room: object, events: object) -> None:
        if "sp" in world.sio.connected:
            await world.sio.drop("sp")

    world.rooms.subscribe(close_while_joining)
    assert code(await world.send("sp", "session.join", {})) == "not_connected"
    assert world.rooms.commands(c.Disconnect) == [c.Disconnect("p", T0)]
    room = world.rooms.rooms["ri"]
    patient = room.member("p")
    assert patient is not None and patient.presence.value == "disconnected"


async def test_join_deadline_closes_an_idle_connection() -> None:
    world = World(limits=Limits(join_timeout_s=0.01))
    await world.connect("s1", PATIENT_I)
    for _ in range(50):
        await asyncio.sleep(0.01)
        if "s1" not in world.sio.connected:
            break
    assert [e["code"] for e in world.sio.received("s1", "error")] == ["join_timeout"]
    assert "s1" not in world.sio.connected


async def test_a_join_in_time_cancels_the_deadline() -> None:
    world = World(limits=Limits(join_timeout_s=0.01))
    await world.joined("s1", PATIENT_I)
    await asyncio.sleep(0.05)
    assert "s1" in world.sio.connected


async def test_restart_tells_every_page_and_closes_it() -> None:
    world = World()
    await world.joined("st", THERAPIST_I)
    await world.connect("sp", PATIENT_I)
    assert await world.signaling.close_for_restart("back soon") == 2
    for sid in ("st", "sp"):
        assert world.sio.received(sid, "server.restarting") == [
            {"reason": "restart", "message": "back soon"}
        ]
    assert world.sio.connected == set()


async def test_fresh_resume_tokens_go_to_joined_pages_only() -> None:
    world = World()
    await world.joined("st", THERAPIST_I)
    await world.connect("sp", PATIENT_I)
    await world.signaling.refresh_resume_tokens()
    [fresh] = world.sio.received("st", "session.token")
    assert world.auth.authenticate(fresh["resume_token"]) == THERAPIST_I
    assert world.sio.received("sp", "session.token") == []
