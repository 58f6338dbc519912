"""signaling.codec: domain events to wire messages (who hears it, and what it says).

Rooms are played through the real engine, so the events are the ones the engine
really emits for each command, in the order it emits them.
"""

from __future__ import annotations

from typing import Any

from rooms import commands as c
from rooms.engine import SYSTEM, apply
from rooms.events import DomainEvent, LeaveReason, MemberLeft
from rooms.floor.state import FloorMode
from rooms.roles import Role
from rooms.room import AdmitPolicy, Room, RoomKind, RoomPolicy, RoomState, new_room
from signaling.codec import Audience, Outgoing, join_command, peers_of, session_view, to_wire
from signaling.schemas import JoinPayload
from tests.signaling.fakes import T0, identity

THERAPIST = Role.THERAPIST
PARTICIPANT = Role.PARTICIPANT


def run(room: Room, *commands: c.AnyCommand) -> tuple[Room, tuple[DomainEvent, ...]]:
    """Apply commands in order; the events of the last one."""
    events: tuple[DomainEvent, ...] = ()
    for command in commands:
        room, events = apply(room, command)
    return room, events


def join(member: str, role: Role = PARTICIPANT, *, resume: bool = False, at: float = T0) -> c.Join:
    return c.Join(member, role, member.title(), at, resume=resume)


def group(admit: AdmitPolicy = AdmitPolicy.MANUAL) -> Room:
    """A group room: therapist t, participants a and b admitted, c waiting."""
    room = new_room("r1", RoomKind.GROUP, T0, RoomPolicy(admit=admit))
    room, _ = run(
        room,
        join("t", THERAPIST),
        join("a"),
        join("b"),
        join("c"),
        c.Admit("t", "a", T0),
        c.Admit("t", "b", T0),
    )
    return room


def individual() -> Room:
    room = new_room("r2", RoomKind.INDIVIDUAL, T0)
    room, _ = run(room, join("t", THERAPIST), join("p"))
    return room


def by_event(messages: list[Outgoing]) -> dict[str, list[Outgoing]]:
    grouped: dict[str, list[Outgoing]] = {}
    for message in messages:
        grouped.setdefault(str(message.event), []).append(message)
    return grouped


def wire(room: Room, events: tuple[DomainEvent, ...]) -> dict[str, list[Outgoing]]:
    return by_event(to_wire(room, events, T0 + 5))


def ids(peers: list[dict[str, Any]]) -> list[str]:
    return [peer["id"] for peer in peers]


# --- joins ---------------------------------------------------------------------------


def test_an_admitted_join_is_peer_joined_to_the_others() -> None:
    room = new_room("r2", RoomKind.INDIVIDUAL, T0)
    room, _ = run(room, join("t", THERAPIST))
    room, events = run(room, join("p"))
    [message] = to_wire(room, events, T0)
    assert str(message.event) == "peer.joined"
    assert message.audience is Audience.ROOM
    assert message.except_member == "p"
    peer = message.payload["peer"]
    assert peer == {
        "id": "p",
        "role": "participant",
        "name": "P",
        "connected": True,
        "epoch": 1,
        "media": {
            "audio": True,
            "video": True,
            "muted_by_moderator": False,
            "video_stopped_by_moderator": False,
            "audio_only": False,
        },
    }


def test_the_first_join_activates_the_room_without_a_wire_message_for_it() -> None:
    room, events = run(new_room("r2", RoomKind.INDIVIDUAL, T0), join("t", THERAPIST))
    assert [e.name for e in events] == ["room_state_changed", "member_joined"]
    assert list(wire(room, events)) == ["peer.joined"]


def test_a_waiting_join_is_only_a_lobby_state_for_moderators() -> None:
    room = group()
    room, events = run(room, join("d"))
    messages = wire(room, events)
    assert list(messages) == ["lobby.state"]
    [lobby] = messages["lobby.state"]
    assert lobby.audience is Audience.MODERATORS
    assert [(w["id"], w["name"]) for w in lobby.payload["waiting"]] == [("c", "C"), ("d", "D")]


