"""Attendance of one occurrence, from presence changes the server already sees.

A member is present while connected and admitted (a waiting room is not the session).
A dropped connection ends the interval at once: the grace period that holds the seat
is not attendance. What is kept: first join, last leave, minutes present, whether the
member spoke (talk time above zero, group rooms only: individual rooms are browser to
browser and the server hears nothing), and the occurrence's participant count.
Nothing about what was said.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

# An occurrence's record is bounded like the room it came from.
MAX_INTERVALS = 500


@dataclass(frozen=True)
class MemberAttendance:
    member_id: str
    # Closed (start, end) intervals in epoch seconds, oldest first.
    intervals: tuple[tuple[float, float], ...] = ()
    present_since: float | None = None
    # None: not measured (an individual session); else whether talk time was above zero.
    spoke: bool | None = None

    @property
    def first_join(self) -> float | None:
        if self.intervals:
            return self.intervals[0][0]
        return self.present_since

    @property
    def last_leave(self) -> float | None:
        """None while present, or if never present."""
        if self.present_since is not None or not self.intervals:
            return None
        return self.intervals[-1][1]

    def seconds_present(self, now: float) -> float:
        closed = sum(end - start for start, end in self.intervals)
        running = max(0.0, now - self.present_since) if self.present_since is not None else 0.0
        return closed + running

    def minutes_present(self, now: float) -> float:
        return round(self.seconds_present(now) / 60.0, 2)

    @property
    def attended(self) -> bool:
        return bool(self.intervals) or self.present_since is not None


def arrived(record: MemberAttendance, at: float) -> MemberAttendance:
    """Connected and admitted. Arriving while already present changes nothing (a replaced
    connection keeps its seat)."""
    if record.present_since is not None:
        return record
    if len(record.intervals) >= MAX_INTERVALS:
        # A flapping connection: merge into the last interval instead of growing.
        start, _ = record.intervals[-1]
        return replace(record, intervals=record.intervals[:-1], present_since=start)
    return replace(record, present_since=at)


def departed(record: MemberAttendance, at: float) -> MemberAttendance:
    if record.present_since is None:
        return record
    interval = (record.present_since, max(at, record.present_since))
    return replace(record, intervals=(*record.intervals, interval), present_since=None)


def heard(record: MemberAttendance, spoke: bool | None) -> MemberAttendance:
    """Talk time only grows: once a member spoke, they spoke."""
    if spoke is None or record.spoke is True:
        return record
    return replace(record, spoke=spoke)


@dataclass(frozen=True)
class OccurrenceAttendance:
    program_id: str
    occurrence_key: str
    room_id: str
    starts_at: float
    members: tuple[MemberAttendance, ...] = ()

    def of(self, member_id: str) -> MemberAttendance:
        return next(
            (m for m in self.members if m.member_id == member_id), MemberAttendance(member_id)
        )

    def with_record(self, record: MemberAttendance) -> OccurrenceAttendance:
        """Replaces the member's record in place (or appends it): order is arrival order."""
        if all(m.member_id != record.member_id for m in self.members):
            return replace(self, members=(*self.members, record))
        return replace(
            self,
            members=tuple(record if m.member_id == record.member_id else m for m in self.members),
        )

    @property
    def participant_count(self) -> int:
        """Members who were present at any time: what group billing documents."""
        return sum(1 for m in self.members if m.attended)

    def closed_at(self, at: float) -> OccurrenceAttendance:
        """Everyone still present leaves now (the room closed, or the server stopped)."""
        return replace(self, members=tuple(departed(m, at) for m in self.members))
