"""The one JSON form of a program and of an occurrence's attendance (sealed before storing)."""

from __future__ import annotations

import json
from typing import Any

from rooms.programs.attendance import MemberAttendance, OccurrenceAttendance
from rooms.programs.program import Person, PersonRole, Program
from rooms.programs.schedule import SessionKind, Weekday, WeeklySlot, parse_start


def program_to_json(program: Program) -> str:
    return json.dumps(
        {
            "id": program.id,
            "timezone": program.timezone,
            "title": program.title,
            "weekly_target_minutes": program.weekly_target_minutes,
            "max_billable_group": program.max_billable_group,
            "open_before_minutes": program.open_before_minutes,
            "close_after_minutes": program.close_after_minutes,
            "people": [{"id": p.id, "role": p.role.value, "name": p.name} for p in program.people],
            "slots": [slot_view(s) for s in program.slots],
        },
        separators=(",", ":"),
    )


def slot_view(slot: WeeklySlot) -> dict[str, Any]:
    return {
        "id": slot.id,
        "kind": slot.kind.value,
        "weekday": slot.weekday.name.lower(),
        "start": slot.start.strftime("%H:%M"),
        "minutes": slot.minutes,
        "member_id": slot.member_id,
    }


def program_from_json(text: str) -> Program:
    data = json.loads(text)
    return Program(
        id=data["id"],
        timezone=data["timezone"],
        title=data["title"],
        weekly_target_minutes=data["weekly_target_minutes"],
        max_billable_group=data["max_billable_group"],
        open_before_minutes=data["open_before_minutes"],
        close_after_minutes=data["close_after_minutes"],
        people=tuple(Person(p["id"], PersonRole(p["role"]), p["name"]) for p in data["people"]),
        slots=tuple(
            WeeklySlot(
                s["id"],
                SessionKind(s["kind"]),
                Weekday.parse(s["weekday"]),
                parse_start(s["start"]),
                s["minutes"],
                s["member_id"],
            )
            for s in data["slots"]
        ),
    )


def attendance_to_json(record: OccurrenceAttendance) -> str:
    return json.dumps(
        {
            "program_id": record.program_id,
            "occurrence_key": record.occurrence_key,
            "room_id": record.room_id,
            "starts_at": record.starts_at,
            "members": [
                {
                    "member_id": m.member_id,
                    "intervals": [list(i) for i in m.intervals],
                    "present_since": m.present_since,
                    "spoke": m.spoke,
                }
                for m in record.members
            ],
        },
        separators=(",", ":"),
    )


def attendance_from_json(text: str) -> OccurrenceAttendance:
    data = json.loads(text)
    return OccurrenceAttendance(
        program_id=data["program_id"],
        occurrence_key=data["occurrence_key"],
        room_id=data["room_id"],
        starts_at=data["starts_at"],
        members=tuple(
            MemberAttendance(
                m["member_id"],
                tuple((float(a), float(b)) for a, b in m["intervals"]),
                m["present_since"],
                m["spoke"],
            )
            for m in data["members"]
        ),
    )
