"""Rooms that use every field a store must keep: hand-built, and played through the engine."""

from __future__ import annotations

from collections.abc import Iterator

from rooms import commands as c
from rooms.engine import apply
from rooms.floor.state import (
    FloorMode,
    FloorSettings,
    FloorState,
    GoAround,
    HandRaise,
    QueuePolicy,
    Turn,
    TurnLimitAction,
)
from rooms.member import Admission, MediaState, Member, Presence
from rooms.roles import Role
from rooms.room import AdmitPolicy, Room, RoomKind, RoomPolicy, RoomState, new_room
from rooms.talk_time import MemberTalk, TalkTimeLedger

T0 = 1_790_000_000.0


def individual_room(room_id: str = "r_individual") -> Room:
    """Members in every presence, media off and on."""
    return Room(
        id=room_id,
        kind=RoomKind.INDIVIDUAL,
        created_at=T0,
        policy=RoomPolicy(
            grace_s=12.5,
            max_members=2,
            idle_expiry_s=600.0,
            unused_expiry_s=3600.0,
            admit=AdmitPolicy.AUTO,
        ),
        state=RoomState.ACTIVE,
        members=(
            Member(
                id="p_ther",
                role=Role.THERAPIST,
                name="Dr. Ada Ö",
                presence=Presence.CONNECTED,
                epoch=3,
                joined_at=T0 + 5,
                media=MediaState(audio=False, video=True),
            ),
            Member(
                id="p_pat",
                role=Role.PARTICIPANT,
                name="Pat",
                epoch=1,
                presence=Presence.DISCONNECTED,
                disconnected_at=T0 + 40.25,
                joined_at=T0 + 9,
                media=MediaState(audio=True, video=False),
            ),
            Member(
                id="p_old",
                role=Role.PARTICIPANT,
                name="Old tab",
                presence=Presence.LEFT,
                epoch=2,
                joined_at=T0 + 1,
            ),
        ),
        last_activity_at=T0 + 40.25,
    )


def group_settings() -> FloorSettings:
    """Every setting off its default."""
    return FloorSettings(
        queue_policy=QueuePolicy.FIRST_COME,
        auto_advance=True,
        turn_limit_s=None,
        go_around_turn_s=60.0,
        warn_at_fraction=0.6,
        on_turn_limit=TurnLimitAction.ADVANCE,
        fair_share_limits=False,
        fair_share_min_fraction=0.5,
        fair_share_min_s=15.0,
    )


def go_around_floor() -> FloorState:
    """A go-around in progress: a turn, taken and pending members, a hand, open voices."""
    return FloorState(
        settings=group_settings(),
        # Not in sorted order: the report lists members in first-seen order.
        talk=TalkTimeLedger(
            started_at=T0 + 10,
            members={
                "p_d": MemberTalk(),
                "p_a": MemberTalk(spoken_s=42.5, speaking_since=None, turns=2, longest_wait_s=7.25),
                "p_b": MemberTalk(spoken_s=3.0, speaking_since=T0 + 105.5, turns=1),
            },
        ),
        clock=T0 + 106.0,
        mode=FloorMode.GO_AROUND,
        participants=("p_a", "p_b", "p_d"),
        hands=(HandRaise(member="p_d", raised_at=T0 + 103.5, seq=4),),
        turn=Turn(
            member="p_b", started_at=T0 + 105.0, limit_s=60.0, warned=True, limit_reported=True
        ),
        go_around=GoAround(
            order=("p_a", "p_b", "p_d"),
            taken=frozenset({"p_a", "p_b"}),
            return_mode=FloorMode.HAND_QUEUE,
        ),
        voice_active=frozenset({"p_b", "p_a"}),
        next_seq=5,
    )


def hand_queue_floor() -> FloorState:
    """Hand queue with two hands (same timestamp, told apart by seq) and an unlimited turn."""
    return FloorState(
        settings=FloorSettings(),
        talk=TalkTimeLedger(started_at=T0),
        clock=T0 + 50,
        mode=FloorMode.HAND_QUEUE,
        participants=("p_a", "p_b", "p_d"),
        hands=(HandRaise("p_d", T0 + 49, 7), HandRaise("p_b", T0 + 49, 8)),
        turn=Turn(member="p_a", started_at=T0 + 45, limit_s=None),
        next_seq=9,
    )