def test_an_auto_admitted_group_join_is_peer_joined() -> None:
    room = new_room("r1", RoomKind.GROUP, T0, RoomPolicy(admit=AdmitPolicy.AUTO))
    room, events = run(room, join("t", THERAPIST), join("a"))
    messages = wire(room, events)
    assert "lobby.state" not in messages
    [joined] = messages["peer.joined"]
    assert joined.payload["peer"]["id"] == "a" and joined.except_member == "a"


# --- the waiting room ------------------------------------------------------------------


def test_admission_tells_the_member_who_is_already_in_the_room() -> None:
    room, events = run(group(), c.Admit("t", "c", T0 + 1))
    messages = wire(room, events)
    [admitted] = messages["lobby.admitted"]
    assert admitted.audience is Audience.MEMBER and admitted.member == "c"
    # The others already admitted, not the member itself, nobody still waiting.
    assert sorted(ids(admitted.payload["peers"])) == ["a", "b", "t"]
    assert admitted.payload["locked"] is False
    assert admitted.payload["floor"]["mode"] == "open"
    [joined] = messages["peer.joined"]
    assert joined.audience is Audience.ROOM and joined.except_member == "c"
    assert joined.payload["peer"]["id"] == "c"
    [lobby] = messages["lobby.state"]
    assert lobby.payload == {"waiting": []}


def test_admission_peers_leave_out_members_still_waiting_and_those_who_left() -> None:
    room = group()
    room, _ = run(room, join("d"), c.Leave("b", T0 + 1))
    room, events = run(room, c.Admit("t", "d", T0 + 2))
    [admitted] = wire(room, events)["lobby.admitted"]
    assert sorted(ids(admitted.payload["peers"])) == ["a", "t"]


def test_admission_of_a_locked_room_says_it_is_locked() -> None:
    room, _ = run(group(), c.LockRoom("t", True, T0))
    room, events = run(room, c.Admit("t", "c", T0 + 1))
    [admitted] = wire(room, events)["lobby.admitted"]
    assert admitted.payload["locked"] is True


def test_send_back_tells_the_member_and_the_room() -> None:
    room, events = run(group(), c.SendBack("t", "a", T0 + 1))
    messages = wire(room, events)
    [sent_back] = messages["lobby.sent_back"]
    assert (sent_back.audience, sent_back.member, sent_back.payload) == (Audience.MEMBER, "a", {})
    [left] = messages["peer.left"]
    assert left.payload == {"id": "a", "reason": "sent_back"}
    assert left.audience is Audience.ROOM and left.except_member == "a"
    [lobby] = messages["lobby.state"]
    assert sorted(w["id"] for w in lobby.payload["waiting"]) == ["a", "c"]


def test_deny_removes_the_waiting_member_without_telling_the_room() -> None:
    room, events = run(group(), c.Deny("t", "c", T0 + 1))
    messages = wire(room, events)
    [removed] = messages["session.removed"]
    assert (removed.audience, removed.member, removed.payload) == (
        Audience.MEMBER,
        "c",
        {"reason": "denied"},
    )
    assert "peer.left" not in messages
    assert messages["lobby.state"][0].payload == {"waiting": []}


# --- leaving --------------------------------------------------------------------------


def test_remove_tells_the_member_and_the_room() -> None:
    room, events = run(group(), c.Remove("t", "a", T0 + 1))
    messages = wire(room, events)
    [removed] = messages["session.removed"]
    assert (removed.member, removed.payload) == ("a", {"reason": "removed"})
    [left] = messages["peer.left"]
    assert left.payload == {"id": "a", "reason": "removed"} and left.except_member == "a"
    assert "lobby.state" not in messages


