"""Each occurrence's one room: made the first time someone needs it, ended when it closes."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace

from rooms.commands import EndRoom
from rooms.engine import SYSTEM
from rooms.errors import DomainError
from rooms.programs.attendance import OccurrenceAttendance
from rooms.programs.program import Program
from rooms.programs.schedule import Occurrence, SessionKind
from rooms.room import Room, RoomKind, RoomPolicy
from server.programs.clock import ProgramClock
from server.programs.recorder import AttendanceRecorder
from server.programs.store import ProgramStore
from server.room_service import RoomService
from server.settings import Settings


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
                    ),
                    closes_at=occurrence.closes_at.timestamp(),
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
        """An occurrence's room closes a set time after it ends (Program.close_after_minutes).

        One indexed query a beat: rooms whose close time has passed and were not closed."""
        for room_id in await self.store.rooms_to_close(self.clock()):
            # Ended meanwhile, or forgotten by the room store: nothing left to end.
            with contextlib.suppress(DomainError):
                await self._rooms.perform(room_id, EndRoom(by=SYSTEM, now=self.clock()))
            await self.store.mark_closed(room_id)
