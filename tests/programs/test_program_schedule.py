"""Schedule arithmetic by hand: DST changes in both directions, in three time zones."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from rooms.programs.calendar import (
    day_bounds,
    next_session_text,
    now_and_next,
    parse_week,
    week_bounds,
)
from rooms.programs.errors import ProgramError
from rooms.programs.program import Person, PersonRole, Program, add_person, remove_person
from rooms.programs.schedule import (
    Occurrence,
    SessionKind,
    Weekday,
    WeeklySlot,
    WindowState,
    occurrences,
    parse_start,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def slot(day: Weekday, hh: int, mm: int = 0, minutes: int = 120) -> WeeklySlot:
    return WeeklySlot("s1", SessionKind.GROUP, day, time(hh, mm), minutes)


def only(found: list[Occurrence]) -> Occurrence:
    assert len(found) == 1, found
    return found[0]


def test_a_berlin_morning_is_utc_minus_one_in_winter_and_minus_two_in_summer() -> None:
    winter = only(
        occurrences((slot(Weekday.WEDNESDAY, 10),), BERLIN, utc(2026, 12, 1), utc(2026, 12, 8))
    )
    summer = only(
        occurrences((slot(Weekday.WEDNESDAY, 10),), BERLIN, utc(2026, 7, 1), utc(2026, 7, 8))
    )
    assert winter.starts_at == utc(2026, 12, 2, 9)
    assert summer.starts_at == utc(2026, 7, 1, 8)
    assert winter.ends_at - winter.starts_at == timedelta(hours=2)


def test_spring_forward_a_start_in_the_gap_moves_on_by_the_gap() -> None:
    # Europe/Berlin, Sunday 2026-03-29: 02:00 CET becomes 03:00 CEST.
    found = only(
        occurrences((slot(Weekday.SUNDAY, 2, 30),), BERLIN, utc(2026, 3, 28), utc(2026, 3, 30))
    )
    assert found.starts_at == utc(2026, 3, 29, 1, 30)
    assert found.starts_at.astimezone(BERLIN).strftime("%H:%M") == "03:30"


def test_fall_back_an_ambiguous_start_is_the_first_one_and_lasts_real_minutes() -> None:
    # America/New_York, Sunday 2026-11-01: 02:00 EDT becomes 01:00 EST; 01:30 happens twice.
    found = only(
        occurrences(
            (slot(Weekday.SUNDAY, 1, 30, 90),), NEW_YORK, utc(2026, 10, 31), utc(2026, 11, 2)
        )
    )
    assert found.starts_at == utc(2026, 11, 1, 5, 30)  # 01:30 EDT, the first
    assert found.ends_at == utc(2026, 11, 1, 7, 0)  # 90 real minutes later
    # ...which the wall clock shows as 30 minutes: 02:00 EST.
    assert found.ends_at.astimezone(NEW_YORK).strftime("%H:%M") == "02:00"


def test_a_ten_oclock_session_stays_at_ten_local_across_the_change() -> None:
    slots = (slot(Weekday.MONDAY, 10), slot(Weekday.FRIDAY, 10))
    found = occurrences(slots, NEW_YORK, utc(2026, 2, 27), utc(2026, 3, 14))
    assert [o.starts_at.astimezone(NEW_YORK).strftime("%a %H:%M") for o in found] == [
        "Fri 10:00", "Mon 10:00", "Fri 10:00", "Mon 10:00", "Fri 10:00",
    ]  # fmt: skip
    # ...which is 15:00 UTC before 2026-03-08 and 14:00 UTC after.
    assert [o.starts_at.hour for o in found] == [15, 15, 15, 14, 14]


def test_a_local_day_on_a_dst_change_is_23_or_25_hours() -> None:
    spring = day_bounds(BERLIN, utc(2026, 3, 29, 12))
    autumn = day_bounds(BERLIN, utc(2026, 10, 25, 12))
    assert spring[1] - spring[0] == timedelta(hours=23)
    assert autumn[1] - autumn[0] == timedelta(hours=25)


def test_an_iso_week_runs_from_local_monday_midnight() -> None:
    start, end = week_bounds(BERLIN, *parse_week("2026-W49"))
    assert start == utc(2026, 11, 29, 23)  # Monday 2026-11-30 00:00 CET
    assert end - start == timedelta(days=7)
    with pytest.raises(ProgramError, match="no week 54"):
        week_bounds(BERLIN, 2026, 54)
    with pytest.raises(ProgramError, match="YYYY-Www"):
        parse_week("49")


def test_the_window_opens_before_the_start_and_closes_after_the_end() -> None:
    found = only(
        occurrences(
            (slot(Weekday.WEDNESDAY, 10),),
            BERLIN,
            utc(2026, 12, 1),
            utc(2026, 12, 8),
            open_before=timedelta(minutes=15),
            close_after=timedelta(minutes=10),
        )
    )
    assert found.state(utc(2026, 12, 2, 8, 44)) is WindowState.UPCOMING
    assert found.state(utc(2026, 12, 2, 8, 45)) is WindowState.OPEN
    assert found.state(utc(2026, 12, 2, 11, 9)) is WindowState.OPEN
    assert found.state(utc(2026, 12, 2, 11, 10)) is WindowState.CLOSED


def program_with_alex() -> Program:
    program = Program("pg_1", "Europe/Berlin", open_before_minutes=15, close_after_minutes=15)
    program = add_person(program, Person("m_alex", PersonRole.MEMBER, "Alex"))
    program = add_person(program, Person("m_sam", PersonRole.MEMBER, "Sam"))
    program = add_person(program, Person("t_kim", PersonRole.THERAPIST, "Kim"))
    slots = (
        WeeklySlot("s1", SessionKind.GROUP, Weekday.MONDAY, time(10), 120),
        WeeklySlot("s2", SessionKind.GROUP, Weekday.WEDNESDAY, time(10), 120),
        WeeklySlot("s3", SessionKind.INDIVIDUAL, Weekday.TUESDAY, time(14), 60, "m_sam"),
    )
    return Program(**{**program.__dict__, "slots": slots})


def test_a_member_hears_when_their_next_session_is() -> None:
    program = program_with_alex()
    # Monday 2026-11-30 13:00 Berlin: Monday's group has closed, Tuesday is Sam's only.
    plan = now_and_next(program, "m_alex", utc(2026, 11, 30, 12))
    assert plan.current is None
    assert next_session_text(plan.next, program.zone) == "Your next session: Wednesday 10:00, group"
    sam = now_and_next(program, "m_sam", utc(2026, 11, 30, 12))
    assert (
        next_session_text(sam.next, program.zone) == "Your next session: Tuesday 14:00, individual"
    )


def test_during_the_window_the_current_occurrence_is_found() -> None:
    program = program_with_alex()
    plan = now_and_next(program, "m_alex", utc(2026, 12, 2, 8, 50))  # 09:50 Berlin
    assert plan.current is not None and plan.current.slot.id == "s2"


def test_a_removed_member_takes_their_individual_slots_with_them() -> None:
    program = remove_person(program_with_alex(), "m_sam")
    assert [s.id for s in program.slots] == ["s1", "s2"]
    with pytest.raises(ProgramError, match="no one with id m_sam"):
        now_and_next(program, "m_sam", utc(2026, 12, 2))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"timezone": "../../etc/passwd"}, "unknown time zone"),
        ({"weekly_target_minutes": -1}, "between 0 and"),
        ({"max_billable_group": 0}, "between 1 and"),
        ({"title": "x" * 81}, "longer than 80"),
        (
            {"people": tuple(Person(f"m{i}", PersonRole.MEMBER, "M") for i in range(65))},
            "at most 64",
        ),
    ],
)
def test_a_program_refuses_what_is_out_of_bounds(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ProgramError, match=message):
        Program(**{"id": "pg_1", "timezone": "UTC", **changes})  # type: ignore[arg-type]


def test_slots_and_times_refuse_nonsense() -> None:
    with pytest.raises(ProgramError, match="15 to 480 minutes"):
        slot(Weekday.MONDAY, 10, minutes=5)
    with pytest.raises(ProgramError, match="names one member"):
        WeeklySlot("s1", SessionKind.INDIVIDUAL, Weekday.MONDAY, time(10), 60)
    with pytest.raises(ProgramError, match="HH:MM"):
        parse_start("25:00")
    with pytest.raises(ProgramError, match="not a weekday"):
        Weekday.parse("mo")
    assert Weekday.parse("Wednesday") is Weekday.WEDNESDAY
