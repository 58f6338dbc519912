"""Refusals of floor commands, each with a machine-readable code for the wire."""

from __future__ import annotations

from enum import StrEnum

from rooms.errors import DomainError


class FloorErrorCode(StrEnum):
    NOT_A_MEMBER = "not_a_member"
    ALREADY_A_MEMBER = "already_a_member"
    NO_FLOOR_IN_OPEN_MODE = "no_floor_in_open_mode"
    NOT_IN_HAND_QUEUE_MODE = "not_in_hand_queue_mode"
    NOT_IN_GO_AROUND_MODE = "not_in_go_around_mode"
    # The round decides who speaks next; handing the floor around it would let
    # someone take a second turn before everyone had one.
    GO_AROUND_IN_PROGRESS = "go_around_in_progress"
    NO_MEMBERS = "no_members"
    HAND_ALREADY_RAISED = "hand_already_raised"
    NOT_IN_QUEUE = "not_in_queue"
    QUEUE_EMPTY = "queue_empty"
    HOLDS_FLOOR = "holds_floor"
    NOT_FLOOR_HOLDER = "not_floor_holder"
    NO_FLOOR_HOLDER = "no_floor_holder"
    NO_TURN_LIMIT = "no_turn_limit"
    INVALID_EXTENSION = "invalid_extension"
    ALREADY_HAD_TURN = "already_had_turn"


class FloorError(DomainError):
    """A floor command the current floor state refuses. A `ValueError` (via
    `DomainError`), so the codec answers it like every other domain refusal."""

    def __init__(self, code: FloorErrorCode, message: str) -> None:
        # A StrEnum member, so `error.code == "not_in_queue"` holds as for any DomainError.
        super().__init__(code, message)
