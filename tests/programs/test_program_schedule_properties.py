"""Property tests of the schedule arithmetic in any IANA zone, across any DST change."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

from hypothesis import given, settings
from hypothesis import strategies as st

from rooms.programs.calendar import day_bounds, now_and_next, week_bounds, week_of
from rooms.programs.program import Person, PersonRole, Program
from rooms.programs.schedule import SessionKind, Weekday, WeeklySlot, WindowState, occurrences

# Zones with DST changes in both hemispheres, half-hour and odd offsets, and none.
ZONES = sorted(
    {
        "Europe/Berlin", "America/New_York", "America/Santiago", "Australia/Lord_Howe",
        "Australia/Sydney", "Asia/Kolkata", "Pacific/Chatham", "America/St_Johns", "UTC",
        "Europe/Dublin", "Africa/Casablanca", "America/Havana",
    } & available_timezones()
)  # fmt: skip

zones = st.sampled_from(ZONES).map(ZoneInfo)
moments = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
)
slots = st.builds(
    WeeklySlot,
    id=st.sampled_from(["s1", "s2", "s3"]),
    kind=st.just(SessionKind.GROUP),
    weekday=st.sampled_from(list(Weekday)),
    start=st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45])),
    minutes=st.integers(15, 480),
)
schedules = st.lists(slots, min_size=1, max_size=3, unique_by=lambda s: s.id).map(tuple)
FAST = settings(max_examples=150, deadline=None, derandomize=True, database=None)


def _wall(o_start: datetime, zone: ZoneInfo) -> datetime:
    return o_start.astimezone(zone).replace(tzinfo=None)


@FAST
@given(schedules, zones, moments, st.integers(1, 21))
def test_occurrences_are_in_range_sorted_unique_and_on_their_weekday(
    schedule: tuple[WeeklySlot, ...], zone: ZoneInfo, since: datetime, days: int
) -> None:
    until = since + timedelta(days=days)
    found = occurrences(schedule, zone, since, until)
    assert [o.starts_at for o in found] == sorted(o.starts_at for o in found)
    assert len({o.key for o in found}) == len(found)
    for o in found:
        assert since <= o.starts_at < until
        assert o.ends_at - o.starts_at == timedelta(minutes=o.slot.minutes)
        local = _wall(o.starts_at, zone)
        # On its weekday, at its wall time, unless that time did not exist that day:
        # then later the same day by the gap (at most an hour in these zones).
        wanted = datetime.combine(local.date(), o.slot.start)
        assert local.weekday() == o.slot.weekday
        assert timedelta(0) <= local - wanted <= timedelta(hours=1)


@FAST
@given(schedules, zones, moments)
def test_every_slot_occurs_exactly_once_a_week(
    schedule: tuple[WeeklySlot, ...], zone: ZoneInfo, moment: datetime
) -> None:
    start, end = week_bounds(zone, *week_of(zone, moment))
    found = occurrences(schedule, zone, start, end)
    assert sorted(o.slot.id for o in found) == sorted(s.id for s in schedule)


@FAST
@given(schedules, zones, moments, st.integers(1, 60))
def test_splitting_a_range_finds_the_same_occurrences(
    schedule: tuple[WeeklySlot, ...], zone: ZoneInfo, since: datetime, hours: int
) -> None:
    middle = since + timedelta(hours=hours)
    until = middle + timedelta(days=3)
    whole = occurrences(schedule, zone, since, until)
    parts = occurrences(schedule, zone, since, middle) + occurrences(schedule, zone, middle, until)
    assert whole == parts


@FAST
@given(zones, moments)
def test_local_days_tile_time_without_gaps(zone: ZoneInfo, moment: datetime) -> None:
    start, end = day_bounds(zone, moment)
    assert start <= moment < end
    assert timedelta(hours=22) <= end - start <= timedelta(hours=26)
    assert day_bounds(zone, end)[0] == end


@FAST
@given(schedules, zones, moments, st.integers(0, 120), st.integers(0, 120))
def test_now_and_next_agree_with_the_windows(
    schedule: tuple[WeeklySlot, ...], zone: ZoneInfo, now: datetime, before: int, after: int
) -> None:
    program = Program(
        "pg_1",
        str(zone),
        open_before_minutes=before,
        close_after_minutes=after,
        people=(Person("m1", PersonRole.MEMBER, "M"),),
        slots=schedule,
    )
    plan = now_and_next(program, "m1", now)
    assert plan.next is not None  # a weekly slot always comes round again within 8 days
    assert plan.next.state(now) is WindowState.UPCOMING
    assert plan.next.opens_at - now <= timedelta(days=7, hours=3)
    if plan.current is not None:
        assert plan.current.opens_at <= now < plan.current.closes_at
