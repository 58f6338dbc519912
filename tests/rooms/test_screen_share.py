"""Screen share and members' chat as room state: who may share, one share per room."""

from __future__ import annotations

import pytest

from rooms.commands import (
    Admit,
    AllowScreenShare,
    AnyCommand,
    Disconnect,
    Join,
    Leave,
    SendBack,
    SetMembersChat,
    StartScreenShare,
    StopScreenShare,
)
from rooms.engine import apply
from rooms.errors import DomainError, ErrorCode
from rooms.events import MembersChatChanged, ScreenShareChanged
from rooms.roles import Role
from rooms.room import Room, RoomKind, new_room

T0 = 1_000.0


def run(room: Room, *commands: AnyCommand) -> Room:
    for command in commands:
        room, _ = apply(room, command)
    return room


def group() -> Room:
    room = new_room("r", RoomKind.GROUP, T0)
    return run(
        room,
        Join("p_t", Role.THERAPIST, "Therapist", T0),
        Join("p_a", Role.PARTICIPANT, "Ana", T0),
        Join("p_b", Role.PARTICIPANT, "Ben", T0),
        Admit("p_t", "p_a", T0),
        Admit("p_t", "p_b", T0),
    )


def refused(room: Room, command: AnyCommand) -> ErrorCode:
    with pytest.raises(DomainError) as error:
        apply(room, command)
    return error.value.code


def test_a_therapist_shares_and_stops() -> None:
    room, events = apply(group(), StartScreenShare("p_t", T0))
    assert room.screen_sharer == "p_t"
    assert events == (ScreenShareChanged("p_t", "p_t"),)
    room, events = apply(room, StopScreenShare("p_t", T0))
    assert room.screen_sharer is None
    assert events == (ScreenShareChanged(None, "p_t"),)
    assert refused(room, StopScreenShare("p_t", T0)) is ErrorCode.NOT_SHARING


def test_a_member_shares_only_while_allowed() -> None:
    room = group()
    assert refused(room, StartScreenShare("p_a", T0)) is ErrorCode.SCREEN_SHARE_NOT_ALLOWED
    assert refused(room, AllowScreenShare("p_a", "p_b", True, T0)) is ErrorCode.NOT_ALLOWED
    room = run(room, AllowScreenShare("p_t", "p_a", True, T0), StartScreenShare("p_a", T0))
    assert (room.screen_sharer, room.share_allowed) == ("p_a", frozenset({"p_a"}))
    # Revoking the permission ends the running share.
    room, events = apply(room, AllowScreenShare("p_t", "p_a", False, T0))
    assert (room.screen_sharer, room.share_allowed) == (None, frozenset())
    assert events == (ScreenShareChanged(None, "p_t"),)


def test_one_share_at_a_time() -> None:
    room = run(group(), AllowScreenShare("p_t", "p_a", True, T0), StartScreenShare("p_a", T0))
    assert refused(room, StartScreenShare("p_t", T0)) is ErrorCode.SCREEN_SHARE_BUSY
    assert apply(room, StartScreenShare("p_a", T0)) == (room, ())
    # Another member cannot stop it; a therapist can.
    assert refused(room, StopScreenShare("p_b", T0)) is ErrorCode.NOT_ALLOWED
    assert run(room, StopScreenShare("p_t", T0)).screen_sharer is None


@pytest.mark.parametrize(
    "gone",
    [Leave("p_a", T0), Disconnect("p_a", T0), SendBack("p_t", "p_a", T0)],
    ids=["left", "disconnected", "sent_back"],
)
def test_a_share_ends_with_its_sharer(gone: AnyCommand) -> None:
    room = run(group(), AllowScreenShare("p_t", "p_a", True, T0), StartScreenShare("p_a", T0))
    room, events = apply(room, gone)
    assert room.screen_sharer is None
    assert ScreenShareChanged(None, None) in events


def test_a_fresh_page_of_the_sharer_ends_the_share_a_resumed_one_keeps_it() -> None:
    room = run(group(), StartScreenShare("p_t", T0))
    assert run(room, Join("p_t", Role.THERAPIST, "Therapist", T0, resume=True)).screen_sharer
    room, events = apply(room, Join("p_t", Role.THERAPIST, "Therapist", T0))
    assert room.screen_sharer is None
    assert ScreenShareChanged(None, None) in events


def test_individual_rooms_share_too() -> None:
    room = run(
        new_room("r", RoomKind.INDIVIDUAL, T0),
        Join("p_t", Role.THERAPIST, "Therapist", T0),
        Join("p_p", Role.PARTICIPANT, "Pat", T0),
    )
    assert refused(room, StartScreenShare("p_p", T0)) is ErrorCode.SCREEN_SHARE_NOT_ALLOWED
    room = run(room, AllowScreenShare("p_t", "p_p", True, T0), StartScreenShare("p_p", T0))
    assert room.screen_sharer == "p_p"


def test_members_chat_is_room_state() -> None:
    room, events = apply(group(), SetMembersChat("p_t", False, T0))
    assert room.members_chat is False
    assert events == (MembersChatChanged(False, "p_t"),)
    assert apply(room, SetMembersChat("p_t", False, T0)) == (room, ())
    assert refused(room, SetMembersChat("p_a", True, T0)) is ErrorCode.NOT_ALLOWED
