"""Floor control: who may speak in a group room, and in what order.

Every command takes the current `FloorState` and the room clock time `now`, and
returns `(new_state, events)`; an illegal command raises `FloorError` and changes
nothing. Roles are checked by the room aggregate before it calls in here: these
functions trust that a therapist-only command comes from a therapist.
"""

from __future__ import annotations

import math
from dataclasses import replace

from rooms.errors import ErrorCode
from rooms.floor.errors import FloorError
from rooms.floor.events import (
    FloorOutcome,
    GoAroundEnded,
    GoAroundSkipped,
    GoAroundStarted,
    GrantReason,
    HandLoweredReason,
    HandRaised,
    ModeChanged,
    QueueChanged,
    ReleaseReason,
    SettingsChanged,
    TurnExtended,
)
from rooms.floor.state import FloorMode, FloorSettings, FloorState, GoAround, HandRaise
from rooms.floor.transitions import (
    Step,
    advance,
    drop_hand,
    grant,
    release,
    sync_talk,
)
from rooms.floor.views import audio_gates, queue_order, queued_hands, report
from rooms.speaking_timer import run_timer
from rooms.talk_time import track
from rooms.talk_time import voice as ledger_voice

__all__ = [
    "audio_gates",
    "change_settings",
    "end_turn",
    "extend_turn",
    "give_floor",
    "grant_next",
    "invite",
    "join",
    "leave",
    "lower_hand",
    "pass_turn",
    "queue_order",
    "queued_hands",
    "raise_hand",
    "release_dropped",
    "report",
    "set_mode",
    "skip",
    "tick",
    "voice",
    "yield_floor",
]


def _at(state: FloorState, now: float) -> tuple[FloorState, float]:
    # A clock that steps back (a room moved between nodes) must not make a talk-time
    # interval negative: time never runs backwards for a floor.
    if now <= state.clock:
        return state, state.clock
    return replace(state, clock=now), now


def _done(before: FloorState, step: Step) -> FloorOutcome:
    """Close a command: tell clients the queue order if the command changed it."""
    after, events = step
    old_order = queue_order(before, before.clock)
    new_order = queue_order(after, after.clock)
    if old_order != new_order:
        events = [*events, QueueChanged(new_order, after.clock)]
    return after, tuple(events)


def _require_participant(state: FloorState, member: str) -> None:
    if member not in state.participants:
        raise FloorError(ErrorCode.NOT_A_MEMBER)


def _require_floor_mode(state: FloorState) -> None:
    if state.mode is FloorMode.OPEN:
        raise FloorError(ErrorCode.NO_FLOOR_IN_OPEN_MODE)


def _require_holder(state: FloorState, member: str) -> None:
    _require_floor_mode(state)
    if state.holder != member:
        raise FloorError(ErrorCode.NOT_FLOOR_HOLDER)


def _require_go_around(state: FloorState) -> GoAround:
    if state.go_around is None:
        raise FloorError(ErrorCode.NOT_IN_GO_AROUND_MODE)
    return state.go_around


# Membership


def join(state: FloorState, member: str, now: float) -> FloorOutcome:
    """An admitted participant (not a therapist) is now present in the group."""
    if member in state.participants:
        raise FloorError(ErrorCode.ALREADY_A_MEMBER)
    before = state
    state, now = _at(state, now)
    go_around = state.go_around
    if go_around is not None and member not in go_around.order:
        go_around = replace(go_around, order=(*go_around.order, member))
    state = replace(
        state,
        participants=(*state.participants, member),
        go_around=go_around,
        talk=track(state.talk, member),
    )
    return _done(before, (state, []))


def leave(state: FloorState, member: str, now: float) -> FloorOutcome:
    """A participant left or was removed: no hand, no floor, no turn in the round."""
    _require_participant(state, member)
    before = state
    state, now = _at(state, now)
    state, events = drop_hand(state, member, now, HandLoweredReason.LEFT)
    if state.holder == member:
        state, released = release(state, now, ReleaseReason.LEFT)
        events += released
    go_around = state.go_around
    if go_around is not None:
        go_around = replace(go_around, order=tuple(m for m in go_around.order if m != member))
    state = replace(
        state,
        participants=tuple(m for m in state.participants if m != member),
        voice_active=state.voice_active - {member},
        go_around=go_around,
        talk=ledger_voice(state.talk, member, False, now),
    )
    state, granted = advance(state, now)
    return _done(before, (state, [*events, *granted]))


# Mode and settings


