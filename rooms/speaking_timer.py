"""The speaking timer: a soft warning before the turn limit, then the limit itself.

The server calls `tick(state, now)` periodically (about once a second is plenty);
everything else about time arrives with the commands.
"""

from __future__ import annotations

from dataclasses import replace

from rooms.floor.events import FloorEvent, ReleaseReason, TurnLimitReached, TurnWarning
from rooms.floor.state import FloorState, TurnLimitAction
from rooms.floor.transitions import Step, advance, release


def run_timer(state: FloorState, now: float) -> Step:
    """Warn once, then act once at the limit, as `settings.on_turn_limit` says.

    A late tick that has crossed both points emits both, warning first, so a client
    never sees a limit without the warning that should have preceded it.
    """
    turn = state.turn
    if turn is None or turn.limit_s is None:
        return state, []
    events: list[FloorEvent] = []
    warns_at = turn.warns_at(state.settings.warn_at_fraction)
    ends_at = turn.ends_at()
    assert warns_at is not None and ends_at is not None
    if not turn.warned and now >= warns_at:
        turn = replace(turn, warned=True)
        events.append(TurnWarning(turn.member, max(0.0, ends_at - now), now))
    if turn.limit_reported or now < ends_at:
        return (replace(state, turn=turn) if events else state), events
    action = state.settings.on_turn_limit
    events.append(TurnLimitReached(turn.member, action, now))
    if action is TurnLimitAction.NOTIFY_THERAPIST:
        return replace(state, turn=replace(turn, limit_reported=True)), events
    state, released = release(replace(state, turn=turn), now, ReleaseReason.TIME_UP)
    state, granted = advance(state, now)
    return state, [*events, *released, *granted]


def seconds_until_next_deadline(state: FloorState, now: float) -> float | None:
    """How long until the timer has something to say; lets a server sleep exactly."""
    turn = state.turn
    if turn is None or turn.limit_s is None:
        return None
    deadlines = []
    warns_at = turn.warns_at(state.settings.warn_at_fraction)
    ends_at = turn.ends_at()
    if not turn.warned and warns_at is not None:
        deadlines.append(warns_at)
    if not turn.limit_reported and ends_at is not None:
        deadlines.append(ends_at)
    return max(0.0, min(deadlines) - now) if deadlines else None
