"""The attendance ledger and the week at a glance, by hand."""

from __future__ import annotations

from datetime import UTC, datetime, time

from rooms.programs.attendance import (
    MAX_INTERVALS,
    MemberAttendance,
    OccurrenceAttendance,
    arrived,
    departed,
    heard,
)
from rooms.programs.calendar import program_occurrences, week_bounds
from rooms.programs.program import Person, PersonRole, Program
from rooms.programs.schedule import SessionKind, Weekday, WeeklySlot
from rooms.programs.week import summarize_week


def test_grace_is_not_counted_and_a_resume_opens_a_new_interval() -> None:
    record = MemberAttendance("m1")
    record = arrived(record, 1000.0)
    record = departed(record, 1600.0)  # dropped: grace runs from here, uncounted
    record = arrived(record, 1630.0)  # resumed 30 s later
    record = arrived(record, 1700.0)  # a replaced connection: still the same interval
    record = departed(record, 4000.0)
    assert record.intervals == ((1000.0, 1600.0), (1630.0, 4000.0))
    assert record.first_join == 1000.0 and record.last_leave == 4000.0
    assert record.minutes_present(9999.0) == round((600 + 2370) / 60, 2)


def test_a_present_member_has_no_last_leave_and_time_keeps_running() -> None:
    record = arrived(MemberAttendance("m1"), 100.0)
    assert record.last_leave is None
    assert record.seconds_present(160.0) == 60.0


def test_once_a_member_spoke_they_spoke() -> None:
    record = heard(heard(MemberAttendance("m1"), True), False)
    assert record.spoke is True
    assert heard(MemberAttendance("m1"), None).spoke is None


def test_a_flapping_connection_cannot_grow_the_record_without_bound() -> None:
    record = MemberAttendance("m1")
    for n in range(MAX_INTERVALS + 50):
        record = departed(arrived(record, n * 10.0), n * 10.0 + 5)
    assert len(record.intervals) <= MAX_INTERVALS
    assert record.first_join == 0.0


def test_the_week_counts_hours_missed_sessions_and_billable_size() -> None:
    program = Program(
        "pg_1",
        "UTC",
        weekly_target_minutes=180,
        max_billable_group=1,
        open_before_minutes=0,
        close_after_minutes=0,
        people=(Person("a", PersonRole.MEMBER, "A"), Person("b", PersonRole.MEMBER, "B")),
        slots=(
            WeeklySlot("s1", SessionKind.GROUP, Weekday.MONDAY, time(10), 120),
            WeeklySlot("s2", SessionKind.GROUP, Weekday.WEDNESDAY, time(10), 120),
        ),
    )
    monday, wednesday = program_occurrences(program, *week_bounds(program.zone, 2026, 49))
    start = monday.starts_at.timestamp()
    record = OccurrenceAttendance("pg_1", monday.key, "r_1", start)
    record = record.with_record(departed(arrived(MemberAttendance("a"), start), start + 7200))
    record = record.with_record(departed(arrived(MemberAttendance("b"), start), start + 1800))
    # Thursday: both sessions have closed; nobody came on Wednesday.
    week = summarize_week(
        program, [monday, wednesday], {monday.key: record}, datetime(2026, 12, 3, tzinfo=UTC)
    )
    a, b = week.members
    assert (a.minutes_attended, a.on_target, a.missed) == (120.0, False, (wednesday.key,))
    assert (b.minutes_attended, b.missed) == (30.0, (wednesday.key,))
    assert [(s.participant_count, s.over_billable) for s in week.sessions] == [
        (2, True),
        (0, False),
    ]