def set_mode(state: FloorState, mode: FloorMode, now: float) -> FloorOutcome:
    """Switch floor control. The running turn ends; hands and talk time carry over.

    Choosing the current mode again changes nothing (a running go-around continues).
    """
    if mode is state.mode:
        return state, ()
    if mode is FloorMode.GO_AROUND and not state.participants:
        raise FloorError(ErrorCode.NO_MEMBERS)
    before = state
    old = state.mode
    state, now = _at(state, now)
    state, events = release(state, now, ReleaseReason.MODE_CHANGED)
    if state.go_around is not None:
        # A round cut short by the therapist still ends for the clients.
        events.append(GoAroundEnded(now))
    go_around = None
    if mode is FloorMode.GO_AROUND:
        go_around = GoAround(order=state.participants, taken=frozenset(), return_mode=old)
    state = sync_talk(replace(state, mode=mode, go_around=go_around), now)
    events.append(ModeChanged(old, mode, now))
    if go_around is not None:
        events.append(GoAroundStarted(go_around.order, state.settings.go_around_turn_s, now))
    state, granted = advance(state, now)
    return _done(before, (state, [*events, *granted]))


def change_settings(state: FloorState, settings: FloorSettings, now: float) -> FloorOutcome:
    """New settings apply from the next turn; the running turn keeps its limit, so a
    speaker is never cut off by a rule that changed under them."""
    before = state
    state, now = _at(state, now)
    state = replace(state, settings=settings)
    state, granted = advance(state, now)
    return _done(before, (state, [SettingsChanged(settings, now), *granted]))


# Hands


def raise_hand(state: FloorState, member: str, now: float) -> FloorOutcome:
    _require_participant(state, member)
    if state.holder == member:
        raise FloorError(ErrorCode.HOLDS_FLOOR)
    if state.hand_of(member) is not None:
        raise FloorError(ErrorCode.HAND_ALREADY_RAISED)
    before = state
    state, now = _at(state, now)
    hand = HandRaise(member=member, raised_at=now, seq=state.next_seq)
    state = replace(state, hands=(*state.hands, hand), next_seq=state.next_seq + 1)
    state, granted = advance(state, now)
    return _done(before, (state, [HandRaised(member, now), *granted]))


def lower_hand(state: FloorState, member: str, now: float) -> FloorOutcome:
    _require_participant(state, member)
    if state.hand_of(member) is None:
        raise FloorError(ErrorCode.NOT_IN_QUEUE)
    before = state
    state, now = _at(state, now)
    return _done(before, drop_hand(state, member, now, HandLoweredReason.BY_MEMBER))


# Giving and ending turns


def grant_next(state: FloorState, now: float) -> FloorOutcome:
    """Therapist: the head of the hand queue gets the floor (a running turn ends)."""
    _require_floor_mode(state)
    if state.mode is not FloorMode.HAND_QUEUE:
        raise FloorError(ErrorCode.NOT_IN_HAND_QUEUE_MODE)
    if not state.hands:
        raise FloorError(ErrorCode.QUEUE_EMPTY)
    before = state
    state, now = _at(state, now)
    head = queue_order(state, now)[0]
    return _done(before, grant(state, head, now, GrantReason.BY_THERAPIST))


def give_floor(state: FloorState, member: str, now: float) -> FloorOutcome:
    """Therapist: hand the floor to a chosen member (directed or hand-queue mode)."""
    _require_floor_mode(state)
    if state.mode is FloorMode.GO_AROUND:
        raise FloorError(ErrorCode.GO_AROUND_IN_PROGRESS)
    _require_participant(state, member)
    if state.holder == member:
        raise FloorError(ErrorCode.HOLDS_FLOOR, "That person already has the floor.")
    before = state
    state, now = _at(state, now)
    return _done(before, grant(state, member, now, GrantReason.BY_THERAPIST))


def invite(state: FloorState, member: str, now: float) -> FloorOutcome:
    """Therapist: offer a member the free floor (the quiet member the hand queue never
    reaches, because they never raise a hand).

    The offer is the turn itself: the member's gate opens at once, so taking it is
    just speaking, and passing is `pass_turn`. An offer that waited for a reply would
    hold the floor empty and need its own timeout; a turn already has one. Nothing
    about why a member passes is asked or kept. Refused while someone holds the
    floor (an invitation never cuts a speaker off) and during a check-in round
    (the round already reaches everyone).
    """
    _require_floor_mode(state)
    if state.mode is FloorMode.GO_AROUND:
        raise FloorError(ErrorCode.GO_AROUND_IN_PROGRESS)
    _require_participant(state, member)
    if state.holder is not None:
        raise FloorError(ErrorCode.FLOOR_TAKEN)
    before = state
    state, now = _at(state, now)
    return _done(before, grant(state, member, now, GrantReason.INVITED))


