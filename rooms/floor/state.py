"""Floor control state: the frozen dataclasses every floor command reads and returns."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum

from rooms.talk_time import TalkTimeLedger, new_ledger


class FloorMode(StrEnum):
    # Anyone may speak; talk time is still counted.
    OPEN = "open"
    # Members raise hands; the head of the queue gets the floor.
    HAND_QUEUE = "hand_queue"
    # Check-in round: every member in turn, one turn each.
    GO_AROUND = "go_around"
    # The therapist hands the floor to whoever they choose.
    DIRECTED = "directed"


class QueuePolicy(StrEnum):
    # Least talk time so far first, then earliest raise: quiet members are not
    # starved by members who re-raise as soon as they finish.
    LEAST_TALK_FIRST = "least_talk_first"
    # Earliest raise first (what Jitsi and BigBlueButton do); the benchmark baseline.
    FIRST_COME = "first_come"


class TurnLimitAction(StrEnum):
    # The turn ends at the limit and the floor moves on as the mode says.
    ADVANCE = "advance"
    # The therapist is told; the speaker keeps the floor until the therapist acts.
    NOTIFY_THERAPIST = "notify_therapist"


def _positive(seconds: float) -> bool:
    return math.isfinite(seconds) and seconds > 0


@dataclass(frozen=True)
class FloorSettings:
    queue_policy: QueuePolicy = QueuePolicy.LEAST_TALK_FIRST
    # In hand-queue mode, give the floor to the head of the queue whenever it is
    # free, without waiting for the therapist.
    auto_advance: bool = False
    # Per-turn limit in hand-queue and directed modes; None means no limit.
    turn_limit_s: float | None = 180.0
    # Length of one go-around turn.
    go_around_turn_s: float = 120.0
    # The soft warning comes when this fraction of the turn has passed.
    warn_at_fraction: float = 0.8
    on_turn_limit: TurnLimitAction = TurnLimitAction.NOTIFY_THERAPIST
    # Fair-share turn limits (hand-queue and directed modes, not go-around): a member
    # who has had more than 1/N of the present members' talk so far is granted a
    # shorter turn, base limit * fair share / their share, but never less than
    # max(fair_share_min_s, fair_share_min_fraction * base limit). Members at or
    # under their fair share keep the full limit. See rooms/turn_limits.py.
    fair_share_limits: bool = True
    fair_share_min_fraction: float = 0.25
    fair_share_min_s: float = 30.0

    def __post_init__(self) -> None:
        if self.turn_limit_s is not None and not _positive(self.turn_limit_s):
            raise ValueError("turn_limit_s must be positive or None")
        if not _positive(self.go_around_turn_s):
            raise ValueError("go_around_turn_s must be positive")
        if not 0 < self.warn_at_fraction < 1:
            raise ValueError("warn_at_fraction must be between 0 and 1")
        if not 0 < self.fair_share_min_fraction <= 1:
            raise ValueError("fair_share_min_fraction must be in (0, 1]")
        if not _positive(self.fair_share_min_s):
            raise ValueError("fair_share_min_s must be positive")


@dataclass(frozen=True)
class HandRaise:
    member: str
    raised_at: float
    # Server-assigned order of arrival: breaks ties between equal timestamps.
    seq: int


@dataclass(frozen=True)
class Turn:
    member: str
    started_at: float
    limit_s: float | None
    warned: bool = False
    # Set once the limit was reported to the therapist, so it is reported once.
    limit_reported: bool = False

    def ends_at(self) -> float | None:
        return None if self.limit_s is None else self.started_at + self.limit_s

    def warns_at(self, fraction: float) -> float | None:
        return None if self.limit_s is None else self.started_at + self.limit_s * fraction


@dataclass(frozen=True)
class GoAround:
    # Present members in speaking order; late joiners are appended, leavers removed.
    order: tuple[str, ...]
    # Members whose turn in this round is used up (spoken, passed or skipped).
    # Leavers stay here so that rejoining does not earn a second turn.
    taken: frozenset[str]
    # The mode to go back to when the round is over.
    return_mode: FloorMode

    def pending(self) -> tuple[str, ...]:
        return tuple(m for m in self.order if m not in self.taken)


@dataclass(frozen=True)
class FloorState:
    """The floor of one group room.

    `participants` are the admitted, present members who can hold the floor, in join
    order (therapists are not among them: their audio gate is always open). `hands`
    are kept in raise order; the policy order is computed with `hand_queue()`
    because least-talk-first depends on talk time, which moves.
    """

    settings: FloorSettings
    talk: TalkTimeLedger
    clock: float
    mode: FloorMode = FloorMode.OPEN
    participants: tuple[str, ...] = ()
    hands: tuple[HandRaise, ...] = ()
    turn: Turn | None = None
    go_around: GoAround | None = None
    # Participants whose voice detector currently says "speaking", gate open or not;
    # the ledger counts only those whose gate is open.
    voice_active: frozenset[str] = field(default_factory=frozenset)
    next_seq: int = 0

    def __post_init__(self) -> None:
        present = set(self.participants)
        if len(present) != len(self.participants):
            raise ValueError("a participant is listed twice")
        raised = [hand.member for hand in self.hands]
        if len(set(raised)) != len(raised):
            raise ValueError("a member has two hands in the queue")
        if not present.issuperset(raised):
            raise ValueError("a hand is raised by someone who is not present")
        if not present.issuperset(self.voice_active):
            raise ValueError("voice activity is tracked for someone who is not present")
        if (self.go_around is not None) != (self.mode is FloorMode.GO_AROUND):
            raise ValueError("go-around state exists exactly in go-around mode")
        if self.turn is None:
            return
        if self.mode is FloorMode.OPEN:
            raise ValueError("nobody holds the floor in open mode")
        if self.turn.member not in present:
            raise ValueError("the floor holder is not present")
        if self.turn.member in raised:
            raise ValueError("the floor holder still has a hand raised")
        if self.go_around is not None and self.turn.member not in self.go_around.taken:
            raise ValueError("a go-around turn is not marked as taken")

    @property
    def holder(self) -> str | None:
        return None if self.turn is None else self.turn.member

    def hand_of(self, member: str) -> HandRaise | None:
        return next((hand for hand in self.hands if hand.member == member), None)


def new_floor(now: float, settings: FloorSettings | None = None) -> FloorState:
    """An empty floor in open mode; the room aggregate `join`s participants into it."""
    return FloorState(settings=settings or FloorSettings(), talk=new_ledger(now), clock=now)
