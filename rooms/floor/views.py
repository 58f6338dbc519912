"""Read-only views of the floor: the queue in policy order, audio gates, talk report."""

from __future__ import annotations

from collections.abc import Iterable

from rooms.floor.state import FloorMode, FloorState, HandRaise
from rooms.floor.transitions import hand_queue
from rooms.talk_time import TalkTimeReport, talk_report


def queue_order(state: FloorState, now: float) -> tuple[str, ...]:
    """Members with a raised hand, in the order they will get the floor."""
    return tuple(hand.member for hand in hand_queue(state, now))


def queued_hands(state: FloorState, now: float) -> tuple[HandRaise, ...]:
    return hand_queue(state, now)


def audio_gates(
    state: FloorState, present: Iterable[str], therapists: Iterable[str]
) -> dict[str, bool]:
    """Whether the relay forwards each present member's audio.

    Therapists are always open. Outside open mode only the floor holder is open;
    in open mode every participant is. Anyone else (not a participant, not a
    therapist) stays closed.
    """
    privileged = set(therapists)
    gates: dict[str, bool] = {}
    for member in (*present, *privileged):
        if member in privileged:
            gates[member] = True
        elif state.mode is FloorMode.OPEN:
            gates[member] = member in state.participants
        else:
            gates[member] = member == state.holder
    return gates


def report(state: FloorState, now: float) -> TalkTimeReport:
    """Talk time per member, with the hands still up counted as waits so far."""
    now = max(now, state.clock)
    open_waits = {hand.member: now - hand.raised_at for hand in state.hands}
    return talk_report(state.talk, now, open_waits, also=state.participants)
