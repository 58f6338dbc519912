"""A program: its therapists, members, weekly schedule and the targets its week is held to."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rooms.programs.errors import ProgramError, ProgramErrorCode
from rooms.programs.schedule import WeeklySlot

# Bounds on everything a program holds: an admin API caller cannot grow one without limit.
MAX_MEMBERS = 64
MAX_THERAPISTS = 16
MAX_SLOTS = 32
MAX_NAME_CHARS = 64
MAX_TITLE_CHARS = 80
MAX_WEEKLY_TARGET_MINUTES = 60 * 60
MAX_WINDOW_MINUTES = 120
MAX_BILLABLE_GROUP = 64
# IOP programs commonly require about 9 hours a week.
DEFAULT_WEEKLY_TARGET_MINUTES = 9 * 60


class PersonRole(StrEnum):
    THERAPIST = "therapist"
    MEMBER = "member"


@dataclass(frozen=True)
class Person:
    id: str
    role: PersonRole
    name: str

    def __post_init__(self) -> None:
        if not self.id:
            raise ProgramError(ProgramErrorCode.INVALID_PROGRAM, "a person needs an id")
        check_text(self.name, "name", MAX_NAME_CHARS)


@dataclass(frozen=True)
class Program:
    id: str
    timezone: str
    title: str = "Program"
    weekly_target_minutes: int = DEFAULT_WEEKLY_TARGET_MINUTES
    # Billing documents the group's size: a session above this is flagged on the week view.
    max_billable_group: int = 12
    # An occurrence's room opens this long before it starts and closes this long after.
    open_before_minutes: int = 15
    close_after_minutes: int = 15
    people: tuple[Person, ...] = ()
    slots: tuple[WeeklySlot, ...] = ()

    def __post_init__(self) -> None:
        if not self.id:
            raise ProgramError(ProgramErrorCode.INVALID_PROGRAM, "a program needs an id")
        check_timezone(self.timezone)
        check_text(self.title, "title", MAX_TITLE_CHARS)
        check_range(
            "weekly target (minutes)", self.weekly_target_minutes, 0, MAX_WEEKLY_TARGET_MINUTES
        )
        check_range("maximum billable group size", self.max_billable_group, 1, MAX_BILLABLE_GROUP)
        check_range("minutes open before", self.open_before_minutes, 0, MAX_WINDOW_MINUTES)
        check_range("minutes open after", self.close_after_minutes, 0, MAX_WINDOW_MINUTES)
        if len(self.members) > MAX_MEMBERS:
            raise ProgramError(
                ProgramErrorCode.TOO_MANY, f"a program holds at most {MAX_MEMBERS} members"
            )
        if len(self.therapists) > MAX_THERAPISTS:
            raise ProgramError(
                ProgramErrorCode.TOO_MANY, f"a program holds at most {MAX_THERAPISTS} therapists"
            )
        if len(self.slots) > MAX_SLOTS:
            raise ProgramError(
                ProgramErrorCode.TOO_MANY, f"a schedule holds at most {MAX_SLOTS} slots"
            )
        if len({p.id for p in self.people}) != len(self.people):
            raise ProgramError(ProgramErrorCode.INVALID_PROGRAM, "person ids must be unique")
        member_ids = {m.id for m in self.members}
        for slot in self.slots:
            if slot.member_id is not None and slot.member_id not in member_ids:
                raise ProgramError(
                    ProgramErrorCode.UNKNOWN_PERSON, f"slot {slot.id}: no member {slot.member_id}"
                )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def members(self) -> tuple[Person, ...]:
        return tuple(p for p in self.people if p.role is PersonRole.MEMBER)

    @property
    def therapists(self) -> tuple[Person, ...]:
        return tuple(p for p in self.people if p.role is PersonRole.THERAPIST)

    def person(self, person_id: str) -> Person | None:
        return next((p for p in self.people if p.id == person_id), None)

    def require_person(self, person_id: str) -> Person:
        person = self.person(person_id)
        if person is None:
            raise ProgramError(ProgramErrorCode.UNKNOWN_PERSON, f"no one with id {person_id}")
        return person


def add_person(program: Program, person: Person) -> Program:
    return replace(program, people=(*program.people, person))


def remove_person(program: Program, person_id: str) -> Program:
    """A removed member also loses their individual slots: nobody else may take them."""
    program.require_person(person_id)
    return replace(
        program,
        people=tuple(p for p in program.people if p.id != person_id),
        slots=tuple(s for s in program.slots if s.member_id != person_id),
    )


def add_slot(program: Program, slot: WeeklySlot) -> Program:
    return replace(program, slots=(*program.slots, slot))


def next_slot_id(program: Program) -> str:
    used = {s.id for s in program.slots}
    return next(f"s{n}" for n in range(1, MAX_SLOTS + 2) if f"s{n}" not in used)


def check_text(value: str, what: str, limit: int) -> None:
    if not value.strip():
        raise ProgramError(ProgramErrorCode.INVALID_PROGRAM, f"{what} must not be blank")
    if len(value) > limit:
        raise ProgramError(
            ProgramErrorCode.INVALID_PROGRAM, f"{what} is longer than {limit} characters"
        )
    if not value.isprintable():
        raise ProgramError(ProgramErrorCode.INVALID_PROGRAM, f"{what} has control characters")


def check_range(what: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ProgramError(
            ProgramErrorCode.INVALID_PROGRAM, f"{what} must be between {low} and {high}"
        )


def check_timezone(name: str) -> None:
    # ZoneInfo also accepts paths like "../x": only IANA-shaped names get that far.
    if not name or len(name) > 64 or ".." in name or name.startswith("/"):
        raise ProgramError(ProgramErrorCode.INVALID_PROGRAM, f"unknown time zone {name[:64]!r}")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ProgramError(
            ProgramErrorCode.INVALID_PROGRAM, f"unknown time zone {name!r}"
        ) from None