def _end_turn(state: FloorState, now: float, reason: ReleaseReason) -> FloorOutcome:
    before = state
    state, now = _at(state, now)
    state, events = release(state, now, reason)
    state, granted = advance(state, now)
    return _done(before, (state, [*events, *granted]))


def yield_floor(state: FloorState, member: str, now: float) -> FloorOutcome:
    """The floor holder is done speaking."""
    _require_holder(state, member)
    return _end_turn(state, now, ReleaseReason.YIELDED)


def pass_turn(state: FloorState, member: str, now: float) -> FloorOutcome:
    """The holder passes: a check-in turn, or a turn they were invited to take (any
    turn, since the floor moves on the same way). Unlike `yield_floor`, the
    therapist learns the turn was declined, not used; never why."""
    _require_holder(state, member)
    return _end_turn(state, now, ReleaseReason.PASSED)


def end_turn(state: FloorState, now: float) -> FloorOutcome:
    """Therapist: end the running turn; the floor moves on as the mode says."""
    _require_floor_mode(state)
    if state.holder is None:
        raise FloorError(ErrorCode.NO_FLOOR_HOLDER)
    return _end_turn(state, now, ReleaseReason.ENDED_BY_THERAPIST)


def release_dropped(state: FloorState, member: str, now: float) -> FloorOutcome:
    """The holder's connection is gone: the group does not wait on a silent floor."""
    if state.holder != member:
        return state, ()
    return _end_turn(state, now, ReleaseReason.CONNECTION_LOST)


def skip(state: FloorState, member: str, now: float) -> FloorOutcome:
    """Therapist: skip a member's go-around turn, running or still to come."""
    go_around = _require_go_around(state)
    if member not in go_around.order:
        raise FloorError(ErrorCode.NOT_A_MEMBER, "That person is not in this round.")
    if state.holder == member:
        return _end_turn(state, now, ReleaseReason.SKIPPED)
    if member in go_around.taken:
        raise FloorError(ErrorCode.ALREADY_HAD_TURN)
    before = state
    state, now = _at(state, now)
    state = replace(state, go_around=replace(go_around, taken=go_around.taken | {member}))
    return _done(before, (state, [GoAroundSkipped(member, now)]))


def extend_turn(state: FloorState, extra_s: float, now: float) -> FloorOutcome:
    """Therapist: give the running turn more time; the warning comes again if due."""
    if not (math.isfinite(extra_s) and extra_s > 0):
        raise FloorError(ErrorCode.INVALID_EXTENSION)
    _require_floor_mode(state)
    turn = state.turn
    if turn is None:
        raise FloorError(ErrorCode.NO_FLOOR_HOLDER)
    if turn.limit_s is None:
        raise FloorError(ErrorCode.NO_TURN_LIMIT)
    before = state
    state, now = _at(state, now)
    limit_s = turn.limit_s + extra_s
    warns_at = turn.started_at + limit_s * state.settings.warn_at_fraction
    extended = replace(turn, limit_s=limit_s, warned=now >= warns_at, limit_reported=False)
    state = replace(state, turn=extended)
    return _done(before, (state, [TurnExtended(turn.member, limit_s, now)]))


# Signals from the server


def voice(
    state: FloorState, member: str, speaking: bool, now: float, *, privileged: bool = False
) -> FloorOutcome:
    """Voice activity started or stopped for a member (from the relay's audio levels).

    A participant's speech counts only while their gate is open. A therapist's
    (`privileged`) always counts. A signal for anyone else, such as a member who
    just left, is ignored: it can race with the leave and must not fail.
    """
    before = state
    state, now = _at(state, now)
    if member in state.participants:
        active = state.voice_active | {member} if speaking else state.voice_active - {member}
        state = sync_talk(replace(state, voice_active=active), now)
    elif privileged:
        state = replace(state, talk=ledger_voice(state.talk, member, speaking, now))
    return _done(before, (state, []))


def tick(state: FloorState, now: float) -> FloorOutcome:
    """Periodic: turn warnings and turn limits that have come due by `now`."""
    before = state
    state, now = _at(state, now)
    return _done(before, run_timer(state, now))