def test_removing_a_waiting_member_updates_the_waiting_room_only() -> None:
    room, events = run(group(), c.Remove("t", "c", T0 + 1))
    messages = wire(room, events)
    assert messages["session.removed"][0].member == "c"
    assert "peer.left" not in messages
    assert messages["lobby.state"][0].payload == {"waiting": []}


def test_leave_is_peer_left_with_reason_left() -> None:
    room, events = run(individual(), c.Leave("p", T0 + 1))
    [left] = to_wire(room, events, T0)
    assert (str(left.event), left.payload, left.except_member) == (
        "peer.left",
        {"id": "p", "reason": "left"},
        "p",
    )


def test_grace_expiry_is_peer_left_with_reason_timeout() -> None:
    room, _ = run(individual(), c.Disconnect("p", T0 + 1))
    room, events = run(room, c.Tick(T0 + 1 + room.policy.grace_s))
    [left] = to_wire(room, events, T0)
    assert left.payload == {"id": "p", "reason": "timeout"}


def test_a_waiting_member_who_leaves_only_changes_the_waiting_room() -> None:
    room, events = run(group(), c.Leave("c", T0 + 1))
    assert list(wire(room, events)) == ["lobby.state"]


def test_every_leave_reason_of_an_admitted_member_reaches_the_room() -> None:
    room = individual()
    member = room.require_member("p")
    for reason in LeaveReason:
        messages = by_event(to_wire(room, (MemberLeft(member, reason),), T0))
        [left] = messages["peer.left"]
        assert left.payload == {"id": "p", "reason": reason.value}
        told = "session.removed" in messages
        assert told is (reason in (LeaveReason.REMOVED, LeaveReason.DENIED)), reason


# --- the end of a room ---------------------------------------------------------------


def test_ending_a_room_tells_the_room_and_each_waiting_member() -> None:
    room, events = run(group(), c.EndRoom("t", T0 + 9))
    messages = wire(room, events)
    room_wide = [m for m in messages["session.ended"] if m.audience is Audience.ROOM]
    assert [m.payload for m in room_wide] == [{"reason": "ended"}]
    # The waiting member is in no room channel: it is told on its own.
    waiting = [m for m in messages["session.ended"] if m.audience is Audience.MEMBER]
    assert [(m.member, m.payload) for m in waiting] == [("c", {"reason": "ended"})]
    left = {m.payload["id"]: m.payload["reason"] for m in messages["peer.left"]}
    assert left == {"t": "ended", "a": "ended", "b": "ended"}
    assert messages["lobby.state"][0].payload == {"waiting": []}


def test_a_system_end_is_the_same_on_the_wire() -> None:
    room, events = run(group(), c.EndRoom(SYSTEM, T0 + 9))
    assert room.state is RoomState.ENDED
    assert {m.member for m in wire(room, events)["session.ended"]} == {None, "c"}


def test_expiry_is_session_ended_with_reason_expired() -> None:
    room = new_room("r3", RoomKind.INDIVIDUAL, T0)
    room, events = run(room, c.Tick(T0 + room.policy.unused_expiry_s))
    [ended] = to_wire(room, events, T0)
    assert (str(ended.event), ended.audience, ended.payload) == (
        "session.ended",
        Audience.ROOM,
        {"reason": "expired"},
    )


# --- presence, media, moderation, floor -------------------------------------------------


def test_disconnect_and_resume_of_an_admitted_member() -> None:
    room, events = run(individual(), c.Disconnect("p", T0 + 1))
    [dropped] = to_wire(room, events, T0)
    assert (str(dropped.event), dropped.payload, dropped.except_member) == (
        "peer.disconnected",
        {"id": "p"},
        "p",
    )
    room, events = run(room, join("p", resume=True, at=T0 + 2))
    [back] = to_wire(room, events, T0)
    assert (str(back.event), back.payload, back.except_member) == (
        "peer.reconnected",
        {"id": "p"},
        "p",
    )


