"""Each occurrence's one room: made the first time someone needs it, ended when it closes."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace
from datetime import timedelta

from rooms.commands import EndRoom
from rooms.engine import SYSTEM
from rooms.errors import DomainError
from rooms.programs.attendance import OccurrenceAttendance
from rooms.programs.calendar import program_occurrences
from rooms.programs.program import Program
from rooms.programs.schedule import Occurrence, SessionKind, WindowState
from rooms.room import Room, RoomKind, RoomPolicy
from server.programs.clock import ProgramClock
from server.programs.recorder import AttendanceRecorder
from server.programs.store import ProgramStore
from server.room_service import RoomService
from server.settings import Settings

# Occurrences that closed this recently get their room ended (the beat may have slept).
END_ROOMS_LOOKBACK = timedelta(days=1)
MAX_REMEMBERED_ENDS = 10_000


class OccurrenceRooms:
    def __init__(
        self,
        settings: Settings,
        store: ProgramStore,
        rooms: RoomService,
        recorder: AttendanceRecorder,
        clock: ProgramClock,
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self._rooms = rooms
        self._recorder = recorder
        self._lock = asyncio.Lock()
        self._ended: set[str] = set()

    async def room_for(self, program: Program, occurrence: Occurrence) -> Room:
        """The occurrence's one room, made the first time someone needs it."""
        async with self._lock:
            record = await self.store.attendance(program.id, occurrence.key)
            room = await self._rooms.get(record.room_id) if record is not None else None
            if room is not None:
                return room
            kind = RoomKind.GROUP if occurrence.kind is SessionKind.GROUP else RoomKind.INDIVIDUAL
            room = await self._rooms.create(
                kind,
                RoomPolicy(grace_s=self.settings.grace_s, max_members=self.settings.max_group_size),
            )
            if record is not None:
                # Its room was forgotten (the store's retention): the record follows the new one.
                record = replace(record, room_id=room.id)
                await self.store.save_attendance(record)
            else:
                record = await self.store.add_occurrence(
                    OccurrenceAttendance(
                        program.id, occurrence.key, room.id, occurrence.starts_at.timestamp()
                    )
                )
            self._recorder.track(record)
            if record.room_id != room.id:
                # Another process sharing the data directory made it first: theirs it is
                # (ours is never joined and expires unused).
                return await self._rooms.get(record.room_id) or room
            return room

    async def live(self, program: Program, occurrence: Occurrence) -> Room | None:
        record = await self.store.attendance(program.id, occurrence.key)
        return await self._rooms.get(record.room_id) if record is not None else None

    async def end_closed(self) -> None:
        """An occurrence's room closes a set time after it ends (Program.close_after_minutes)."""
        now = self.clock.now()
        for program_id in await self.store.program_ids():
            program = await self.store.program(program_id)
            if program is None:
                continue
            for occurrence in program_occurrences(program, now - END_ROOMS_LOOKBACK, now):
                if occurrence.state(now) is not WindowState.CLOSED:
                    continue
                room = await self.live(program, occurrence)
                if room is None or room.is_over or room.id in self._ended:
                    continue
                with contextlib.suppress(DomainError):  # ended meanwhile: nothing to do
                    await self._rooms.execute(room.id, EndRoom(by=SYSTEM, now=self.clock()))
                if len(self._ended) >= MAX_REMEMBERED_ENDS:
                    self._ended.clear()
                self._ended.add(room.id)