def group_room(floor: FloorState | None = None, room_id: str = "r_group") -> Room:
    """Admitted, waiting, moderated, left and revoked members; locked; a floor."""
    return Room(
        id=room_id,
        kind=RoomKind.GROUP,
        created_at=T0,
        policy=RoomPolicy(grace_s=0.0, max_members=8, admit=AdmitPolicy.MANUAL),
        state=RoomState.ACTIVE,
        members=(
            Member(id="p_ther", role=Role.THERAPIST, name="Therapist", joined_at=T0 + 1),
            Member(
                id="p_a",
                role=Role.PARTICIPANT,
                name="Ana",
                joined_at=T0 + 2,
                media=MediaState(audio=False, video=True),
                muted_by_moderator=True,
            ),
            Member(
                id="p_b",
                role=Role.PARTICIPANT,
                name="Ben",
                joined_at=T0 + 3,
                media=MediaState(audio=True, video=False),
                video_stopped_by_moderator=True,
            ),
            Member(
                id="p_w",
                role=Role.PARTICIPANT,
                name="Wes",
                joined_at=T0 + 4,
                admission=Admission.WAITING,
            ),
            Member(
                id="p_d",
                role=Role.PARTICIPANT,
                name="Dee",
                joined_at=T0 + 5,
                presence=Presence.DISCONNECTED,
                disconnected_at=T0 + 99,
            ),
            Member(
                id="p_gone",
                role=Role.PARTICIPANT,
                name="Gone",
                joined_at=T0 + 6,
                presence=Presence.LEFT,
            ),
        ),
        revoked=frozenset({"p_gone", "p_denied"}),
        last_activity_at=T0 + 106,
        locked=True,
        floor=go_around_floor() if floor is None else floor,
        members_chat=False,
        screen_sharer="p_a",
        share_allowed=frozenset({"p_b", "p_a"}),
    )


def played_group_session() -> Iterator[Room]:
    """Every state of a scripted group session, played through the real engine."""
    room = new_room(
        "r_played", RoomKind.GROUP, T0, RoomPolicy(grace_s=20.0, admit=AdmitPolicy.MANUAL)
    )
    yield room
    t = T0
    ther = "p_ther"
    script: list[c.AnyCommand] = [
        c.Join(ther, Role.THERAPIST, "Therapist", t + 1),
        c.Join("p_a", Role.PARTICIPANT, "Ana", t + 2),
        c.Join("p_b", Role.PARTICIPANT, "Ben", t + 3),
        c.Join("p_c", Role.PARTICIPANT, "Cy", t + 4),
        c.Admit(ther, "p_a", t + 5),
        c.Admit(ther, "p_b", t + 6),
        c.Admit(ther, "p_c", t + 6.5),
        c.LockRoom(ther, True, t + 7),
        c.SetFloorMode(ther, FloorMode.HAND_QUEUE, t + 8),
        c.RaiseHand("p_b", t + 9),
        c.RaiseHand("p_a", t + 9),
        c.Voice("p_a", True, t + 9.5),
        c.GrantNext(ther, t + 10),
        c.Voice("p_b", True, t + 11),
        c.ExtendTurn(ther, 30.0, t + 12),
        c.Voice("p_b", False, t + 20),
        c.Mute(ther, "p_c", t + 21),
        c.StopVideo(ther, "p_a", t + 22),
        c.SetMedia("p_a", False, True, t + 23),
        c.YieldFloor("p_b", t + 30),
        c.SetFloorMode(ther, FloorMode.GO_AROUND, t + 31),
        c.Voice("p_a", True, t + 32),
        c.PassTurn("p_a", t + 40),
        c.SkipTurn(ther, "p_c", t + 41),
        c.Disconnect("p_c", t + 42),
        c.SendBack(ther, "p_b", t + 43),
        c.Tick(t + 44),
        c.Remove(ther, "p_a", t + 45),
        c.SetFloorMode(ther, FloorMode.DIRECTED, t + 46),
        c.Tick(t + 70),
        c.EndRoom(ther, t + 80),
    ]
    for command in script:
        room, _ = apply(room, command)
        yield room