def test_presence_of_a_waiting_member_is_not_broadcast() -> None:
    room, events = run(group(), c.Disconnect("c", T0 + 1))
    assert to_wire(room, events, T0) == []
    room, events = run(room, join("c", resume=True, at=T0 + 2))
    assert to_wire(room, events, T0) == []


def test_a_second_tab_replaces_the_first() -> None:
    room, events = run(individual(), join("p", at=T0 + 1))
    messages = wire(room, events)
    [replaced] = messages["session.replaced"]
    assert (replaced.audience, replaced.member, replaced.payload) == (Audience.MEMBER, "p", {})
    [joined] = messages["peer.joined"]
    assert joined.payload["peer"]["epoch"] == 2


def test_media_changes_go_to_the_whole_room() -> None:
    room, events = run(individual(), c.SetMedia("p", False, True, T0 + 1))
    [media] = to_wire(room, events, T0)
    assert str(media.event) == "peer.media"
    assert media.audience is Audience.ROOM and media.except_member is None
    assert media.payload == {
        "id": "p",
        "audio": False,
        "video": True,
        "muted_by_moderator": False,
        "video_stopped_by_moderator": False,
        "audio_only": False,
    }


def test_moderation_is_peer_media_with_the_moderator_flags() -> None:
    room, events = run(group(), c.Mute("t", "a", T0 + 1))
    [media] = wire(room, events)["peer.media"]
    assert media.payload["id"] == "a" and media.payload["muted_by_moderator"] is True
    room, events = run(room, c.StopVideo("t", "a", T0 + 2))
    [media] = wire(room, events)["peer.media"]
    assert media.payload["video_stopped_by_moderator"] is True


def test_lock_goes_to_the_room() -> None:
    room, events = run(group(), c.LockRoom("t", True, T0 + 1))
    [locked] = to_wire(room, events, T0)
    assert (str(locked.event), locked.audience, locked.payload) == (
        "room.locked",
        Audience.ROOM,
        {"locked": True},
    )


def test_floor_changes_carry_the_floor_and_its_events() -> None:
    room, _ = run(group(), c.SetFloorMode("t", FloorMode.HAND_QUEUE, T0 + 1))
    room, events = run(room, c.RaiseHand("a", T0 + 2))
    [floor] = wire(room, events)["floor.state"]
    assert floor.audience is Audience.ROOM
    assert floor.payload["floor"]["mode"] == "hand_queue"
    assert floor.payload["floor"]["queue"] == ["a"]
    names = [e["name"] for e in floor.payload["events"]]
    assert "hand_raised" in names


# --- the join ack's view, and identity -----------------------------------------------


def test_session_view_of_a_waiting_member_shows_nobody() -> None:
    room = group()
    view = session_view(room, room.require_member("c"), T0)
    assert view["admission"] == "waiting" and view["peers"] == []
    assert "floor" not in view and "waiting" not in view
    assert view["locked"] is False


def test_session_view_of_a_therapist_has_the_waiting_room_and_floor() -> None:
    room = group()
    view = session_view(room, room.require_member("t"), T0)
    assert sorted(ids(view["peers"])) == ["a", "b"]
    assert [w["id"] for w in view["waiting"]] == ["c"]
    assert view["floor"]["mode"] == "open"


def test_individual_session_view_has_no_group_fields() -> None:
    room = individual()
    view = session_view(room, room.require_member("p"), T0)
    assert set(view) == {"admission", "peers", "media", "screen"}
    assert view["screen"] == {"sharer": None, "allowed": []}
    assert ids(view["peers"]) == ["t"]


def test_peers_of_leaves_out_the_member_itself() -> None:
    room = group()
    assert sorted(ids(peers_of(room, "a"))) == ["b", "t"]


def test_the_join_command_takes_identity_from_the_connection() -> None:
    who = identity("r1", "p_42", role=Role.THERAPIST, name="Dr. Who")
    command = join_command(who, JoinPayload(resume=True), T0)
    assert command == c.Join("p_42", Role.THERAPIST, "Dr. Who", T0, resume=True)
