"""The weekly schedule: slots in the program's wall-clock time, and the occurrences they make.

A slot says "Wednesday 10:00 for 120 minutes" in the program's IANA time zone. An
occurrence is one dated instance of it, in UTC. Across a DST change the wall-clock
start stays put and the length stays real minutes; two rules settle the odd hours:
- a start that does not exist (spring forward, 02:30 in a 02:00-03:00 gap) moves on
  by the gap (03:30), which is what a clock on the wall would show an hour later;
- a start that happens twice (fall back, 01:30) is the first of the two (fold=0).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import IntEnum, StrEnum
from zoneinfo import ZoneInfo

from rooms.programs.errors import ProgramError, ProgramErrorCode

MIN_SLOT_MINUTES = 15
MAX_SLOT_MINUTES = 8 * 60
# A week and a day: a schedule with any slot has an occurrence within this from any moment.
LOOKAHEAD = timedelta(days=8)


class Weekday(IntEnum):
    MONDAY = 0
    TUESDAY = 1
    WEDNESDAY = 2
    THURSDAY = 3
    FRIDAY = 4
    SATURDAY = 5
    SUNDAY = 6

    @classmethod
    def parse(cls, text: str) -> Weekday:
        key = text.strip().lower()[:3]
        for day in cls:
            if day.name.lower()[:3] == key and len(text.strip()) >= 3:
                return day
        raise ProgramError(ProgramErrorCode.INVALID_SCHEDULE, f"not a weekday: {text[:16]!r}")

    @property
    def title(self) -> str:
        return self.name.capitalize()


class SessionKind(StrEnum):
    GROUP = "group"
    INDIVIDUAL = "individual"


@dataclass(frozen=True)
class WeeklySlot:
    id: str
    kind: SessionKind
    weekday: Weekday
    start: time
    minutes: int
    # Individual slots belong to one member; group slots to every member.
    member_id: str | None = None

    def __post_init__(self) -> None:
        if not MIN_SLOT_MINUTES <= self.minutes <= MAX_SLOT_MINUTES:
            raise ProgramError(
                ProgramErrorCode.INVALID_SCHEDULE,
                f"a session lasts {MIN_SLOT_MINUTES} to {MAX_SLOT_MINUTES} minutes",
            )
        if self.start.tzinfo is not None or self.start.second or self.start.microsecond:
            raise ProgramError(ProgramErrorCode.INVALID_SCHEDULE, "a start is a wall-clock HH:MM")
        if (self.kind is SessionKind.INDIVIDUAL) != (self.member_id is not None):
            raise ProgramError(
                ProgramErrorCode.INVALID_SCHEDULE,
                "an individual slot names one member; a group none",
            )


def parse_start(text: str) -> time:
    try:
        hours, minutes = text.strip().split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise ProgramError(
            ProgramErrorCode.INVALID_SCHEDULE, f"a start time is HH:MM, not {text[:16]!r}"
        ) from None


class WindowState(StrEnum):
    UPCOMING = "upcoming"
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True)
class Occurrence:
    slot: WeeklySlot
    starts_at: datetime  # UTC
    ends_at: datetime  # UTC
    opens_at: datetime  # UTC: the room opens
    closes_at: datetime  # UTC: the room closes

    @property
    def key(self) -> str:
        return f"{self.slot.id}@{self.starts_at:%Y%m%dT%H%MZ}"

    @property
    def kind(self) -> SessionKind:
        return self.slot.kind

    def state(self, now: datetime) -> WindowState:
        if now < self.opens_at:
            return WindowState.UPCOMING
        if now < self.closes_at:
            return WindowState.OPEN
        return WindowState.CLOSED

    def is_for(self, member_id: str) -> bool:
        return self.slot.member_id in (None, member_id)


def local_start(day: date, start: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of `start` on `day` in `zone`, by the rules in the module docstring."""
    return datetime.combine(day, start, tzinfo=zone).astimezone(UTC)


def occurrences(
    slots: tuple[WeeklySlot, ...],
    zone: ZoneInfo,
    since: datetime,
    until: datetime,
    *,
    open_before: timedelta = timedelta(0),
    close_after: timedelta = timedelta(0),
) -> list[Occurrence]:
    """Every occurrence starting in [since, until), in start order."""
    if since.tzinfo is None or until.tzinfo is None:
        raise ValueError("occurrences() takes aware datetimes")
    found = [
        occurrence
        for day in _local_days(zone, since, until)
        for slot in slots
        if slot.weekday == day.weekday()
        and since
        <= (occurrence := _occurrence(slot, day, zone, open_before, close_after)).starts_at
        and occurrence.starts_at < until
    ]
    return sorted(found, key=lambda o: (o.starts_at, o.slot.id))


def _occurrence(
    slot: WeeklySlot, day: date, zone: ZoneInfo, open_before: timedelta, close_after: timedelta
) -> Occurrence:
    starts = local_start(day, slot.start, zone)
    ends = starts + timedelta(minutes=slot.minutes)
    return Occurrence(slot, starts, ends, starts - open_before, ends + close_after)


def _local_days(zone: ZoneInfo, since: datetime, until: datetime) -> Iterator[date]:
    # A day either side: a local date's starts can fall on the UTC day before or after.
    day = since.astimezone(zone).date() - timedelta(days=1)
    last = until.astimezone(zone).date() + timedelta(days=1)
    while day <= last:
        yield day
        day += timedelta(days=1)
