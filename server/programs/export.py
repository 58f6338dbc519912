"""A week's attendance as rows, and those rows as CSV or JSON (and back, for the round trip).

One row per occurrence and member it was for (plus anyone recorded who has since been
removed): what a clinic files for billing. Times are ISO 8601 in UTC.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from rooms.programs.attendance import OccurrenceAttendance
from rooms.programs.program import Program
from rooms.programs.schedule import Occurrence

COLUMNS = (
    "week",
    "occurrence",
    "kind",
    "starts_at",
    "member_id",
    "member",
    "first_join",
    "last_leave",
    "minutes_present",
    "spoke",
    "participant_count",
    "max_billable",
)
REMOVED = "(removed)"
_SPOKE = {True: "yes", False: "no", None: ""}


def week_rows(
    program: Program,
    week: str,
    occurrences: list[Occurrence],
    attendance: Mapping[str, OccurrenceAttendance],
    now: float,
) -> list[dict[str, Any]]:
    names = {p.id: p.name for p in program.members}
    rows = []
    for occurrence in occurrences:
        record = attendance.get(occurrence.key)
        expected = [m.id for m in program.members if occurrence.is_for(m.id)]
        recorded = [m.member_id for m in record.members] if record else []
        for member_id in dict.fromkeys([*expected, *recorded]):
            mine = record.of(member_id) if record else None
            rows.append(
                {
                    "week": week,
                    "occurrence": occurrence.key,
                    "kind": occurrence.kind.value,
                    "starts_at": _iso(occurrence.starts_at.timestamp()),
                    "member_id": member_id,
                    "member": names.get(member_id, REMOVED),
                    "first_join": _iso(mine.first_join if mine else None),
                    "last_leave": _iso(mine.last_leave if mine else None),
                    "minutes_present": mine.minutes_present(now) if mine else 0.0,
                    "spoke": mine.spoke if mine else None,
                    "participant_count": record.participant_count if record else 0,
                    "max_billable": program.max_billable_group,
                }
            )
    return rows


def to_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "spoke": _SPOKE[row["spoke"]], **_blank_nones(row)})
    return out.getvalue()


def from_csv(text: str) -> list[dict[str, Any]]:
    """The inverse of to_csv: the same rows, with their types."""
    spoke = {v: k for k, v in _SPOKE.items()}
    rows = []
    for raw in csv.DictReader(io.StringIO(text)):
        if tuple(raw) != COLUMNS:
            raise ValueError(f"unexpected columns {tuple(raw)}")
        row: dict[str, Any] = dict(raw)
        row["first_join"] = row["first_join"] or None
        row["last_leave"] = row["last_leave"] or None
        row["minutes_present"] = float(row["minutes_present"])
        row["spoke"] = spoke[row["spoke"]]
        row["participant_count"] = int(row["participant_count"])
        row["max_billable"] = int(row["max_billable"])
        rows.append(row)
    return rows


def _blank_nones(row: dict[str, Any]) -> dict[str, Any]:
    return {k: "" for k in ("first_join", "last_leave") if row[k] is None}


def _iso(at: float | None) -> str | None:
    if at is None:
        return None
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")
