"""One refusal type for programs: a code the API and CLI can name, and words for people."""

from __future__ import annotations

from enum import StrEnum


class ProgramErrorCode(StrEnum):
    INVALID_PROGRAM = "invalid_program"
    INVALID_SCHEDULE = "invalid_schedule"
    TOO_MANY = "too_many"
    UNKNOWN_PERSON = "unknown_person"


class ProgramError(ValueError):
    def __init__(self, code: ProgramErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
