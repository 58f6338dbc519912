"""Request bodies of the programs API: every field typed and bounded, extra fields refused."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from rooms.programs.program import (
    MAX_BILLABLE_GROUP,
    MAX_NAME_CHARS,
    MAX_TITLE_CHARS,
    MAX_WINDOW_MINUTES,
)
from rooms.programs.schedule import MAX_SLOT_MINUTES, MIN_SLOT_MINUTES


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class CreateProgram(Strict):
    timezone: str = Field(min_length=1, max_length=64)
    title: str = Field(default="Program", min_length=1, max_length=MAX_TITLE_CHARS)
    weekly_target_hours: float = Field(default=9.0, ge=0, le=60)
    max_billable_group: int = Field(default=12, ge=1, le=MAX_BILLABLE_GROUP)
    open_before_minutes: int = Field(default=15, ge=0, le=MAX_WINDOW_MINUTES)
    close_after_minutes: int = Field(default=15, ge=0, le=MAX_WINDOW_MINUTES)


class AddPerson(Strict):
    name: str = Field(min_length=1, max_length=MAX_NAME_CHARS)


class Schedule(Strict):
    kind: Literal["group", "individual"]
    days: list[str] = Field(min_length=1, max_length=7)
    start: str = Field(min_length=4, max_length=5)
    minutes: int = Field(ge=MIN_SLOT_MINUTES, le=MAX_SLOT_MINUTES)
    member: str | None = Field(default=None, min_length=1, max_length=64)


class Attendance(Strict):
    week: str | None = Field(default=None, min_length=7, max_length=8)
    format: Literal["json", "csv"] = "json"


class Purge(Strict):
    program: str | None = Field(default=None, min_length=1, max_length=64)


class PersonalKey(Strict):
    key: str = Field(min_length=1, max_length=64)


class PersonalJoin(PersonalKey):
    occurrence: str = Field(min_length=1, max_length=64)


class SetClock(Strict):
    now: float = Field(ge=0, le=10_000_000_000)
