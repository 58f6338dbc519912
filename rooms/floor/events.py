"""What happened to the floor. Event names live in one enum; the codec maps them to
the wire. Every event carries `at`, the room clock time of the command that caused it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from rooms.floor.state import FloorMode, FloorSettings, FloorState, TurnLimitAction


class FloorEventName(StrEnum):
    MODE_CHANGED = "floor_mode_changed"
    SETTINGS_CHANGED = "floor_settings_changed"
    HAND_RAISED = "hand_raised"
    HAND_LOWERED = "hand_lowered"
    QUEUE_CHANGED = "hand_queue_changed"
    FLOOR_GRANTED = "floor_granted"
    FLOOR_RELEASED = "floor_released"
    TURN_WARNING = "turn_warning"
    TURN_LIMIT_REACHED = "turn_limit_reached"
    TURN_EXTENDED = "turn_extended"
    GO_AROUND_STARTED = "go_around_started"
    GO_AROUND_SKIPPED = "go_around_skipped"
    GO_AROUND_ENDED = "go_around_ended"


class HandLoweredReason(StrEnum):
    BY_MEMBER = "by_member"
    GOT_FLOOR = "got_floor"
    LEFT = "left"


class GrantReason(StrEnum):
    BY_THERAPIST = "by_therapist"
    AUTO_ADVANCE = "auto_advance"
    GO_AROUND = "go_around"
    # The therapist offered a quiet member the floor; they take it by speaking or pass.
    INVITED = "invited"


class ReleaseReason(StrEnum):
    YIELDED = "yielded"
    PASSED = "passed"
    SKIPPED = "skipped"
    ENDED_BY_THERAPIST = "ended_by_therapist"
    # The therapist gave the floor to someone else while this turn was running.
    REPLACED = "replaced"
    TIME_UP = "time_up"
    MODE_CHANGED = "mode_changed"
    LEFT = "left"
    # The holder's connection dropped and did not come back in time.
    CONNECTION_LOST = "connection_lost"


@dataclass(frozen=True)
class ModeChanged:
    old: FloorMode
    new: FloorMode
    at: float
    name: FloorEventName = FloorEventName.MODE_CHANGED


@dataclass(frozen=True)
class SettingsChanged:
    settings: FloorSettings
    at: float
    name: FloorEventName = FloorEventName.SETTINGS_CHANGED


@dataclass(frozen=True)
class HandRaised:
    member: str
    at: float
    name: FloorEventName = FloorEventName.HAND_RAISED


@dataclass(frozen=True)
class HandLowered:
    member: str
    reason: HandLoweredReason
    waited_s: float
    at: float
    name: FloorEventName = FloorEventName.HAND_LOWERED


@dataclass(frozen=True)
class QueueChanged:
    """The hand queue in policy order, head first, after the command."""

    order: tuple[str, ...]
    at: float
    name: FloorEventName = FloorEventName.QUEUE_CHANGED


@dataclass(frozen=True)
class FloorGranted:
    member: str
    reason: GrantReason
    limit_s: float | None
    at: float
    name: FloorEventName = FloorEventName.FLOOR_GRANTED


@dataclass(frozen=True)
class FloorReleased:
    member: str
    reason: ReleaseReason
    held_s: float
    at: float
    name: FloorEventName = FloorEventName.FLOOR_RELEASED


@dataclass(frozen=True)
class TurnWarning:
    member: str
    remaining_s: float
    at: float
    name: FloorEventName = FloorEventName.TURN_WARNING


@dataclass(frozen=True)
class TurnLimitReached:
    member: str
    action: TurnLimitAction
    at: float
    name: FloorEventName = FloorEventName.TURN_LIMIT_REACHED


@dataclass(frozen=True)
class TurnExtended:
    member: str
    limit_s: float
    at: float
    name: FloorEventName = FloorEventName.TURN_EXTENDED


@dataclass(frozen=True)
class GoAroundStarted:
    order: tuple[str, ...]
    turn_s: float
    at: float
    name: FloorEventName = FloorEventName.GO_AROUND_STARTED


@dataclass(frozen=True)
class GoAroundSkipped:
    """A member waiting for their go-around turn was skipped by the therapist."""

    member: str
    at: float
    name: FloorEventName = FloorEventName.GO_AROUND_SKIPPED


@dataclass(frozen=True)
class GoAroundEnded:
    at: float
    name: FloorEventName = FloorEventName.GO_AROUND_ENDED


FloorEvent = (
    ModeChanged
    | SettingsChanged
    | HandRaised
    | HandLowered
    | QueueChanged
    | FloorGranted
    | FloorReleased
    | TurnWarning
    | TurnLimitReached
    | TurnExtended
    | GoAroundStarted
    | GoAroundSkipped
    | GoAroundEnded
)

# What a floor command returns: the new floor and what happened, in order.
FloorOutcome = tuple[FloorState, tuple[FloorEvent, ...]]
