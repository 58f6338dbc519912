"""What the programs' server tests share: a program made through the admin API, and its clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from server.programs.wiring import PROGRAMS

# Wednesday 2026-12-02, Europe/Berlin (UTC+1): the group meets Mon/Wed/Fri 10:00-12:00.
WEDNESDAY_10_BERLIN = datetime(2026, 12, 2, 9, 0, tzinfo=UTC).timestamp()
ALEX, SAM = "Alex Example", "Sam Sample"


def key_of(url: str) -> str:
    fragment = urlsplit(url).fragment
    assert fragment.startswith("k="), url
    return fragment[2:]


@dataclass
class ProgramUnderTest:
    id: str
    members: dict[str, dict[str, Any]]
    therapist: dict[str, Any]


async def make_program(server: Any, **extra: Any) -> ProgramUnderTest:
    """Mon/Wed/Fri group 10:00-12:00 Berlin, Alex and Sam, therapist Kim; 15 min windows."""
    reply = await server.post("/api/programs", {"timezone": "Europe/Berlin", **extra})
    assert reply.status == 201, reply.body
    program_id = reply.body["program"]["id"]
    members = {}
    for name in (ALEX, SAM):
        added = await server.post(f"/api/programs/{program_id}/members", {"name": name})
        assert added.status == 201, added.body
        members[name] = added.body
    therapist = await server.post(f"/api/programs/{program_id}/therapists", {"name": "Kim"})
    assert therapist.status == 201, therapist.body
    schedule = {"kind": "group", "days": ["mon", "wed", "fri"], "start": "10:00", "minutes": 120}
    reply = await server.post(f"/api/programs/{program_id}/schedule", schedule)
    assert reply.status == 201, reply.body
    return ProgramUnderTest(program_id, members, therapist.body)


def set_clock(server: Any, at: float) -> None:
    server.app[PROGRAMS].clock.set_now(at)
