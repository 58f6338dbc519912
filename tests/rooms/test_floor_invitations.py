"""Invitations: the therapist offers a quiet member the free floor; they speak or pass."""

from __future__ import annotations

import pytest

from rooms.commands import Admit, GiveFloor, InviteToSpeak, Join, PassTurn, SetFloorMode
from rooms.engine import apply
from rooms.errors import DomainError
from rooms.events import FloorChanged
from rooms.floor import engine as floor
from rooms.floor.errors import FloorError
from rooms.floor.events import FloorGranted, FloorReleased, GrantReason, ReleaseReason
from rooms.floor.state import FloorMode, FloorSettings, FloorState, new_floor
from rooms.roles import Role
from rooms.room import RoomKind, new_room

MEMBERS = ("ana", "ben", "sam")


def group(mode: FloorMode = FloorMode.HAND_QUEUE, **settings: object) -> FloorState:
    state = new_floor(0.0, FloorSettings(**settings))  # type: ignore[arg-type]
    for member in MEMBERS:
        state, _ = floor.join(state, member, 0.0)
    state, _ = floor.set_mode(state, mode, 0.0)
    return state


@pytest.mark.parametrize("mode", [FloorMode.HAND_QUEUE, FloorMode.DIRECTED])
def test_an_invitation_gives_the_free_floor_with_its_own_reason(mode: FloorMode) -> None:
    state, events = floor.invite(group(mode), "sam", 5.0)
    assert state.holder == "sam"
    assert floor.audio_gates(state, MEMBERS, ())["sam"] is True
    granted = [e for e in events if isinstance(e, FloorGranted)]
    assert [(g.member, g.reason) for g in granted] == [("sam", GrantReason.INVITED)]
    # An invited turn has the usual limit, so an absent invitee does not hold the group.
    assert state.turn is not None and state.turn.limit_s == 180.0


def test_taking_it_is_speaking_and_counts_as_talk_time() -> None:
    state, _ = floor.invite(group(), "sam", 5.0)
    state, _ = floor.voice(state, "sam", True, 6.0)
    state, _ = floor.voice(state, "sam", False, 26.0)
    assert floor.report(state, 30.0).row("sam").speaking_s == pytest.approx(20.0)  # type: ignore[union-attr]


def test_passing_frees_the_floor_for_the_queue_and_says_only_passed() -> None:
    state = group(auto_advance=True)
    state, _ = floor.invite(state, "sam", 5.0)
    state, _ = floor.raise_hand(state, "ana", 6.0)
    state, events = floor.pass_turn(state, "sam", 8.0)
    released = [e for e in events if isinstance(e, FloorReleased)]
    assert [(r.member, r.reason) for r in released] == [("sam", ReleaseReason.PASSED)]
    # The waiting hand gets the floor at once; the pass itself leaves no trace in talk.
    assert state.holder == "ana"
    assert floor.report(state, 9.0).row("sam").speaking_s == 0.0  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        (lambda: group(FloorMode.OPEN), "no_floor_in_open_mode"),
        (lambda: group(FloorMode.GO_AROUND), "go_around_in_progress"),
        (lambda: floor.give_floor(group(FloorMode.DIRECTED), "ana", 1.0)[0], "floor_taken"),
    ],
)
def test_invitations_are_refused_where_they_would_cut_in(setup: object, code: str) -> None:
    state = setup()  # type: ignore[operator]
    with pytest.raises(FloorError) as excinfo:
        floor.invite(state, "sam", 2.0)
    assert excinfo.value.code == code
    # The speaker keeps the floor.
    assert state.holder in (None, "ana")


def test_only_present_members_can_be_invited() -> None:
    with pytest.raises(FloorError) as excinfo:
        floor.invite(group(), "zed", 1.0)
    assert excinfo.value.code == "not_a_member"


def test_only_the_holder_passes() -> None:
    state, _ = floor.invite(group(), "sam", 1.0)
    with pytest.raises(FloorError) as excinfo:
        floor.pass_turn(state, "ana", 2.0)
    assert excinfo.value.code == "not_floor_holder"
    assert state.holder == "sam"


# Through the room aggregate: therapists invite, members cannot.


def test_members_cannot_invite_and_therapists_can() -> None:
    room = new_room("r_1", RoomKind.GROUP, 0.0)
    room, _ = apply(room, Join("t", Role.THERAPIST, "Therapist", 0.0))
    for member in ("ana", "sam"):
        room, _ = apply(room, Join(member, Role.PARTICIPANT, member.title(), 0.0))
        room, _ = apply(room, Admit("t", member, 0.0))
    room, _ = apply(room, SetFloorMode("t", FloorMode.DIRECTED, 1.0))
    with pytest.raises(DomainError) as excinfo:
        apply(room, InviteToSpeak("ana", "sam", 2.0))
    assert excinfo.value.code == "not_allowed"
    room, events = apply(room, InviteToSpeak("t", "sam", 3.0))
    assert room.floor is not None and room.floor.holder == "sam"
    assert any(isinstance(e, FloorChanged) for e in events)
    room, _ = apply(room, PassTurn("sam", 4.0))
    assert room.floor is not None and room.floor.holder is None
    room, _ = apply(room, GiveFloor("t", "ana", 5.0))
    assert room.floor is not None and room.floor.holder == "ana"
