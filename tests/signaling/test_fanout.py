"""signaling.fanout.Fanout against a fake socket server that keeps channels for real."""

from __future__ import annotations

import asyncio

from rooms import commands as c
from rooms.engine import apply
from rooms.events import DomainEvent
from rooms.roles import Role
from rooms.room import Room, RoomKind, new_room
from signaling.connections import Connection, ConnectionRegistry
from signaling.fanout import (
    Fanout,
    SignalingObserver,
    member_channel,
    moderators_channel,
    room_channel,
)
from signaling.rate_limit import TokenBucket
from tests.signaling.fakes import T0, FakeClock, FakeSignalingServer, identity


class CountingObserver(SignalingObserver):
    def __init__(self) -> None:
        self.out: list[str] = []

    def message_out(self, event: str) -> None:
        self.out.append(str(event))


class Harness:
    def __init__(self) -> None:
        self.sio = FakeSignalingServer()
        self.connections = ConnectionRegistry()
        self.observer = CountingObserver()
        self.fanout = Fanout(self.sio, self.connections, self.observer, FakeClock())

    def connect(
        self, sid: str, member: str, role: Role = Role.PARTICIPANT, room: str = "r1"
    ) -> Connection:
        connection = Connection(
            sid=sid, identity=identity(room, member, role=role), bucket=TokenBucket(20.0, 60.0)
        )
        self.connections.add(connection)
        self.sio.connected.add(sid)
        return connection

    def channels_of(self, sid: str) -> set[str]:
        return {name for name, sids in self.sio.channels.items() if sid in sids}


def play(room: Room, *commands: c.AnyCommand) -> tuple[Room, tuple[DomainEvent, ...]]:
    events: tuple[DomainEvent, ...] = ()
    for command in commands:
        room, events = apply(room, command)
    return room, events


def group_room() -> Room:
    room = new_room("r1", RoomKind.GROUP, T0)
    room, _ = play(
        room,
        c.Join("t", Role.THERAPIST, "T", T0),
        c.Join("a", Role.PARTICIPANT, "A", T0),
        c.Join("w", Role.PARTICIPANT, "W", T0),
        c.Admit("t", "a", T0),
    )
    return room


async def seated_group() -> tuple[Harness, Room]:
    """t (therapist) and a (admitted) and w (waiting), each on its own connection."""
    h = Harness()
    await h.fanout.seat(h.connect("sid-t", "t", Role.THERAPIST), admitted=True)
    await h.fanout.seat(h.connect("sid-a", "a"), admitted=True)
    await h.fanout.seat(h.connect("sid-w", "w"), admitted=False)
    h.sio.clear()
    return h, group_room()


# --- channels on seat ---------------------------------------------------------------


async def test_an_admitted_member_enters_its_own_and_the_room_channel() -> None:
    h = Harness()
    connection = h.connect("sid-a", "a")
    await h.fanout.seat(connection, admitted=True)
    assert h.channels_of("sid-a") == {member_channel("r1", "a"), room_channel("r1")}
    assert h.connections.holds_seat(connection) and connection.joined


async def test_a_waiting_member_enters_only_its_own_channel() -> None:
    h = Harness()
    await h.fanout.seat(h.connect("sid-w", "w"), admitted=False)
    assert h.channels_of("sid-w") == {member_channel("r1", "w")}


async def test_a_therapist_also_enters_the_moderators_channel() -> None:
    h = Harness()
    await h.fanout.seat(h.connect("sid-t", "t", Role.THERAPIST), admitted=True)
    assert h.channels_of("sid-t") == {
        member_channel("r1", "t"),
        room_channel("r1"),
        moderators_channel("r1"),
    }


async def test_a_second_seat_drops_the_stale_connection() -> None:
    h = Harness()
    old = h.connect("sid-old", "a")
    await h.fanout.seat(old, admitted=True)
    new = h.connect("sid-new", "a")
    await h.fanout.seat(new, admitted=True)
    assert h.channels_of("sid-old") == set()
    assert ("sid-old",) in h.sio.calls_named("disconnect")
    assert old.joined is False
    assert h.connections.holds_seat(new) and not h.connections.holds_seat(old)
    assert h.channels_of("sid-new") == {member_channel("r1", "a"), room_channel("r1")}


async def test_seating_the_same_connection_twice_drops_nothing() -> None:
    h = Harness()
    connection = h.connect("sid-a", "a")
    await h.fanout.seat(connection, admitted=True)
    await h.fanout.seat(connection, admitted=True)
    assert h.sio.calls_named("disconnect") == []


# --- channels follow admission -------------------------------------------------------


async def test_admission_moves_the_connection_into_the_room_channel() -> None:
    h, room = await seated_group()
    room, events = play(room, c.Admit("t", "w", T0 + 1))
    await h.fanout.publish(room, events)
    assert room_channel("r1") in h.channels_of("sid-w")
    # lobby.admitted reaches w alone; peer.joined reaches the others, not w.
    assert h.sio.events_to("sid-w") == ["lobby.admitted"]
    assert h.sio.received("sid-w", "lobby.admitted")[0]["peers"]
    assert "peer.joined" in h.sio.events_to("sid-a")
    assert "peer.joined" in h.sio.events_to("sid-t")
    assert "lobby.state" in h.sio.events_to("sid-t")
    assert "lobby.state" not in h.sio.events_to("sid-a")


