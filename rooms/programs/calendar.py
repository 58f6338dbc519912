"""A program's calendar: which occurrences are whose, what is on now or next, days and weeks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from rooms.programs.errors import ProgramError, ProgramErrorCode
from rooms.programs.program import PersonRole, Program
from rooms.programs.schedule import (
    LOOKAHEAD,
    MAX_SLOT_MINUTES,
    Occurrence,
    Weekday,
    WindowState,
    local_start,
    occurrences,
)

# How far back an occurrence that is still open can have started.
_LOOKBACK = timedelta(minutes=MAX_SLOT_MINUTES + 120)
MAX_ISO_WEEK_SPAN_YEARS = (2000, 2200)


def program_occurrences(program: Program, since: datetime, until: datetime) -> list[Occurrence]:
    return occurrences(
        program.slots,
        program.zone,
        since,
        until,
        open_before=timedelta(minutes=program.open_before_minutes),
        close_after=timedelta(minutes=program.close_after_minutes),
    )


def person_occurrences(
    program: Program, person_id: str, since: datetime, until: datetime
) -> list[Occurrence]:
    """A member's own sessions; a therapist's are all of the program's."""
    person = program.require_person(person_id)
    found = program_occurrences(program, since, until)
    if person.role is PersonRole.THERAPIST:
        return found
    return [o for o in found if o.is_for(person.id)]


@dataclass(frozen=True)
class NowAndNext:
    current: Occurrence | None
    next: Occurrence | None


def now_and_next(program: Program, person_id: str, now: datetime) -> NowAndNext:
    """The person's occurrence whose room is open now (the earliest, if two overlap),
    and the first one whose room has not opened yet."""
    found = person_occurrences(program, person_id, now - _LOOKBACK, now + LOOKAHEAD)
    current = next((o for o in found if o.state(now) is WindowState.OPEN), None)
    upcoming = next((o for o in found if o.state(now) is WindowState.UPCOMING), None)
    return NowAndNext(current, upcoming)


def describe_start(occurrence: Occurrence, zone: ZoneInfo) -> str:
    """'Wednesday 10:00, group': what a person reads, in the program's time zone."""
    local = occurrence.starts_at.astimezone(zone)
    return f"{Weekday(local.weekday()).title} {local:%H:%M}, {occurrence.kind.value}"


def next_session_text(occurrence: Occurrence | None, zone: ZoneInfo) -> str:
    if occurrence is None:
        return "No sessions are scheduled for you."
    return f"Your next session: {describe_start(occurrence, zone)}"


def day_bounds(zone: ZoneInfo, now: datetime) -> tuple[datetime, datetime]:
    """The local day around `now` (23 or 25 hours long on a DST change)."""
    day = now.astimezone(zone).date()
    return _midnight(day, zone), _midnight(day + timedelta(days=1), zone)


def week_of(zone: ZoneInfo, now: datetime) -> tuple[int, int]:
    year, week, _ = now.astimezone(zone).isocalendar()
    return year, week


def week_bounds(zone: ZoneInfo, year: int, week: int) -> tuple[datetime, datetime]:
    """Monday 00:00 to the next Monday 00:00 in the program's time zone (ISO weeks)."""
    low, high = MAX_ISO_WEEK_SPAN_YEARS
    if not low <= year <= high:
        raise ProgramError(ProgramErrorCode.INVALID_SCHEDULE, f"year {year} is out of range")
    try:
        monday = date.fromisocalendar(year, week, 1)
    except ValueError:
        raise ProgramError(
            ProgramErrorCode.INVALID_SCHEDULE, f"{year} has no week {week}"
        ) from None
    return _midnight(monday, zone), _midnight(monday + timedelta(days=7), zone)


def parse_week(text: str) -> tuple[int, int]:
    """'2026-W49' -> (2026, 49)."""
    year, sep, week = text.strip().upper().partition("-W")
    if not sep or not year.isdigit() or not week.isdigit() or len(year) != 4 or len(week) > 2:
        raise ProgramError(
            ProgramErrorCode.INVALID_SCHEDULE, f"a week is YYYY-Www, not {text[:16]!r}"
        )
    return int(year), int(week)


def format_week(year: int, week: int) -> str:
    return f"{year:04d}-W{week:02d}"


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return local_start(day, time(0, 0), zone).astimezone(UTC)
