"""Refusals of floor commands; their codes are `rooms.errors.ErrorCode`'s floor section."""

from __future__ import annotations

from rooms.errors import DomainError, ErrorCode


class FloorError(DomainError):
    """A floor command the current floor state refuses. A `ValueError` (via
    `DomainError`), so the codec answers it like every other domain refusal."""

    def __init__(self, code: ErrorCode, message: str | None = None) -> None:
        super().__init__(code, message)