async def test_send_back_moves_the_connection_out_of_the_room_channel() -> None:
    h, room = await seated_group()
    room, events = play(room, c.SendBack("t", "a", T0 + 1))
    await h.fanout.publish(room, events)
    assert h.channels_of("sid-a") == {member_channel("r1", "a")}
    assert h.sio.events_to("sid-a") == ["lobby.sent_back"]
    assert h.sio.received("sid-t", "peer.left") == [{"id": "a", "reason": "sent_back"}]


async def test_admitting_a_member_with_no_connection_here_moves_nothing() -> None:
    h = Harness()
    await h.fanout.seat(h.connect("sid-t", "t", Role.THERAPIST), admitted=True)
    h.sio.clear()
    room, events = play(group_room(), c.Admit("t", "w", T0 + 1))
    await h.fanout.publish(room, events)
    assert h.sio.calls_named("enter_room") == []


# --- who hears what -------------------------------------------------------------------


async def test_room_messages_skip_the_subject_and_miss_the_waiting_room() -> None:
    h, room = await seated_group()
    room, events = play(room, c.Leave("a", T0 + 1))
    await h.fanout.publish(room, events)
    assert h.sio.received("sid-t", "peer.left") == [{"id": "a", "reason": "left"}]
    assert h.sio.events_to("sid-a") == []
    assert h.sio.events_to("sid-w") == []
    [emit] = [call for call in h.sio.calls_named("emit") if call[0] == "peer.left"]
    assert emit[2:] == (room_channel("r1"), "sid-a")


async def test_every_message_sent_is_counted() -> None:
    h, room = await seated_group()
    room, events = play(room, c.Admit("t", "w", T0 + 1))
    await h.fanout.publish(room, events)
    assert sorted(h.observer.out) == sorted(str(call[0]) for call in h.sio.calls_named("emit"))


# --- disconnects ------------------------------------------------------------------------


async def test_session_replaced_disconnects_the_old_connection() -> None:
    h, room = await seated_group()
    room, events = play(room, c.Join("a", Role.PARTICIPANT, "A", T0 + 1))
    await h.fanout.publish(room, events)
    assert h.sio.events_to("sid-a") == ["session.replaced"]
    assert ("sid-a",) in h.sio.calls_named("disconnect")
    assert h.channels_of("sid-a") == set()
    assert h.connections.seat_holder("r1", "a") is None


async def test_session_removed_disconnects_the_member() -> None:
    h, room = await seated_group()
    room, events = play(room, c.Remove("t", "a", T0 + 1))
    await h.fanout.publish(room, events)
    assert h.sio.received("sid-a", "session.removed") == [{"reason": "removed"}]
    assert h.sio.calls_named("disconnect") == [("sid-a",)]
    assert h.connections.seat_holder("r1", "a") is None
    assert h.sio.received("sid-t", "peer.left") == [{"id": "a", "reason": "removed"}]


async def test_denied_member_is_told_then_disconnected() -> None:
    h, room = await seated_group()
    room, events = play(room, c.Deny("t", "w", T0 + 1))
    await h.fanout.publish(room, events)
    assert h.sio.received("sid-w", "session.removed") == [{"reason": "denied"}]
    assert h.sio.calls_named("disconnect") == [("sid-w",)]
    assert h.sio.events_to("sid-a") == []


async def test_an_ended_room_tells_everyone_and_closes_its_channels() -> None:
    h, room = await seated_group()
    room, events = play(room, c.EndRoom("t", T0 + 1))
    await h.fanout.publish(room, events)
    for sid in ("sid-t", "sid-a", "sid-w"):
        assert h.sio.received(sid, "session.ended") == [{"reason": "ended"}], sid
    assert h.sio.calls_named("close_room") == [(room_channel("r1"),), (moderators_channel("r1"),)]
    # Ending is not a removal: pages stay connected to show the end.
    assert h.sio.calls_named("disconnect") == []


# --- pushes from the process ------------------------------------------------------------


async def test_pushes_reach_the_right_channels() -> None:
    h, _ = await seated_group()
    await h.fanout.send_to_member("r1", "a", "quality.update", {"level": "good"})
    await h.fanout.send_to_moderators("r1", "media.gaps", {"gaps": []})
    await h.fanout.emit_to_sid("sid-w", "error", {"code": "x"})
    assert h.sio.events_to("sid-a") == ["quality.update"]
    assert h.sio.events_to("sid-t") == ["media.gaps"]
    assert h.sio.events_to("sid-w") == ["error"]


async def test_announce_speaking_goes_to_the_room_from_sync_code() -> None:
    h, _ = await seated_group()
    h.fanout.announce_speaking("r1", "a", True)
    for _ in range(3):
        await asyncio.sleep(0)
    assert h.sio.received("sid-t", "floor.speaking") == [{"id": "a", "speaking": True}]
    assert h.sio.received("sid-a", "floor.speaking") == [{"id": "a", "speaking": True}]
    assert h.sio.events_to("sid-w") == []
