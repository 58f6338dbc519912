"""Every command from every role, through the real signaling: the authorization policy.

A group room that admits manually holds, for each case:

* **therapist** - joined (admitted on arrival);
* **participant** - joined and admitted by the therapist;
* **waiting** - a participant who joined and is still in the waiting room;
* **unjoined** - a participant link that connected but never sent `session.join`;
* **removed** - a participant who was admitted, then removed by the therapist: its
  connection is closed and its link is refused at connect (`token_revoked`), so it
  can send no command at all;
* **ops** - an ops-dashboard token (audience `telehealth:ops`): refused on the main
  namespace at connect (`token_bad_audience`), so it can send no command either.

`MATRIX` is the policy, one row per (event, floor setup), one column per role. A cell
is `OK` (ack `ok: true`), an error code the ack must carry, or `connect:CODE` for the
roles that never get a connection. Floor-state codes (`queue_empty`,
`no_floor_in_open_mode`, ...) in a therapist's or participant's cell prove that the
capability check passed and the floor itself refused: capability checks come first,
so a role without the capability gets `not_allowed` in the same state.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
import socketio

from server.app import COMPONENTS
from server.auth.keys import load_or_create
from server.auth.tokens import TokenIssuer
from signaling.events import ClientEvent as E

if TYPE_CHECKING:
    from tests.conftest import Client, Connector, LiveServer, StartServer

# --- the cells -------------------------------------------------------------------------

OK = "ok"
NA = "not_allowed"  # the role lacks the capability
WT = "waiting"  # still in the waiting room
NJ = "not_joined"  # connected, but no session.join yet
RV = "connect:token_revoked"  # removed: the link no longer connects
AUD = "connect:token_bad_audience"  # an ops token is not a session link

ROLES = ("therapist", "participant", "waiting", "unjoined", "removed", "ops")

# --- valid payloads; "@therapist" etc. are replaced by that member's id ---------------

OFFER_SDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
# The smallest offer the relay accepts: one Opus audio section (an aiortc offer without
# its candidates; the leg never connects, which the matrix does not need).
RELAY_OFFER_SDP = (
    "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=sendrecv\r\na=mid:0\r\n"
    "a=rtcp-mux\r\na=rtpmap:96 opus/48000/2\r\na=ice-ufrag:6LZF\r\n"
    "a=ice-pwd:zKkOWlqNHlELX5wQuXEyH8\r\na=fingerprint:sha-256 "
    "C3:7D:C8:FF:10:53:90:A0:2F:E6:72:66:C0:D8:7F:78:04:84:F1:17:3A:30:48:29:88:D7:E9:86:A5:"
    "70:3C:29\r\na=setup:actpass\r\n"
)

PAYLOADS: dict[E, dict[str, Any]] = {
    E.SESSION_JOIN: {"resume": True},
    E.SESSION_LEAVE: {},
    E.MEDIA_STATE: {"audio": False, "video": True},
    # "@peer": the therapist signals the participant; everyone else signals the therapist.
    E.SIGNAL_DESCRIPTION: {"to": "@peer", "description": {"type": "offer", "sdp": OFFER_SDP}},
    E.SIGNAL_CANDIDATE: {"to": "@peer", "candidate": None},
    E.RELAY_OFFER: {"sdp": RELAY_OFFER_SDP},
    E.RELAY_ANSWER: {"sdp": OFFER_SDP},
    E.MEDIA_CONNECTED: {},
    E.STATS_REPORT: {"rtt_ms": 40.0, "loss_pct": 0.0, "connected": True},
    E.LOBBY_ADMIT: {"member": "@waiting"},
    E.LOBBY_DENY: {"member": "@waiting"},
    E.LOBBY_SEND_BACK: {"member": "@participant"},
    E.MODERATION_MUTE: {"member": "@participant"},
    E.MODERATION_MUTE_ALL: {"keep": None},
    E.MODERATION_STOP_VIDEO: {"member": "@participant"},
    E.MODERATION_REMOVE: {"member": "@participant"},
    E.ROOM_LOCK: {"locked": True},
    E.ROOM_END: {},
    E.FLOOR_MODE: {"mode": "hand_queue"},
    E.FLOOR_SETTINGS: {
        "queue_policy": "first_come",
        "auto_advance": False,
        "turn_limit_s": 90.0,
        "go_around_turn_s": 60.0,
        "warn_at_fraction": 0.75,
        "on_turn_limit": "advance",
    },
    E.FLOOR_RAISE_HAND: {},
    E.FLOOR_LOWER_HAND: {},
    E.FLOOR_GRANT_NEXT: {},
    E.FLOOR_GIVE: {"member": "@participant"},
    E.FLOOR_INVITE: {"member": "@participant"},
    E.FLOOR_YIELD: {},
    E.FLOOR_PASS: {},
    E.FLOOR_END_TURN: {},
    E.FLOOR_SKIP: {"member": "@participant"},
    E.FLOOR_EXTEND: {"seconds": 30.0},
    E.TALK_REPORT: {},
    E.CHAT_SEND: {"text": "Running five minutes late"},
    E.CHAT_MEMBERS: {"allowed": False},
    E.CHAT_STATE: {},
    E.SCREEN_START: {},
    E.SCREEN_STOP: {},
    E.SCREEN_ALLOW: {"member": "@participant", "allowed": True},
    E.CHECKIN_STATE: {},
    E.CHECKIN_SHARE: {"location": "Home", "contact": "Jordan, 555-0142"},
    E.NET_PING: {},
    E.NET_ICE: {},
    # Reaches the probe (an offer without a data channel): authorization, not media.
    E.NET_PROBE: {"sdp": "v=0"},
}

# --- floor setups, run by the therapist and the participant before the command ---------

Step = tuple[str, E, dict[str, Any]]  # (who, event, payload)

SETUPS: dict[str, tuple[Step, ...]] = {
    "open": (),
    "hand_queue": (("therapist", E.FLOOR_MODE, {"mode": "hand_queue"}),),
    "hand_raised": (
        ("therapist", E.FLOOR_MODE, {"mode": "hand_queue"}),
        ("participant", E.FLOOR_RAISE_HAND, {}),
    ),
    "directed": (("therapist", E.FLOOR_MODE, {"mode": "directed"}),),
    "p_has_floor": (
        ("therapist", E.FLOOR_MODE, {"mode": "directed"}),
        ("therapist", E.FLOOR_GIVE, {"member": "@participant"}),
    ),
    # The only admitted participant gets the first go-around turn at once.
    "go_around": (("therapist", E.FLOOR_MODE, {"mode": "go_around"}),),
    "share_allowed": (("therapist", E.SCREEN_ALLOW, {"member": "@participant", "allowed": True}),),
    "therapist_shares": (("therapist", E.SCREEN_START, {}),),
    # The therapist and the participant have a leg to the room's relay (never connected).
    "relay_legs": (
        ("therapist", E.RELAY_OFFER, {"sdp": RELAY_OFFER_SDP}),
        ("participant", E.RELAY_OFFER, {"sdp": RELAY_OFFER_SDP}),
    ),
}

# --- the policy ------------------------------------------------------------------------

Cells = tuple[str, str, str, str, str, str]

MATRIX: dict[tuple[E, str], Cells] = {
    # (event, setup):                 therapist     participant   waiting       unjoined,
    #                                                                           removed, ops
    # session and media: every member may do these for itself, waiting or not
    (E.SESSION_JOIN, "open"): (OK, OK, OK, OK, RV, AUD),
    (E.SESSION_LEAVE, "open"): (OK, OK, OK, NJ, RV, AUD),
    (E.MEDIA_STATE, "open"): (OK, OK, OK, NJ, RV, AUD),
    (E.MEDIA_CONNECTED, "open"): (OK, OK, OK, NJ, RV, AUD),
    (E.STATS_REPORT, "open"): (OK, OK, OK, NJ, RV, AUD),
    # P2P signaling is for individual rooms; a group room uses the relay instead
    (E.SIGNAL_DESCRIPTION, "open"): (NA, NA, NA, NJ, RV, AUD),
    (E.SIGNAL_CANDIDATE, "open"): (NA, NA, NA, NJ, RV, AUD),
    # the relay leg: admitted members only (answering when the relay asked nothing is a
    # relay-state refusal, `invalid_sdp`)
    (E.RELAY_OFFER, "open"): (OK, OK, WT, NJ, RV, AUD),
    (E.RELAY_ANSWER, "open"): (NJ, NJ, WT, NJ, RV, AUD),
    (E.RELAY_ANSWER, "relay_legs"): ("invalid_sdp", "invalid_sdp", WT, NJ, RV, AUD),
    # waiting room and moderation: therapists only
    (E.LOBBY_ADMIT, "open"): (OK, NA, WT, NJ, RV, AUD),
    (E.LOBBY_DENY, "open"): (OK, NA, WT, NJ, RV, AUD),
    (E.LOBBY_SEND_BACK, "open"): (OK, NA, WT, NJ, RV, AUD),
    (E.MODERATION_MUTE, "open"): (OK, NA, WT, NJ, RV, AUD),
    (E.MODERATION_MUTE_ALL, "open"): (OK, NA, WT, NJ, RV, AUD),
    (E.MODERATION_STOP_VIDEO, "open"): (OK, NA, WT, NJ, RV, AUD),
    (E.MODERATION_REMOVE, "open"): (OK, NA, WT, NJ, RV, AUD),
    (E.ROOM_LOCK, "open"): (OK, NA, WT, NJ, RV, AUD),
    (E.ROOM_END, "open"): (OK, NA, WT, NJ, RV, AUD),
    (E.TALK_REPORT, "open"): (OK, NA, NA, NJ, RV, AUD),
    # chat: admitted members write; therapists turn members' chat off; all seats may ask
    (E.CHAT_SEND, "open"): (OK, OK, WT, NJ, RV, AUD),
    (E.CHAT_MEMBERS, "open"): (OK, NA, WT, NJ, RV, AUD),
    (E.CHAT_STATE, "open"): (OK, OK, OK, NJ, RV, AUD),
    # screen share: therapists always, a participant once allowed; one share per room;
    # the sharer or a therapist stops it
    (E.SCREEN_START, "open"): (OK, "screen_share_not_allowed", WT, NJ, RV, AUD),
    (E.SCREEN_START, "share_allowed"): (OK, OK, WT, NJ, RV, AUD),
    (E.SCREEN_START, "therapist_shares"): (OK, "screen_share_not_allowed", WT, NJ, RV, AUD),
    (E.SCREEN_STOP, "open"): ("not_sharing", "not_sharing", WT, NJ, RV, AUD),
    (E.SCREEN_STOP, "therapist_shares"): (OK, NA, WT, NJ, RV, AUD),
    (E.SCREEN_ALLOW, "open"): (OK, NA, WT, NJ, RV, AUD),
    # emergency information: individual rooms only; asked before joining
    (E.CHECKIN_STATE, "open"): (OK, OK, OK, OK, RV, AUD),
    (E.CHECKIN_SHARE, "open"): ("no_checkin", "no_checkin", "no_checkin", NJ, RV, AUD),
    # the pre-join connection check: any authenticated connection, before joining too
    (E.NET_PING, "open"): (OK, OK, OK, OK, RV, AUD),
    (E.NET_ICE, "open"): (OK, OK, OK, OK, RV, AUD),
    (E.NET_PROBE, "open"): ("invalid_sdp", "invalid_sdp", "invalid_sdp", "invalid_sdp", RV, AUD),
    # floor control: therapists only
    (E.FLOOR_MODE, "open"): (OK, NA, WT, NJ, RV, AUD),
    (E.FLOOR_SETTINGS, "open"): (OK, NA, WT, NJ, RV, AUD),
    (E.FLOOR_GRANT_NEXT, "hand_raised"): (OK, NA, WT, NJ, RV, AUD),
    (E.FLOOR_GIVE, "directed"): (OK, NA, WT, NJ, RV, AUD),
    (E.FLOOR_INVITE, "hand_queue"): (OK, NA, WT, NJ, RV, AUD),
    (E.FLOOR_END_TURN, "p_has_floor"): (OK, NA, WT, NJ, RV, AUD),
    (E.FLOOR_EXTEND, "p_has_floor"): (OK, NA, WT, NJ, RV, AUD),
    (E.FLOOR_SKIP, "go_around"): (OK, NA, WT, NJ, RV, AUD),
    # ... the same commands where the floor state refuses: the capability check came first
    (E.FLOOR_GRANT_NEXT, "open"): ("no_floor_in_open_mode", NA, WT, NJ, RV, AUD),
    (E.FLOOR_GRANT_NEXT, "hand_queue"): ("queue_empty", NA, WT, NJ, RV, AUD),
    (E.FLOOR_GIVE, "open"): ("no_floor_in_open_mode", NA, WT, NJ, RV, AUD),
    (E.FLOOR_INVITE, "p_has_floor"): ("floor_taken", NA, WT, NJ, RV, AUD),
    (E.FLOOR_INVITE, "go_around"): ("go_around_in_progress", NA, WT, NJ, RV, AUD),
    (E.FLOOR_END_TURN, "directed"): ("no_floor_holder", NA, WT, NJ, RV, AUD),
    (E.FLOOR_EXTEND, "open"): ("no_floor_in_open_mode", NA, WT, NJ, RV, AUD),
    (E.FLOOR_SKIP, "open"): ("not_in_go_around_mode", NA, WT, NJ, RV, AUD),
    # hands and turns: participants only (therapists' audio is never gated)
    (E.FLOOR_RAISE_HAND, "hand_queue"): (NA, OK, WT, NJ, RV, AUD),
    (E.FLOOR_LOWER_HAND, "hand_raised"): (NA, OK, WT, NJ, RV, AUD),
    (E.FLOOR_YIELD, "p_has_floor"): (NA, OK, WT, NJ, RV, AUD),
    (E.FLOOR_PASS, "go_around"): (NA, OK, WT, NJ, RV, AUD),
    # ... where the floor state refuses
    (E.FLOOR_RAISE_HAND, "p_has_floor"): (NA, "holds_floor", WT, NJ, RV, AUD),
    (E.FLOOR_RAISE_HAND, "hand_raised"): (NA, "hand_already_raised", WT, NJ, RV, AUD),
    (E.FLOOR_LOWER_HAND, "open"): (NA, "not_in_queue", WT, NJ, RV, AUD),
    (E.FLOOR_YIELD, "hand_queue"): (NA, "not_floor_holder", WT, NJ, RV, AUD),
    # an invited member (or any holder) may pass; someone without the floor may not
    (E.FLOOR_PASS, "p_has_floor"): (NA, OK, WT, NJ, RV, AUD),
    (E.FLOOR_PASS, "hand_queue"): (NA, "not_floor_holder", WT, NJ, RV, AUD),
}

# Where the server does not follow the policy yet: (event, setup, role) -> what it does.
# Each is a strict xfail, so fixing the server turns it into a failure that says
# "remove me from KNOWN_GAPS".
KNOWN_GAPS: dict[tuple[E, str, str], str] = {}


def _case(event: E, setup: str, role: str, expected: str) -> Any:
    marks = []
    actual = KNOWN_GAPS.get((event, setup, role))
    if actual is not None:
        marks.append(
            pytest.mark.xfail(
                strict=True, reason=f"known gap: the server answers {actual!r}, policy {expected!r}"
            )
        )
    return pytest.param(
        event, setup, role, expected, marks=marks, id=f"{event.value}[{setup}]-{role}"
    )


CASES = [
    _case(event, setup, role, cells[ROLES.index(role)])
    for (event, setup), cells in MATRIX.items()
    for role in ROLES
]


def test_matrix_covers_every_client_event() -> None:
    assert {event for event, _ in MATRIX} == set(E)
    assert set(PAYLOADS) == set(E)
    assert {setup for _, setup in MATRIX} <= set(SETUPS)


# --- the room --------------------------------------------------------------------------


@dataclass
class GroupRoom:
    server: LiveServer
    room_id: str
    clients: dict[str, Client]
    ids: dict[str, str]

    def resolve(self, payload: dict[str, Any], sender: str) -> dict[str, Any]:
        def one(value: Any) -> Any:
            if value == "@peer":
                return self.ids["participant" if sender == "therapist" else "therapist"]
            if isinstance(value, str) and value.startswith("@"):
                return self.ids[value[1:]]
            return value

        return {key: one(value) for key, value in payload.items()}

    async def send(self, sender: str, event: E, payload: dict[str, Any]) -> Any:
        return await self.clients[sender].call(event.value, self.resolve(payload, sender))

    async def snapshot(self) -> tuple[Any, ...]:
        """What a command could change: seats, admission, moderation, lock, floor."""
        room = await self.server.app[COMPONENTS].store.get(self.room_id)
        assert room is not None
        members = tuple(
            (
                m.id,
                m.presence,
                m.admission,
                m.media,
                m.muted_by_moderator,
                m.video_stopped_by_moderator,
            )
            for m in room.members
        )
        floor = room.floor
        assert floor is not None
        return (
            room.state,
            room.locked,
            room.revoked,
            members,
            floor.mode,
            floor.holder,
            tuple(h.member for h in floor.hands),
            floor.settings,
        )


async def group_room(server: LiveServer, connect: Connector, *, unjoined: bool) -> GroupRoom:
    """Therapist, admitted participant, waiting participant (and an unjoined link)."""
    created = await server.create_room("group", ["Pat", "Wes", "Una"], admit="manual")
    links = {link["name"]: server.token_of(link["url"]) for link in created["links"]}
    therapist_link = next(link for link in created["links"] if link["role"] == "therapist")
    therapist = await connect(server, server.token_of(therapist_link["url"]))
    t_ack = await therapist.join()
    participant = await connect(server, links["Pat"])
    p_ack = await participant.join()
    assert p_ack["admission"] == "waiting"
    admitted = await therapist.call("lobby.admit", {"member": p_ack["self"]["id"]})
    assert admitted == {"ok": True}
    await participant.wait_for("lobby.admitted")
    waiting = await connect(server, links["Wes"])
    w_ack = await waiting.join()
    assert w_ack["admission"] == "waiting"
    clients = {"therapist": therapist, "participant": participant, "waiting": waiting}
    if unjoined:
        clients["unjoined"] = await connect(server, links["Una"])
    ids = {
        "therapist": t_ack["self"]["id"],
        "participant": p_ack["self"]["id"],
        "waiting": w_ack["self"]["id"],
    }
    return GroupRoom(server, created["room"], clients, ids)


async def removed_link(server: LiveServer, connect: Connector) -> str:
    """A participant admitted, then removed: its connection is closed; returns its link."""
    created = await server.create_room("group", ["Rem"], admit="manual")
    links = {link["role"]: server.token_of(link["url"]) for link in created["links"]}
    therapist = await connect(server, links["therapist"])
    await therapist.join()
    member = await connect(server, links["participant"])
    member_id = (await member.join())["self"]["id"]
    assert await therapist.call("lobby.admit", {"member": member_id}) == {"ok": True}
    await member.wait_for("lobby.admitted")
    assert await therapist.call("moderation.remove", {"member": member_id}) == {"ok": True}
    assert await member.wait_for("session.removed") == {"reason": "removed"}
    await member.wait_disconnected()
    return links["participant"]


def ops_token(server: LiveServer) -> str:
    return TokenIssuer(load_or_create(server.settings.data_dir).signing_key).issue_ops(ttl_s=600)


def outcome(ack: Any) -> str:
    assert isinstance(ack, dict), ack
    if ack.get("ok") is True:
        return OK
    assert ack.get("ok") is False, ack
    code: str = ack["error"]["code"]
    assert ack["error"]["message"], ack
    return code


# --- the matrix --------------------------------------------------------------------------


@pytest.mark.parametrize(("event", "setup", "role", "expected"), CASES)
async def test_authorization(
    live_server: LiveServer, connect: Connector, event: E, setup: str, role: str, expected: str
) -> None:
    if expected.startswith("connect:"):
        token = (
            ops_token(live_server) if role == "ops" else await removed_link(live_server, connect)
        )
        refusal = await connect.refused(live_server, token)
        assert f"connect:{refusal['code']}" == expected, refusal
        return

    room = await group_room(live_server, connect, unjoined=role == "unjoined")
    for who, step_event, step_payload in SETUPS[setup]:
        step = await room.send(who, step_event, step_payload)
        assert step.get("ok") is True, (setup, step_event, step)
    before = await room.snapshot()

    ack = await room.send(role, event, PAYLOADS[event])

    assert outcome(ack) == expected, ack
    if expected != OK:
        assert await room.snapshot() == before, "a refused command changed the room"
    if expected == OK and event is E.TALK_REPORT:
        assert {"elapsed_s", "total_speaking_s", "members"} <= set(ack["report"])


# --- identity comes from the connection, never from the payload ----------------------

SPOOFS: tuple[tuple[str, Callable[[GroupRoom], str]], ...] = (
    ("by", lambda room: room.ids["therapist"]),
    ("from", lambda room: room.ids["therapist"]),
    ("member_id", lambda room: room.ids["therapist"]),
    ("role", lambda room: "therapist"),
)


@pytest.mark.parametrize("sender", ["participant", "waiting", "therapist"])
async def test_payload_identity_cannot_be_spoofed(
    start_server: StartServer, connect: Connector, sender: str
) -> None:
    # Every event times every spoofed field is more than the default burst allows.
    server = await start_server(rate_per_s=1000.0, rate_burst=1000.0)
    room = await group_room(server, connect, unjoined=False)
    before = await room.snapshot()
    wrong: dict[str, Any] = {}
    for event, payload in PAYLOADS.items():
        for field, value in SPOOFS:
            spoofed = {**room.resolve(payload, sender), field: value(room)}
            ack = await room.clients[sender].call(event.value, spoofed)
            if outcome(ack) != "invalid_payload" or field not in ack["error"]["message"]:
                wrong[f"{event.value}+{field}"] = ack
    assert wrong == {}
    assert await room.snapshot() == before
    # The sender's connection is still usable afterwards: bad input never disconnects.
    assert room.clients[sender].connected


async def test_removed_member_is_refused_with_its_resume_token_too(
    live_server: LiveServer, connect: Connector
) -> None:
    created = await live_server.create_room("group", ["Rem"], admit="auto")
    links = {link["role"]: live_server.token_of(link["url"]) for link in created["links"]}
    therapist = await connect(live_server, links["therapist"])
    await therapist.join()
    member = await connect(live_server, links["participant"])
    ack = await member.join()
    assert ack["admission"] == "admitted"
    remove = await therapist.call("moderation.remove", {"member": ack["self"]["id"]})
    assert remove == {"ok": True}
    await member.wait_disconnected()
    for token in (links["participant"], ack["resume_token"]):
        assert (await connect.refused(live_server, token))["code"] == "token_revoked"


async def test_ops_token_opens_the_ops_namespace_only(
    live_server: LiveServer, connect: Connector
) -> None:
    """The ops refusal on "/" is about the audience: the same token works on /ops."""
    token = ops_token(live_server)
    refusal = await connect.refused(live_server, token)
    assert refusal["code"] == "token_bad_audience"
    ops = socketio.AsyncClient(reconnection=False)
    try:
        await asyncio.wait_for(
            ops.connect(
                live_server.base_url,
                namespaces=["/ops"],
                auth={"token": token},
                transports=["websocket"],
                wait_timeout=5,
            ),
            6,
        )
        assert ops.connected
    finally:
        await ops.disconnect()
