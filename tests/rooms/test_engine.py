"""Unit tests for the pure room engine: (room, command) -> (new room, events)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from rooms.commands import Admit, Disconnect, EndRoom, Join, Leave, Remove, SetMedia, Tick
from rooms.engine import SYSTEM, apply
from rooms.errors import DomainError
from rooms.events import (
    EventName,
    LeaveReason,
    MediaChanged,
    MemberDisconnected,
    MemberJoined,
    MemberLeft,
    MemberReconnected,
    MemberReplaced,
    Outcome,
    RoomStateChanged,
)
from rooms.member import Admission, MediaState, Member, Presence
from rooms.roles import Role
from rooms.room import (
    ALLOWED_TRANSITIONS,
    AdmitPolicy,
    Room,
    RoomKind,
    RoomPolicy,
    RoomState,
    new_room,
)

T0 = 1_000.0
GRACE = 30.0
IDLE = 600.0
UNUSED = 3_600.0
POLICY = RoomPolicy(grace_s=GRACE, max_members=3, idle_expiry_s=IDLE, unused_expiry_s=UNUSED)


def make_room(kind: RoomKind = RoomKind.INDIVIDUAL, **kw: object) -> Room:
    kw.setdefault("policy", POLICY)
    return Room(id="r1", kind=kind, created_at=T0, **kw)  # type: ignore[arg-type]


def join(
    room: Room,
    member_id: str,
    role: Role = Role.PARTICIPANT,
    now: float = T0,
    *,
    resume: bool = False,
    name: str | None = None,
) -> Outcome:
    return apply(room, Join(member_id, role, name or f"Name {member_id}", now, resume=resume))


def joined(room: Room, *specs: tuple[str, Role], now: float = T0) -> Room:
    for member_id, role in specs:
        room, _ = join(room, member_id, role, now)
    return room


def seated_ids(room: Room) -> list[str]:
    return [m.id for m in room.seated()]


def refused(room: Room, command: object, code: str) -> DomainError:
    with pytest.raises(DomainError) as info:
        apply(room, command)  # type: ignore[arg-type]
    assert info.value.code == code
    assert info.value.message
    return info.value


# --------------------------------------------------------------------- join


def test_first_join_activates_room_and_seats_member() -> None:
    room = make_room()
    new, events = join(room, "t", Role.THERAPIST, T0 + 5)

    assert new.state is RoomState.ACTIVE
    assert [type(e) for e in events] == [RoomStateChanged, MemberJoined]
    assert events[0] == RoomStateChanged(RoomState.CREATED, RoomState.ACTIVE)
    member = new.member("t")
    assert member is not None
    assert events[1] == MemberJoined(member)
    assert member.role is Role.THERAPIST
    assert member.name == "Name t"
    assert member.presence is Presence.CONNECTED
    assert member.epoch == 1
    assert member.joined_at == T0 + 5
    assert member.media == MediaState(audio=True, video=True)
    assert new.last_activity_at == T0 + 5
    # The input room is untouched: the engine is pure.
    assert room.state is RoomState.CREATED
    assert room.members == ()


def test_second_join_does_not_change_state_again() -> None:
    room = joined(make_room(), ("t", Role.THERAPIST))
    new, events = join(room, "p", Role.PARTICIPANT, T0 + 1)
    assert [type(e) for e in events] == [MemberJoined]
    assert seated_ids(new) == ["t", "p"]
    assert new.state is RoomState.ACTIVE


def test_members_keep_join_order() -> None:
    room = joined(make_room(RoomKind.GROUP), ("a", Role.PARTICIPANT), ("b", Role.PARTICIPANT))
    room, _ = apply(room, Leave("a", T0 + 1))
    room, _ = join(room, "a", now=T0 + 2)
    assert [m.id for m in room.members] == ["a", "b"]


def test_event_names_match_their_types() -> None:
    room = make_room()
    room, events = join(room, "p")
    assert [e.name for e in events] == [EventName.ROOM_STATE_CHANGED, EventName.MEMBER_JOINED]


# -------------------------------------------------------------------- leave


def test_leave_frees_the_seat_at_once() -> None:
    room = joined(make_room(), ("t", Role.THERAPIST), ("p", Role.PARTICIPANT))
    new, events = apply(room, Leave("p", T0 + 10))

    gone = new.member("p")
    assert gone is not None
    assert gone.presence is Presence.LEFT
    assert not gone.seated
    assert events == (MemberLeft(gone, LeaveReason.LEFT),)
    assert seated_ids(new) == ["t"]
    assert new.last_activity_at == T0 + 10
    assert new.state is RoomState.ACTIVE


def test_leave_frees_an_individual_seat_for_someone_else() -> None:
    room = joined(make_room(), ("t", Role.THERAPIST), ("p", Role.PARTICIPANT))
    room, _ = apply(room, Leave("p", T0 + 1))
    room, events = join(room, "p2", Role.PARTICIPANT, T0 + 2)
    assert isinstance(events[-1], MemberJoined)
    assert seated_ids(room) == ["t", "p2"]


@pytest.mark.parametrize("member_id", ["nobody", "p"])
def test_leave_of_unknown_or_departed_member_is_a_no_op(member_id: str) -> None:
    room = joined(make_room(), ("p", Role.PARTICIPANT))
    room, _ = apply(room, Leave("p", T0 + 1))
    assert apply(room, Leave(member_id, T0 + 2)) == (room, ())


def test_leave_of_a_disconnected_member_frees_the_seat() -> None:
    room = joined(make_room(), ("p", Role.PARTICIPANT))
    room, _ = apply(room, Disconnect("p", T0 + 1))
    room, events = apply(room, Leave("p", T0 + 2))
    assert [type(e) for e in events] == [MemberLeft]
    assert room.seated() == ()


# ------------------------------------------------------- disconnect / resume


def test_disconnect_holds_the_seat() -> None:
    room = joined(make_room(), ("t", Role.THERAPIST), ("p", Role.PARTICIPANT))
    new, events = apply(room, Disconnect("p", T0 + 10))

    dropped = new.member("p")
    assert dropped is not None
    assert dropped.presence is Presence.DISCONNECTED
    assert dropped.disconnected_at == T0 + 10
    assert dropped.seated
    assert events == (MemberDisconnected(dropped),)
    assert seated_ids(new) == ["t", "p"]
    assert [m.id for m in new.connected()] == ["t"]
    assert new.last_activity_at == T0 + 10


@pytest.mark.parametrize("member_id", ["nobody", "p"])
def test_disconnect_of_unknown_or_already_disconnected_member_is_a_no_op(member_id: str) -> None:
    room = joined(make_room(), ("p", Role.PARTICIPANT))
    room, _ = apply(room, Disconnect("p", T0 + 1))
    assert apply(room, Disconnect(member_id, T0 + 2)) == (room, ())


def test_disconnect_with_zero_grace_frees_the_seat_immediately() -> None:
    room = joined(make_room(policy=replace(POLICY, grace_s=0.0)), ("p", Role.PARTICIPANT))
    room, events = apply(room, Disconnect("p", T0 + 1))
    gone = room.member("p")
    assert gone is not None
    assert gone.presence is Presence.LEFT
    assert events == (MemberLeft(gone, LeaveReason.TIMEOUT),)


def test_seat_held_during_grace_blocks_an_individual_seat() -> None:
    room = joined(make_room(), ("p", Role.PARTICIPANT))
    room, _ = apply(room, Disconnect("p", T0 + 1))
    refused(room, Join("p2", Role.PARTICIPANT, "Other", T0 + 2), "seat_taken")


def test_reconnect_within_grace_resumes_the_same_seat() -> None:
    room = joined(make_room(), ("t", Role.THERAPIST), ("p", Role.PARTICIPANT))
    room, _ = apply(room, SetMedia("p", audio=False, video=True, now=T0 + 1))
    room, _ = apply(room, Disconnect("p", T0 + 10))
    new, events = join(room, "p", Role.PARTICIPANT, T0 + 10 + GRACE - 1, resume=True)

    back = new.member("p")
    assert back is not None
    assert back.presence is Presence.CONNECTED
    assert back.disconnected_at is None
    assert back.epoch == 1  # a resume keeps the peer connection: same epoch
    assert back.joined_at == T0
    assert back.media == MediaState(audio=False, video=True)
    assert events == (MemberReconnected(back),)
    assert new.last_activity_at == T0 + 10 + GRACE - 1
    # A Tick after the original grace deadline no longer removes them.
    after, tick_events = apply(new, Tick(T0 + 10 + GRACE + 5))
    assert tick_events == ()
    assert seated_ids(after) == ["t", "p"]


def test_grace_expiry_via_tick_removes_the_member() -> None:
    room = joined(make_room(), ("t", Role.THERAPIST), ("p", Role.PARTICIPANT))
    room, _ = apply(room, Disconnect("p", T0 + 10))

    still, events = apply(room, Tick(T0 + 10 + GRACE - 0.001))
    assert events == ()
    assert seated_ids(still) == ["t", "p"]

    new, events = apply(room, Tick(T0 + 10 + GRACE))
    gone = new.member("p")
    assert gone is not None
    assert gone.presence is Presence.LEFT
    assert gone.disconnected_at is None
    assert events == (MemberLeft(gone, LeaveReason.TIMEOUT),)
    assert seated_ids(new) == ["t"]
    assert new.state is RoomState.ACTIVE


def test_resume_after_grace_expiry_is_a_fresh_join() -> None:
    room = joined(make_room(), ("p", Role.PARTICIPANT))
    room, _ = apply(room, Disconnect("p", T0 + 1))
    room, _ = apply(room, Tick(T0 + 1 + GRACE))
    room, events = join(room, "p", Role.PARTICIPANT, T0 + 100, resume=True)
    member = room.member("p")
    assert member is not None
    assert [type(e) for e in events] == [MemberJoined]
    assert member.epoch == 2
    assert member.presence is Presence.CONNECTED


def test_fresh_rejoin_while_disconnected_bumps_epoch_without_replacing() -> None:
    room = joined(make_room(), ("p", Role.PARTICIPANT))
    room, _ = apply(room, Disconnect("p", T0 + 1))
    room, events = join(room, "p", Role.PARTICIPANT, T0 + 2)
    member = room.member("p")
    assert member is not None
    assert [type(e) for e in events] == [MemberJoined]
    assert member.epoch == 2
    assert member.presence is Presence.CONNECTED
    assert member.disconnected_at is None


def test_fresh_rejoin_after_leave_bumps_epoch_and_resets_media() -> None:
    room = joined(make_room(), ("p", Role.PARTICIPANT))
    room, _ = apply(room, SetMedia("p", audio=False, video=False, now=T0 + 1))
    room, _ = apply(room, Leave("p", T0 + 2))
    room, _ = join(room, "p", Role.PARTICIPANT, T0 + 3)
    room, _ = apply(room, Leave("p", T0 + 4))
    room, events = join(room, "p", Role.PARTICIPANT, T0 + 5)
    member = room.member("p")
    assert member is not None
    assert member.epoch == 3
    assert member.joined_at == T0 + 5
    assert member.media == MediaState()
    assert events == (MemberJoined(member),)
    assert len(room.members) == 1


def test_same_link_fresh_join_while_connected_replaces_then_joins() -> None:
    room = joined(make_room(), ("t", Role.THERAPIST), ("p", Role.PARTICIPANT))
    old = room.member("p")
    assert old is not None
    new, events = join(room, "p", Role.PARTICIPANT, T0 + 5)

    fresh = new.member("p")
    assert fresh is not None
    assert [type(e) for e in events] == [MemberReplaced, MemberJoined]
    assert events[0] == MemberReplaced(old)
    assert events[1] == MemberJoined(fresh)
    assert fresh.epoch == old.epoch + 1
    assert fresh.joined_at == T0 + 5
    assert seated_ids(new) == ["t", "p"]
    assert len(new.members) == 2


def test_resume_while_still_connected_keeps_epoch() -> None:
    room = joined(make_room(), ("p", Role.PARTICIPANT))
    room, events = join(room, "p", Role.PARTICIPANT, T0 + 1, resume=True)
    member = room.member("p")
    assert member is not None
    assert member.epoch == 1
    assert [type(e) for e in events] == [MemberReconnected]


# ------------------------------------------------------------ seat limits


def test_individual_room_admits_one_therapist_and_one_participant() -> None:
    room = joined(make_room(), ("t", Role.THERAPIST), ("p", Role.PARTICIPANT))
    assert {m.role for m in room.seated()} == {Role.THERAPIST, Role.PARTICIPANT}

    refused(room, Join("p2", Role.PARTICIPANT, "Third", T0 + 1), "seat_taken")
    refused(room, Join("t2", Role.THERAPIST, "Third", T0 + 1), "seat_taken")


def test_individual_second_of_a_role_is_refused_even_when_other_seat_free() -> None:
    room = joined(make_room(), ("p", Role.PARTICIPANT))
    refused(room, Join("p2", Role.PARTICIPANT, "Second", T0 + 1), "seat_taken")
    room, _ = join(room, "t", Role.THERAPIST, T0 + 1)
    assert seated_ids(room) == ["p", "t"]


def test_group_room_caps_at_max_members() -> None:
    room = make_room(RoomKind.GROUP)
    for i in range(POLICY.max_members):
        room, _ = join(room, f"m{i}", Role.PARTICIPANT if i else Role.THERAPIST, T0 + i)
    assert len(room.seated()) == POLICY.max_members
    refused(room, Join("extra", Role.PARTICIPANT, "Extra", T0 + 10), "room_full")
    # A member already seated can still re-join (it does not take a new seat).
    room, events = join(room, "m1", Role.PARTICIPANT, T0 + 11)
    assert [type(e) for e in events] == [MemberReplaced, MemberJoined]
    assert len(room.seated()) == POLICY.max_members


def test_group_room_admits_several_participants_and_therapists() -> None:
    room = joined(
        make_room(RoomKind.GROUP),
        ("t1", Role.THERAPIST),
        ("t2", Role.THERAPIST),
        ("p1", Role.PARTICIPANT),
    )
    assert seated_ids(room) == ["t1", "t2", "p1"]


def test_group_room_seat_freed_by_leave_can_be_taken() -> None:
    room = joined(
        make_room(RoomKind.GROUP),
        ("a", Role.PARTICIPANT),
        ("b", Role.PARTICIPANT),
        ("c", Role.PARTICIPANT),
    )
    room, _ = apply(room, Leave("b", T0 + 1))
    room, _ = join(room, "d", now=T0 + 2)
    assert seated_ids(room) == ["a", "c", "d"]


def test_revoked_member_cannot_join() -> None:
    room = make_room(revoked=frozenset({"p"}))
    refused(room, Join("p", Role.PARTICIPANT, "P", T0), "token_revoked")
    refused(room, Join("p", Role.PARTICIPANT, "P", T0, resume=True), "token_revoked")


def test_ops_role_cannot_join() -> None:
    refused(make_room(), Join("o", Role.OPS, "Ops", T0), "not_allowed")
    refused(make_room(RoomKind.GROUP), Join("o", Role.OPS, "Ops", T0), "not_allowed")


def test_refused_join_leaves_the_room_untouched() -> None:
    room = make_room()
    before = room
    refused(room, Join("o", Role.OPS, "Ops", T0), "not_allowed")
    assert room == before
    assert room.state is RoomState.CREATED


# ------------------------------------------------- waiting room and lock


def test_group_participant_waits_under_manual_admission() -> None:
    room = new_room("g", RoomKind.GROUP, T0, POLICY)
    room, _ = join(room, "t", Role.THERAPIST)
    room, events = join(room, "p", Role.PARTICIPANT, T0 + 1)
    member = room.member("p")
    assert member is not None
    assert member.admission is Admission.WAITING
    assert not member.admitted
    assert MemberJoined(member) in events
    therapist = room.member("t")
    assert therapist is not None and therapist.admitted


def test_group_participant_is_admitted_on_arrival_under_auto_admission() -> None:
    policy = replace(POLICY, admit=AdmitPolicy.AUTO)
    room, _ = join(new_room("g", RoomKind.GROUP, T0, policy), "p", Role.PARTICIPANT)
    member = room.member("p")
    assert member is not None and member.admitted


def test_individual_participant_is_admitted_on_arrival() -> None:
    room, _ = join(make_room(), "p", Role.PARTICIPANT)
    member = room.member("p")
    assert member is not None and member.admitted


def test_fresh_rejoin_keeps_admission_while_seated_but_not_after_leaving() -> None:
    room = new_room("g", RoomKind.GROUP, T0, POLICY)
    room = joined(room, ("t", Role.THERAPIST), ("p", Role.PARTICIPANT))
    room, _ = apply(room, Admit(by="t", member_id="p", now=T0 + 1))
    # A second tab (fresh join while seated) does not send them back to the waiting room.
    room, _ = join(room, "p", Role.PARTICIPANT, T0 + 2)
    member = room.member("p")
    assert member is not None and member.admitted and member.epoch == 2
    # Having left, they queue again.
    room, _ = apply(room, Leave("p", T0 + 3))
    room, _ = join(room, "p", Role.PARTICIPANT, T0 + 4)
    member = room.member("p")
    assert member is not None and member.admission is Admission.WAITING
    assert member.epoch == 3


def test_locked_group_refuses_new_participants_only() -> None:
    room = joined(make_room(RoomKind.GROUP), ("t", Role.THERAPIST), ("p", Role.PARTICIPANT))
    room = replace(room, locked=True)
    refused(room, Join("q", Role.PARTICIPANT, "Q", T0 + 1), "room_locked")
    # A therapist may still arrive, and a seated participant may re-join.
    room, _ = join(room, "t2", Role.THERAPIST, T0 + 1)
    room, events = join(room, "p", Role.PARTICIPANT, T0 + 2)
    assert [type(e) for e in events] == [MemberReplaced, MemberJoined]


def test_removed_member_is_revoked_and_cannot_rejoin() -> None:
    room = new_room("g", RoomKind.GROUP, T0, POLICY)
    room = joined(room, ("t", Role.THERAPIST), ("p", Role.PARTICIPANT))
    room, events = apply(room, Remove(by="t", member_id="p", now=T0 + 1))
    gone = room.member("p")
    assert gone is not None and not gone.seated
    assert MemberLeft(gone, LeaveReason.REMOVED) in events
    assert "p" in room.revoked
    refused(room, Join("p", Role.PARTICIPANT, "P", T0 + 2), "token_revoked")
    refused(room, Join("p", Role.PARTICIPANT, "P", T0 + 2, resume=True), "token_revoked")


# ----------------------------------------------------------- ended rooms


def test_end_room_removes_everyone_and_ends() -> None:
    room = joined(make_room(), ("t", Role.THERAPIST), ("p", Role.PARTICIPANT))
    room, _ = apply(room, Disconnect("p", T0 + 1))
    new, events = apply(room, EndRoom(by="t", now=T0 + 2))

    assert new.state is RoomState.ENDED
    assert new.is_over
    assert new.seated() == ()
    assert [type(e) for e in events] == [MemberLeft, MemberLeft, RoomStateChanged]
    assert all(e.reason is LeaveReason.ENDED for e in events if isinstance(e, MemberLeft))
    assert events[-1] == RoomStateChanged(RoomState.ACTIVE, RoomState.ENDED)


def test_end_unused_room() -> None:
    new, events = apply(make_room(), EndRoom(by=SYSTEM, now=T0))
    assert new.state is RoomState.ENDED
    assert events == (RoomStateChanged(RoomState.CREATED, RoomState.ENDED),)


def test_end_room_by_the_system_needs_no_member() -> None:
    room = joined(make_room(), ("p", Role.PARTICIPANT))
    room, events = apply(room, EndRoom(by=SYSTEM, now=T0 + 1))
    assert room.state is RoomState.ENDED
    assert room.seated() == ()
    assert [type(e) for e in events] == [MemberLeft, RoomStateChanged]


def _room_with_a_departed_therapist(kind: RoomKind) -> Room:
    """Seated: therapist t and participant p; "gone" was a therapist and left."""
    room, _ = join(make_room(kind), "gone", Role.THERAPIST)
    room, _ = apply(room, Leave("gone", T0 + 1))
    return joined(room, ("t", Role.THERAPIST), ("p", Role.PARTICIPANT), now=T0 + 2)


@pytest.mark.parametrize(
    ("kind", "by", "code"),
    [
        (RoomKind.INDIVIDUAL, "p", "not_allowed"),
        (RoomKind.INDIVIDUAL, "stranger", "not_joined"),
        (RoomKind.INDIVIDUAL, "gone", "not_joined"),
        # A group participant is still in the waiting room (manual admission).
        (RoomKind.GROUP, "p", "waiting"),
        (RoomKind.GROUP, "stranger", "not_joined"),
        (RoomKind.GROUP, "gone", "not_joined"),
    ],
)
def test_end_room_is_refused_to_non_moderators(kind: RoomKind, by: str, code: str) -> None:
    room = _room_with_a_departed_therapist(kind)
    before = room
    refused(room, EndRoom(by=by, now=T0 + 3), code)
    assert room == before
    assert room.state is RoomState.ACTIVE
    ended, _ = apply(room, EndRoom(by="t", now=T0 + 3))
    assert ended.state is RoomState.ENDED


def test_end_room_by_a_disconnected_therapist_is_allowed() -> None:
    room = joined(make_room(), ("t", Role.THERAPIST), ("p", Role.PARTICIPANT))
    room, _ = apply(room, Disconnect("t", T0 + 1))
    room, _ = apply(room, EndRoom(by="t", now=T0 + 2))
    assert room.state is RoomState.ENDED


def _ended_room() -> Room:
    room = joined(make_room(), ("t", Role.THERAPIST), ("p", Role.PARTICIPANT))
    room, _ = apply(room, EndRoom(by="t", now=T0 + 1))
    return room


def test_ended_room_refuses_join() -> None:
    room = _ended_room()
    refused(room, Join("t", Role.THERAPIST, "T", T0 + 2), "room_ended")
    refused(room, Join("t", Role.THERAPIST, "T", T0 + 2, resume=True), "room_ended")
    refused(room, Join("x", Role.PARTICIPANT, "X", T0 + 2), "room_ended")


def test_ended_room_refuses_set_media() -> None:
    refused(_ended_room(), SetMedia("t", audio=False, video=False, now=T0 + 2), "room_ended")


@pytest.mark.parametrize(
    "command",
    [
        EndRoom(by="t", now=T0 + 5),
        Tick(T0 + 10 * UNUSED),
        Leave("t", T0 + 5),
        Disconnect("p", T0 + 5),
    ],
    ids=["end", "tick", "leave", "disconnect"],
)
def test_ended_room_ignores_everything_else(command: object) -> None:
    room = _ended_room()
    assert apply(room, command) == (room, ())  # type: ignore[arg-type]


def test_expired_room_refuses_join_and_ignores_end() -> None:
    room, _ = apply(make_room(), Tick(T0 + UNUSED))
    assert room.state is RoomState.EXPIRED
    refused(room, Join("p", Role.PARTICIPANT, "P", T0 + UNUSED + 1), "room_ended")
    assert apply(room, EndRoom(by="t", now=T0 + UNUSED + 1)) == (room, ())
    assert apply(room, Tick(T0 + 10 * UNUSED)) == (room, ())


# --------------------------------------------------------------- lifecycle


def test_lifecycle_created_active_ended() -> None:
    room = make_room()
    assert room.state is RoomState.CREATED
    room, _ = join(room, "t", Role.THERAPIST)
    assert room.state is RoomState.ACTIVE
    room, _ = apply(room, EndRoom(by="t", now=T0 + 1))
    assert room.state is RoomState.ENDED


def test_created_room_expires_after_unused_expiry() -> None:
    room = make_room()
    still, events = apply(room, Tick(T0 + UNUSED - 0.001))
    assert still.state is RoomState.CREATED
    assert events == ()

    new, events = apply(room, Tick(T0 + UNUSED))
    assert new.state is RoomState.EXPIRED
    assert events == (RoomStateChanged(RoomState.CREATED, RoomState.EXPIRED),)


def test_created_room_does_not_use_idle_expiry() -> None:
    room, _ = apply(make_room(), Tick(T0 + IDLE + 1))
    assert room.state is RoomState.CREATED


def test_active_room_expires_after_idle_expiry_with_nobody_seated() -> None:
    room = joined(make_room(), ("t", Role.THERAPIST))
    room, _ = apply(room, Leave("t", T0 + 50))

    still, events = apply(room, Tick(T0 + 50 + IDLE - 0.001))
    assert still.state is RoomState.ACTIVE
    assert events == ()

    new, events = apply(room, Tick(T0 + 50 + IDLE))
    assert new.state is RoomState.EXPIRED
    assert events == (RoomStateChanged(RoomState.ACTIVE, RoomState.EXPIRED),)


def test_active_room_with_someone_seated_never_idle_expires() -> None:
    room = joined(make_room(), ("t", Role.THERAPIST))
    room, events = apply(room, Tick(T0 + 100 * IDLE))
    assert room.state is RoomState.ACTIVE
    assert events == ()


def test_disconnected_member_keeps_room_alive_until_grace_ends() -> None:
    policy = replace(POLICY, grace_s=IDLE * 2)
    room = joined(make_room(policy=policy), ("t", Role.THERAPIST))
    room, _ = apply(room, Disconnect("t", T0 + 1))
    room, _ = apply(room, Tick(T0 + 1 + IDLE + 1))
    assert room.state is RoomState.ACTIVE
    assert seated_ids(room) == ["t"]


def test_room_emptied_by_grace_timeout_waits_idle_expiry_from_the_timeout() -> None:
    """The idle window starts when the last seat is released, not when the
    transport dropped: with grace_s > idle_expiry_s the room must not expire in
    the very Tick that times its last member out."""
    policy = replace(POLICY, grace_s=2 * IDLE)
    room = joined(make_room(policy=policy), ("t", Role.THERAPIST))
    dropped_at = T0 + 1
    room, _ = apply(room, Disconnect("t", dropped_at))

    room, events = apply(room, Tick(dropped_at + policy.grace_s))
    assert [type(e) for e in events] == [MemberLeft], "timed out and expired in one tick"
    assert room.seated() == ()
    assert room.state is RoomState.ACTIVE

    room, events = apply(room, Tick(dropped_at + policy.grace_s + IDLE))
    assert events == (RoomStateChanged(RoomState.ACTIVE, RoomState.EXPIRED),)


def test_room_becoming_empty_through_zero_grace_disconnect_waits_idle_expiry() -> None:
    """The idle window starts when the room empties, however the last member went.

    Leave and a grace-period disconnect both stamp `last_activity_at`; a
    disconnect under `grace_s == 0` does not, so a long-running session whose
    last member's transport drops expires on the very next Tick and the member
    cannot come back (`room_ended`).
    """
    policy = replace(POLICY, grace_s=0.0)
    room = joined(make_room(policy=policy), ("t", Role.THERAPIST))
    dropped_at = T0 + 2 * IDLE
    room, _ = apply(room, Disconnect("t", dropped_at))
    assert room.seated() == ()

    room, events = apply(room, Tick(dropped_at + 1))
    assert room.state is RoomState.ACTIVE, "expired 1 s after the room emptied"
    assert events == ()
    room, events = join(room, "t", Role.THERAPIST, dropped_at + 2)
    assert isinstance(events[-1], MemberJoined)


# -------------------------------------------------------------- transitions


@pytest.mark.parametrize("state", list(RoomState))
def test_with_state_to_same_state_is_a_no_op(state: RoomState) -> None:
    room = make_room(state=state)
    assert room.with_state(state) is room


@pytest.mark.parametrize(
    ("old", "new"),
    [(o, n) for o in RoomState for n in RoomState if o != n and n in ALLOWED_TRANSITIONS[o]],
)
def test_with_state_allows_the_table(old: RoomState, new: RoomState) -> None:
    assert make_room(state=old).with_state(new).state is new


@pytest.mark.parametrize(
    ("old", "new"),
    [(o, n) for o in RoomState for n in RoomState if o != n and n not in ALLOWED_TRANSITIONS[o]],
)
def test_with_state_refuses_everything_else(old: RoomState, new: RoomState) -> None:
    room = make_room(state=old)
    with pytest.raises(DomainError) as info:
        room.with_state(new)
    assert info.value.code == "illegal_transition"
    assert room.state is old


@pytest.mark.parametrize("terminal", [RoomState.ENDED, RoomState.EXPIRED])
def test_no_transition_out_of_terminal_states(terminal: RoomState) -> None:
    assert ALLOWED_TRANSITIONS[terminal] == frozenset()
    room = make_room(state=terminal)
    for target in RoomState:
        if target is terminal:
            continue
        with pytest.raises(DomainError) as info:
            room.with_state(target)
        assert info.value.code == "illegal_transition"


def test_transition_table_covers_every_state() -> None:
    assert set(ALLOWED_TRANSITIONS) == set(RoomState)
    assert RoomState.CREATED not in ALLOWED_TRANSITIONS[RoomState.ACTIVE]


# ---------------------------------------------------------------- set media


def test_set_media_emits_only_on_change() -> None:
    room = joined(make_room(), ("p", Role.PARTICIPANT))

    same, events = apply(room, SetMedia("p", audio=True, video=True, now=T0 + 1))
    assert events == ()
    assert same == room

    room, events = apply(room, SetMedia("p", audio=False, video=True, now=T0 + 2))
    member = room.member("p")
    assert member is not None
    assert member.media == MediaState(audio=False, video=True)
    assert events == (MediaChanged(member),)

    again, events = apply(room, SetMedia("p", audio=False, video=True, now=T0 + 3))
    assert events == ()
    assert again == room

    room, events = apply(room, SetMedia("p", audio=False, video=False, now=T0 + 4))
    assert [type(e) for e in events] == [MediaChanged]


def test_set_media_by_non_member_is_refused() -> None:
    room = joined(make_room(), ("p", Role.PARTICIPANT))
    refused(room, SetMedia("x", audio=False, video=False, now=T0 + 1), "not_joined")
    room, _ = apply(room, Leave("p", T0 + 2))
    refused(room, SetMedia("p", audio=False, video=False, now=T0 + 3), "not_joined")


def test_set_media_while_disconnected_is_kept() -> None:
    room = joined(make_room(), ("p", Role.PARTICIPANT))
    room, _ = apply(room, Disconnect("p", T0 + 1))
    room, events = apply(room, SetMedia("p", audio=False, video=True, now=T0 + 2))
    assert [type(e) for e in events] == [MediaChanged]


# ------------------------------------------------------------ value objects


def test_member_and_room_validate_their_ids() -> None:
    with pytest.raises(ValueError):
        Member(id="", role=Role.PARTICIPANT, name="A")
    with pytest.raises(ValueError):
        Member(id="a", role=Role.PARTICIPANT, name="   ")
    with pytest.raises(ValueError):
        Room(id="", kind=RoomKind.GROUP, created_at=T0)


@pytest.mark.parametrize("kwargs", [{"grace_s": -1.0}, {"max_members": 1}, {"max_members": 65}])
def test_policy_validates(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RoomPolicy(**kwargs)  # type: ignore[arg-type]


def test_member_with_presence_tracks_disconnected_at() -> None:
    member = Member(id="a", role=Role.PARTICIPANT, name="A")
    dropped = member.with_presence(Presence.DISCONNECTED, at=5.0)
    assert dropped.disconnected_at == 5.0
    assert dropped.seated
    assert dropped.with_presence(Presence.CONNECTED).disconnected_at is None
    assert not dropped.with_presence(Presence.LEFT).seated


def test_domain_error_carries_code_and_message() -> None:
    err = DomainError("seat_taken", "taken")
    assert isinstance(err, ValueError)
    assert err.code == "seat_taken"
    assert err.message == "taken"
    assert str(err) == "taken"
