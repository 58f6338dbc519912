"""The week at a glance: hours against the target, missed sessions, group size against billing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from rooms.programs.attendance import OccurrenceAttendance
from rooms.programs.program import Program
from rooms.programs.schedule import Occurrence, SessionKind, WindowState


@dataclass(frozen=True)
class MemberWeek:
    member_id: str
    minutes_attended: float
    target_minutes: int
    # Sessions of theirs whose room has closed without them.
    missed: tuple[str, ...]

    @property
    def on_target(self) -> bool:
        return self.minutes_attended >= self.target_minutes


@dataclass(frozen=True)
class SessionWeek:
    occurrence_key: str
    kind: SessionKind
    starts_at: datetime
    participant_count: int
    max_billable: int

    @property
    def over_billable(self) -> bool:
        return self.kind is SessionKind.GROUP and self.participant_count > self.max_billable


@dataclass(frozen=True)
class WeekSummary:
    members: tuple[MemberWeek, ...]
    sessions: tuple[SessionWeek, ...]


def summarize_week(
    program: Program,
    week: list[Occurrence],
    attendance: Mapping[str, OccurrenceAttendance],
    now: datetime,
) -> WeekSummary:
    """`week` holds the week's occurrences; `attendance` their records by occurrence key."""
    at = now.timestamp()
    members = []
    for member in program.members:
        minutes = 0.0
        missed = []
        for occurrence in week:
            if not occurrence.is_for(member.id):
                continue
            record = attendance.get(occurrence.key)
            mine = record.of(member.id) if record is not None else None
            if mine is not None:
                minutes += mine.seconds_present(at) / 60.0
            if occurrence.state(now) is WindowState.CLOSED and (mine is None or not mine.attended):
                missed.append(occurrence.key)
        members.append(
            MemberWeek(member.id, round(minutes, 2), program.weekly_target_minutes, tuple(missed))
        )
    sessions = tuple(
        SessionWeek(
            o.key,
            o.kind,
            o.starts_at,
            attendance[o.key].participant_count if o.key in attendance else 0,
            program.max_billable_group,
        )
        for o in week
    )
    return WeekSummary(tuple(members), sessions)
