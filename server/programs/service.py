"""What programs do: people, schedules, personal links, occurrence rooms, audited reads.

Every change is saved before it is answered; every read of attendance and every purge
is written to the audit log (ids and counts, never names).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, time
from enum import StrEnum

from rooms.programs.attendance import OccurrenceAttendance
from rooms.programs.calendar import (
    day_bounds,
    now_and_next,
    program_occurrences,
)
from rooms.programs.errors import ProgramError, ProgramErrorCode
from rooms.programs.program import (
    Person,
    PersonRole,
    Program,
    add_person,
    add_slot,
    next_slot_id,
    remove_person,
)
from rooms.programs.schedule import Occurrence, SessionKind, Weekday, WeeklySlot, WindowState
from rooms.roles import Role
from server.audit.log import AuditLog
from server.auth.tokens import TokenIssuer
from server.programs import links
from server.programs.clock import ProgramClock
from server.programs.occurrence_rooms import OccurrenceRooms
from server.programs.recorder import AttendanceRecorder
from server.programs.store import ProgramStore, Purged
from server.room_service import RoomService
from server.settings import Settings

# A join token minted from a personal link is used at once by the page that asked for it:
# short, so a member removed from the program cannot come back with an old one.
JOIN_TOKEN_TTL_S = 10 * 60.0


# Who changes programs in the audit log: the admin API's caller (the admin key names nobody).
ADMIN = "admin"


class ProgramAudit(StrEnum):
    CREATED = "program_created"
    PERSON_ADDED = "program_person_added"
    PERSON_REMOVED = "program_person_removed"
    LINK_REPLACED = "program_link_replaced"
    SCHEDULE_CHANGED = "program_schedule_changed"
    ATTENDANCE_READ = "attendance_read"
    PURGE = "program_purge"


class NotFound(Exception):
    pass


@dataclass(frozen=True)
class Enrolled:
    person: Person
    url: str


@dataclass(frozen=True)
class Entry:
    """What a personal link opens now: a join URL, or when the next session is."""

    program: Program
    person: Person
    current: Occurrence | None
    next: Occurrence | None
    join_url: str | None


class ProgramService:
    def __init__(
        self,
        settings: Settings,
        store: ProgramStore,
        rooms: RoomService,
        issuer: TokenIssuer,
        audit: AuditLog,
        clock: ProgramClock,
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.recorder = AttendanceRecorder(store, clock)
        self.rooms = OccurrenceRooms(settings, store, rooms, self.recorder, clock)
        self._issuer = issuer
        self._audit = audit

    # --- programs and people ----------------------------------------------------

    async def create(self, program: Program, actor: str) -> Program:
        program = replace(program, id="pg_" + secrets.token_urlsafe(9))
        await self.store.save_program(program, new=True)
        self._note(ProgramAudit.CREATED, actor, program=program.id)
        return program

    async def _change(self, program_id: str, change: Callable[[Program], Program]) -> Program:
        program = await self.store.change_program(program_id, change)
        if program is None:
            raise NotFound(f"no program {program_id}")
        return program

    async def get(self, program_id: str) -> Program:
        program = await self.store.program(program_id)
        if program is None:
            raise NotFound(f"no program {program_id}")
        return program

    async def enroll(self, program_id: str, role: PersonRole, name: str, base_url: str) -> Enrolled:
        prefix = "m_" if role is PersonRole.MEMBER else "t_"
        person = Person(prefix + secrets.token_urlsafe(9), role, name)
        program = await self._change(program_id, lambda p: add_person(p, person))
        url = await self._new_link(program, person, base_url)
        self._note(ProgramAudit.PERSON_ADDED, ADMIN, program=program.id, person=person.id)
        return Enrolled(person, url)

    async def remove(self, program_id: str, person_id: str) -> None:
        """The person's link stops working with this call's answer."""
        # The link goes first: whatever happens next, it no longer opens anything.
        await self.get(program_id)
        await self.store.drop_link(program_id, person_id)
        await self._change(program_id, lambda p: remove_person(p, person_id))
        self._note(ProgramAudit.PERSON_REMOVED, ADMIN, program=program_id, person=person_id)

    async def replace_link(self, program_id: str, person_id: str, base_url: str) -> Enrolled:
        program = await self.get(program_id)
        person = program.require_person(person_id)
        url = await self._new_link(program, person, base_url)
        self._note(ProgramAudit.LINK_REPLACED, ADMIN, program=program_id, person=person_id)
        return Enrolled(person, url)

    async def _new_link(self, program: Program, person: Person, base_url: str) -> str:
        secret = links.new_secret()
        await self.store.set_link(program.id, person.id, links.digest(secret))
        return links.personal_url(base_url, person.role, secret)

    async def schedule(
        self,
        program_id: str,
        kind: SessionKind,
        days: list[Weekday],
        start: time,
        minutes: int,
        member_id: str | None,
    ) -> list[WeeklySlot]:
        added: list[WeeklySlot] = []

        def add(program: Program) -> Program:
            added[:] = _new_slots(program, kind, days, start, minutes, member_id)
            for slot in added:
                program = add_slot(program, slot)
            return program

        await self._change(program_id, add)
        self._note(ProgramAudit.SCHEDULE_CHANGED, ADMIN, program=program_id, slots=len(added))
        return added

    # --- what a personal link opens -----------------------------------------------

    async def holder(self, secret: object) -> tuple[Program, Person]:
        if not links.plausible(secret):
            raise NotFound("not a personal link")
        assert isinstance(secret, str)
        found = await self.store.link_holder(links.digest(secret))
        program = await self.store.program(found.program_id) if found else None
        person = program.person(found.person_id) if program and found else None
        if program is None or person is None:
            raise NotFound("This link is not valid any more. Ask your clinic for a new one.")
        return program, person

    async def enter(self, secret: object, base_url: str) -> Entry:
        program, person = await self.holder(secret)
        plan = now_and_next(program, person.id, self.clock.now())
        join_url = None
        if plan.current is not None and person.role is PersonRole.MEMBER:
            join_url = await self.join_url(program, person, plan.current, base_url)
        return Entry(program, person, plan.current, plan.next, join_url)

    async def join_url(
        self, program: Program, person: Person, occurrence: Occurrence, base_url: str
    ) -> str:
        room = await self.rooms.room_for(program, occurrence)
        role = Role.THERAPIST if person.role is PersonRole.THERAPIST else Role.PARTICIPANT
        left = (occurrence.closes_at - self.clock.now()).total_seconds()
        token = self._issuer.issue(
            room=room.id,
            kind=room.kind,
            role=role,
            name=person.name,
            ttl_s=max(1.0, min(JOIN_TOKEN_TTL_S, left)),
            subject=person.id,
        )
        return f"{base_url.rstrip('/')}/join#t={token}"

    async def therapist_join_url(self, secret: object, occurrence_key: str, base_url: str) -> str:
        program, person = await self.holder(secret)
        if person.role is not PersonRole.THERAPIST:
            raise NotFound("not a therapist's link")
        today = await self.todays(program)
        occurrence = next((o for o in today if o.key == occurrence_key), None)
        if occurrence is None or occurrence.state(self.clock.now()) is not WindowState.OPEN:
            raise ProgramError(ProgramErrorCode.INVALID_SCHEDULE, "that session is not open now")
        return await self.join_url(program, person, occurrence, base_url)

    async def todays(self, program: Program) -> list[Occurrence]:
        return program_occurrences(program, *day_bounds(program.zone, self.clock.now()))

    # --- attendance: every read is audited ----------------------------------------

    async def read_attendance(
        self, program: Program, since: datetime, until: datetime, *, reader: str, scope: str
    ) -> dict[str, OccurrenceAttendance]:
        records = await self.store.attendance_between(
            program.id, since.timestamp(), until.timestamp()
        )
        self._note(
            ProgramAudit.ATTENDANCE_READ,
            reader,
            program=program.id,
            scope=scope,
            records=len(records),
        )
        return {r.occurrence_key: r for r in records}

    async def purge(self, program_id: str | None, actor: str) -> Purged:
        cutoff = self.clock() - self.settings.program_retention_days * 86400.0
        if program_id is not None:
            await self.get(program_id)
        purged = await self.store.purge(before=cutoff, program_id=program_id)
        self._note(
            ProgramAudit.PURGE,
            actor,
            program=program_id,
            programs=purged.programs,
            occurrences=purged.occurrences,
            retention_days=self.settings.program_retention_days,
        )
        return purged

    def _note(self, event: ProgramAudit, actor: str, **details: str | int | float | None) -> None:
        self._audit.append(event.value, room=None, subject=actor, role=None, details=details)


def _new_slots(
    program: Program,
    kind: SessionKind,
    days: list[Weekday],
    start: time,
    minutes: int,
    member_id: str | None,
) -> list[WeeklySlot]:
    if member_id is not None and program.require_person(member_id).role is not PersonRole.MEMBER:
        raise ProgramError(ProgramErrorCode.UNKNOWN_PERSON, f"{member_id} is not a member")
    if not days or len(days) != len(set(days)):
        raise ProgramError(ProgramErrorCode.INVALID_SCHEDULE, "give each day once, at least one")
    slots: list[WeeklySlot] = []
    for day in days:
        slot_id = next_slot_id(replace(program, slots=(*program.slots, *slots)))
        slots.append(WeeklySlot(slot_id, kind, day, start, minutes, member_id))
    return slots
