"""JSON views: what the personal-link page, the today page and the admin API show.

Therapists see their program's names (they run the sessions); the admin API and
anything ops-facing sees ids and counts only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rooms.member import Admission
from rooms.programs.calendar import describe_start, next_session_text
from rooms.programs.program import Program
from rooms.programs.schedule import Occurrence
from rooms.programs.week import WeekSummary
from rooms.roles import Role
from rooms.room import Room
from server.programs.codec import slot_view


def program_counts(program: Program) -> dict[str, Any]:
    return {
        "id": program.id,
        "title": program.title,
        "timezone": program.timezone,
        "members": len(program.members),
        "therapists": len(program.therapists),
        "weekly_target_hours": round(program.weekly_target_minutes / 60, 2),
        "max_billable_group": program.max_billable_group,
        "open_before_minutes": program.open_before_minutes,
        "close_after_minutes": program.close_after_minutes,
        "slots": [slot_view(s) for s in program.slots],
    }


def session_view(
    program: Program, occurrence: Occurrence, room: Room | None, now: datetime, *, names: bool
) -> dict[str, Any]:
    zone = program.zone
    waiting = [m for m in room.seated() if m.admission is Admission.WAITING] if room else []
    # Members in the session now (therapists not counted, as in the participant count).
    present = (
        [m for m in room.connected() if m.admitted and m.role is Role.PARTICIPANT] if room else []
    )
    view: dict[str, Any] = {
        "occurrence": occurrence.key,
        "kind": occurrence.kind.value,
        "title": describe_start(occurrence, zone),
        "start": f"{occurrence.starts_at.astimezone(zone):%H:%M}",
        "end": f"{occurrence.ends_at.astimezone(zone):%H:%M}",
        "state": occurrence.state(now).value,
        "room": room.id if room else None,
        "started": room is not None and not room.is_over,
        "waiting_count": len(waiting),
        "present_count": len(present) if room else 0,
    }
    if names:
        view["waiting"] = [m.name for m in waiting]
        member = program.person(occurrence.slot.member_id or "")
        view["member"] = member.name if member else None
    return view


def entry_view(
    program: Program, current: Occurrence | None, upcoming: Occurrence | None, join_url: str | None
) -> dict[str, Any]:
    zone = program.zone
    if current is not None and join_url is not None:
        return {
            "state": "open",
            "program": program.title,
            "session": describe_start(current, zone),
            "url": join_url,
            "message": f"Your session is open: {describe_start(current, zone)}",
        }
    return {
        "state": "scheduled" if upcoming else "none",
        "program": program.title,
        "message": next_session_text(upcoming, zone),
    }


def week_view(program: Program, week: str, summary: WeekSummary) -> dict[str, Any]:
    names = {p.id: p.name for p in program.members}
    zone = program.zone
    return {
        "week": week,
        "target_hours": round(program.weekly_target_minutes / 60, 2),
        "max_billable_group": program.max_billable_group,
        "members": [
            {
                "member_id": m.member_id,
                "name": names.get(m.member_id, "(removed)"),
                "hours": round(m.minutes_attended / 60, 2),
                "on_target": m.on_target,
                "missed": len(m.missed),
            }
            for m in summary.members
        ],
        "sessions": [
            {
                "occurrence": s.occurrence_key,
                "when": f"{s.starts_at.astimezone(zone):%a %d %b %H:%M}",
                "kind": s.kind.value,
                "participant_count": s.participant_count,
                "over_billable": s.over_billable,
            }
            for s in summary.sessions
        ],
    }
