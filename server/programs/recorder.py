"""Attendance from room events, the way the audit and webhook listeners hear them.

Subscribed to RoomService, which calls listeners under the room's lock after the save,
so one room's events arrive here one batch at a time and in order. Only seats of
participants in a program's occurrence room are recorded; every other room costs a
dictionary lookup.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from rooms.events import (
    DomainEvent,
    MemberAdmitted,
    MemberDisconnected,
    MemberJoined,
    MemberLeft,
    MemberReconnected,
    MemberSentBack,
    RoomStateChanged,
)
from rooms.member import Member, Presence
from rooms.programs.attendance import OccurrenceAttendance, arrived, departed, heard
from rooms.roles import Role
from rooms.room import Room, RoomState
from server.programs.store import ProgramStore

log = logging.getLogger(__name__)

# Rooms known not to be a program's: forgotten wholesale past this (cheap to re-learn).
MAX_OTHER_ROOMS = 10_000


class AttendanceRecorder:
    def __init__(self, store: ProgramStore, clock: Callable[[], float]) -> None:
        self._store = store
        self._clock = clock
        self._records: dict[str, OccurrenceAttendance] = {}
        self._other_rooms: set[str] = set()

    def track(self, record: OccurrenceAttendance) -> None:
        """A program's occurrence room was just made (or found): record it from now."""
        self._records[record.room_id] = record
        self._other_rooms.discard(record.room_id)

    async def __call__(self, room: Room, events: Sequence[DomainEvent]) -> None:
        record = await self._record_of(room.id)
        if record is None:
            return
        now = self._clock()
        updated = record
        for event in events:
            updated = _apply(updated, event, now)
        updated = _with_talk(updated, room, now)
        if updated != record:
            self._records[room.id] = updated
            await self._store.save_attendance(updated)

    async def _record_of(self, room_id: str) -> OccurrenceAttendance | None:
        if room_id in self._other_rooms:
            return None
        record = self._records.get(room_id)
        if record is None:
            record = await self._store.occurrence_of_room(room_id)
            if record is None:
                if len(self._other_rooms) >= MAX_OTHER_ROOMS:
                    self._other_rooms.clear()
                self._other_rooms.add(room_id)
                return None
            self._records[room_id] = record
        return record


def _apply(record: OccurrenceAttendance, event: DomainEvent, now: float) -> OccurrenceAttendance:
    match event:
        case MemberJoined(member=m) | MemberAdmitted(member=m) | MemberReconnected(member=m):
            if _counts(m) and m.admitted and m.presence is Presence.CONNECTED:
                return record.with_record(arrived(record.of(m.id), now))
        case MemberDisconnected(member=m) | MemberLeft(member=m) | MemberSentBack(member=m):
            if _counts(m):
                return record.with_record(departed(record.of(m.id), now))
        case RoomStateChanged(new=RoomState.ENDED | RoomState.EXPIRED):
            return record.closed_at(now)
        case _:
            pass
    return record


def _counts(member: Member) -> bool:
    # Therapists run the session; attendance is the members'.
    return member.role is Role.PARTICIPANT


def _with_talk(record: OccurrenceAttendance, room: Room, now: float) -> OccurrenceAttendance:
    """Spoke or not, from the server-measured talk time (group rooms: the relay hears it)."""
    if room.floor is None:
        return record
    talk = room.floor.talk
    for member in record.members:
        spoke = talk.of(member.member_id).speaking_seconds(now) > 0
        record = record.with_record(heard(member, spoke))
    return record
