"""The few moves every floor command is made of: grant, release, advance, drop a hand,
and keeping talk time in step with the audio gates.

These do not validate: the commands in `rooms.floor.engine` check first, then compose these.
Each returns the new state and the events it caused, in order.
"""

from __future__ import annotations

from dataclasses import replace

from rooms.floor.events import (
    FloorEvent,
    FloorGranted,
    FloorReleased,
    GoAroundEnded,
    GrantReason,
    HandLowered,
    HandLoweredReason,
    ModeChanged,
    ReleaseReason,
)
from rooms.floor.state import FloorMode, FloorState, HandRaise, QueuePolicy, Turn
from rooms.talk_time import count_turn, record_wait, speaking_seconds, voice
from rooms.turn_limits import granted_limit

Step = tuple[FloorState, list[FloorEvent]]


def hand_queue(state: FloorState, now: float) -> tuple[HandRaise, ...]:
    """Raised hands in policy order, head first."""
    if state.settings.queue_policy is QueuePolicy.FIRST_COME:
        return tuple(sorted(state.hands, key=lambda hand: (hand.raised_at, hand.seq)))
    return tuple(
        sorted(
            state.hands,
            key=lambda hand: (
                speaking_seconds(state.talk, hand.member, now),
                hand.raised_at,
                hand.seq,
            ),
        )
    )


def participant_gate_open(state: FloorState, member: str) -> bool:
    return state.mode is FloorMode.OPEN or member == state.holder


def sync_talk(state: FloorState, now: float) -> FloorState:
    """Count a participant's speech exactly while they speak with an open gate.

    Speech behind a closed gate reaches nobody, so it is not talk time; and when the
    floor comes back to someone who never stopped talking, counting resumes without
    waiting for a fresh voice-activity edge.
    """
    talk = state.talk
    for member in state.participants:
        counting = talk.of(member).speaking_since is not None
        should_count = member in state.voice_active and participant_gate_open(state, member)
        if counting != should_count:
            talk = voice(talk, member, should_count, now)
    return state if talk is state.talk else replace(state, talk=talk)


def drop_hand(state: FloorState, member: str, now: float, reason: HandLoweredReason) -> Step:
    hand = state.hand_of(member)
    if hand is None:
        return state, []
    waited_s = max(0.0, now - hand.raised_at)
    state = replace(
        state,
        hands=tuple(h for h in state.hands if h.member != member),
        talk=record_wait(state.talk, member, waited_s),
    )
    return state, [HandLowered(member, reason, waited_s, now)]


def release(state: FloorState, now: float, reason: ReleaseReason) -> Step:
    turn = state.turn
    if turn is None:
        return state, []
    state = sync_talk(replace(state, turn=None), now)
    return state, [FloorReleased(turn.member, reason, max(0.0, now - turn.started_at), now)]


def grant(state: FloorState, member: str, now: float, reason: GrantReason) -> Step:
    """Give `member` the floor. Their hand drops; a running turn is replaced."""
    state, events = release(state, now, ReleaseReason.REPLACED)
    state, lowered = drop_hand(state, member, now, HandLoweredReason.GOT_FLOOR)
    # From the talk before this turn (fair-share limits), as the mode says.
    limit_s = granted_limit(state, member, now)
    go_around = state.go_around
    if go_around is not None:
        go_around = replace(go_around, taken=go_around.taken | {member})
    state = replace(
        state,
        turn=Turn(member=member, started_at=now, limit_s=limit_s),
        go_around=go_around,
        talk=count_turn(state.talk, member),
    )
    state = sync_talk(state, now)
    return state, [*events, *lowered, FloorGranted(member, reason, limit_s, now)]


def advance(state: FloorState, now: float) -> Step:
    """The floor is free: who speaks next, as the mode says (possibly nobody)."""
    if state.turn is not None:
        return state, []
    if state.mode is FloorMode.HAND_QUEUE and state.settings.auto_advance and state.hands:
        head = hand_queue(state, now)[0].member
        return grant(state, head, now, GrantReason.AUTO_ADVANCE)
    if state.go_around is not None:
        pending = state.go_around.pending()
        if pending:
            return grant(state, pending[0], now, GrantReason.GO_AROUND)
        return end_go_around(state, now)
    return state, []


def end_go_around(state: FloorState, now: float) -> Step:
    """Everyone had their turn: back to the mode the round interrupted.

    Staying in go-around mode would leave every member's gate closed with nobody
    due to speak.
    """
    assert state.go_around is not None
    back_to = state.go_around.return_mode
    state, events = release(state, now, ReleaseReason.MODE_CHANGED)
    state = sync_talk(replace(state, mode=back_to, go_around=None), now)
    state, granted = advance(state, now)
    return state, [
        *events,
        GoAroundEnded(now),
        ModeChanged(FloorMode.GO_AROUND, back_to, now),
        *granted,
    ]
