"""The programs' admin API and personal links against the real app."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import jwt
from program_support import ALEX, SAM, WEDNESDAY_10_BERLIN, key_of, make_program, set_clock

from server.programs.export import from_csv
from tests.conftest import LiveServer, StartServer, token_of

MINUTE = 60.0


def room_of(join_url: str) -> str:
    claims = jwt.decode(token_of(join_url), options={"verify_signature": False})
    return str(claims["room"])


async def test_a_personal_link_says_when_then_opens_the_current_session(
    live_server: LiveServer,
) -> None:
    program = await make_program(live_server)
    alex = key_of(program.members[ALEX]["url"])
    set_clock(live_server, WEDNESDAY_10_BERLIN - 30 * MINUTE)  # 09:30: not open yet
    early = await live_server.post("/api/personal/entry", {"key": alex}, key="")
    assert early.body == {
        "state": "scheduled",
        "program": "Program",
        "message": "Your next session: Wednesday 10:00, group",
    }
    set_clock(live_server, WEDNESDAY_10_BERLIN - 10 * MINUTE)  # 09:50: open 15 min before
    during = await live_server.post("/api/personal/entry", {"key": alex}, key="")
    assert during.body["state"] == "open", during.body
    again = await live_server.post("/api/personal/entry", {"key": alex}, key="")
    # A fresh short-lived token each time, for the occurrence's one room.
    assert token_of(during.body["url"]) != token_of(again.body["url"])
    assert room_of(during.body["url"]) == room_of(again.body["url"])
    set_clock(live_server, WEDNESDAY_10_BERLIN + 135 * MINUTE)  # 12:15: closed
    after = await live_server.post("/api/personal/entry", {"key": alex}, key="")
    assert after.body["message"] == "Your next session: Friday 10:00, group"


async def test_a_removed_member_or_a_replaced_link_stops_working_at_once(
    live_server: LiveServer,
) -> None:
    program = await make_program(live_server)
    sam_id, sam_key = program.members[SAM]["id"], key_of(program.members[SAM]["url"])
    alex_id, alex_key = program.members[ALEX]["id"], key_of(program.members[ALEX]["url"])
    base = f"/api/programs/{program.id}/people"
    assert (await live_server.post(f"{base}/{sam_id}/remove", {})).status == 200
    gone = await live_server.post("/api/personal/entry", {"key": sam_key}, key="")
    assert gone.status == 404 and "not valid" in gone.body["error"]["message"]
    fresh = await live_server.post(f"{base}/{alex_id}/link", {})
    assert (await live_server.post("/api/personal/entry", {"key": alex_key}, key="")).status == 404
    new_key = key_of(fresh.body["url"])
    assert (await live_server.post("/api/personal/entry", {"key": new_key}, key="")).status == 200


async def test_the_admin_api_needs_the_key_and_bounds_every_input(live_server: LiveServer) -> None:
    assert (await live_server.post("/api/programs", {"timezone": "UTC"}, key="nope")).status == 401
    cases = [
        ({"timezone": "Mars/Base"}, "unknown time zone"),
        ({"timezone": "UTC", "title": "x" * 81}, "at most 80"),
        ({"timezone": "UTC", "weekly_target_hours": 61}, "less than or equal to 60"),
        ({"timezone": "UTC", "extra": 1}, "Extra inputs"),
    ]
    for body, message in cases:
        reply = await live_server.post("/api/programs", body)
        assert reply.status == 400 and message in reply.body["error"]["message"], reply.body
    program = await make_program(live_server)
    slot = {"kind": "group", "days": ["sun"], "start": "25:00", "minutes": 60}
    reply = await live_server.post(f"/api/programs/{program.id}/schedule", slot)
    assert reply.status == 400 and "HH:MM" in reply.body["error"]["message"]
    slot = {"kind": "individual", "days": ["tue"], "start": "14:00", "minutes": 60, "member": "m_x"}
    reply = await live_server.post(f"/api/programs/{program.id}/schedule", slot)
    assert reply.status == 400 and "no one with id m_x" in reply.body["error"]["message"]
    reply = await live_server.post("/api/personal/entry", {"key": "x" * 65}, key="")
    assert reply.status == 400


async def test_the_admin_sees_counts_never_names(live_server: LiveServer) -> None:
    program = await make_program(live_server)
    set_clock(live_server, WEDNESDAY_10_BERLIN)
    await live_server.post(
        "/api/personal/entry", {"key": key_of(program.members[ALEX]["url"])}, key=""
    )
    for path in (
        f"/api/programs/{program.id}",
        f"/api/programs/{program.id}/today",
        "/api/programs/list",
    ):
        reply = await live_server.post(path, {})
        assert reply.status == 200, reply.body
        text = json.dumps(reply.body)
        assert ALEX not in text and SAM not in text and "Kim" not in text, text
    today = await live_server.post(f"/api/programs/{program.id}/today", {})
    assert [s["state"] for s in today.body["sessions"]] == ["open"]


async def test_names_and_attendance_are_sealed_in_the_raw_database(
    live_server: LiveServer,
) -> None:
    program = await make_program(live_server, title="Evening IOP")
    set_clock(live_server, WEDNESDAY_10_BERLIN)
    await live_server.post(
        "/api/personal/entry", {"key": key_of(program.members[ALEX]["url"])}, key=""
    )
    raw = raw_database(Path(live_server.settings.data_dir))
    assert b"occurrences" in raw  # the walk read the file
    for secret in (ALEX, SAM, "Kim", "Evening IOP", "Europe/Berlin"):
        assert secret.encode() not in raw, secret


def raw_database(data_dir: Path) -> bytes:
    """Every byte of the file and its WAL, and every row as SQLite hands it out."""
    raw = b"".join(path.read_bytes() for path in data_dir.glob("programs.sqlite3*"))
    db = sqlite3.connect(data_dir / "programs.sqlite3")
    for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
        for row in db.execute(f"SELECT * FROM {table}"):
            raw += repr(row).encode()
    db.close()
    return raw


async def test_a_week_exports_as_json_and_csv_with_the_same_rows(live_server: LiveServer) -> None:
    program = await make_program(live_server)
    set_clock(live_server, WEDNESDAY_10_BERLIN + 3 * 86400)  # Saturday
    body = {"week": "2026-W49"}
    as_json = await live_server.post(f"/api/programs/{program.id}/attendance", body)
    as_csv = await live_server.post(
        f"/api/programs/{program.id}/attendance", {**body, "format": "csv"}
    )
    assert as_json.status == 200 and as_csv.status == 200
    rows = as_json.body["rows"]
    assert len(rows) == 3 * 2  # Mon, Wed, Fri for Alex and Sam
    assert from_csv(as_csv.body["csv"]) == rows
    assert {m["missed"] for m in as_json.body["members"]} == {3}


async def test_purge_deletes_attendance_past_retention_and_says_so_in_the_audit_log(
    start_server: StartServer,
) -> None:
    server = await start_server(program_retention_days=30)
    program = await make_program(server)
    set_clock(server, WEDNESDAY_10_BERLIN)
    alex = key_of(program.members[ALEX]["url"])
    assert (await server.post("/api/personal/entry", {"key": alex}, key="")).body["state"] == "open"
    set_clock(server, WEDNESDAY_10_BERLIN + 29 * 86400)
    assert (await server.post("/api/programs/purge", {})).body["occurrences"] == 0
    set_clock(server, WEDNESDAY_10_BERLIN + 31 * 86400)
    purged = await server.post("/api/programs/purge", {})
    assert purged.body == {"programs": 0, "occurrences": 1, "retention_days": 30}
    audit = (Path(server.settings.data_dir) / "audit" / "audit.jsonl").read_text().splitlines()
    notes = [json.loads(line) for line in audit if '"program_purge"' in line]
    assert [n["details"]["occurrences"] for n in notes] == [0, 1]


async def test_an_individual_session_opens_an_individual_room_for_its_member_only(
    live_server: LiveServer,
) -> None:
    program = await make_program(live_server)
    sam = program.members[SAM]
    slot = {
        "kind": "individual",
        "days": ["thu"],
        "start": "14:00",
        "minutes": 60,
        "member": sam["id"],
    }
    assert (await live_server.post(f"/api/programs/{program.id}/schedule", slot)).status == 201
    set_clock(live_server, WEDNESDAY_10_BERLIN + 28 * 3600)  # Thursday 14:00 Berlin
    entry = await live_server.post("/api/personal/entry", {"key": key_of(sam["url"])}, key="")
    claims = jwt.decode(token_of(entry.body["url"]), options={"verify_signature": False})
    assert (claims["kind"], claims["role"], claims["sub"]) == (
        "individual",
        "participant",
        sam["id"],
    )
    alex = await live_server.post(
        "/api/personal/entry", {"key": key_of(program.members[ALEX]["url"])}, key=""
    )
    assert alex.body["message"] == "Your next session: Friday 10:00, group"


async def test_a_therapist_cannot_start_a_session_outside_its_window(
    live_server: LiveServer,
) -> None:
    program = await make_program(live_server)
    kim = key_of(program.therapist["url"])
    set_clock(live_server, WEDNESDAY_10_BERLIN - 3600)  # 09:00: opens at 09:45
    today = await live_server.post("/api/personal/today", {"key": kim}, key="")
    (session,) = today.body["sessions"]
    assert session["state"] == "upcoming" and session["room"] is None
    join = {"key": kim, "occurrence": session["occurrence"]}
    refused = await live_server.post("/api/personal/join", join, key="")
    assert (
        refused.status == 400 and refused.body["error"]["message"] == "that session is not open now"
    )
    # The therapist's link opened as a member's page is sent on to the today page.
    entry = await live_server.post("/api/personal/entry", {"key": kim}, key="")
    assert entry.body == {"state": "therapist", "url": "/today"}
    member_key = key_of(program.members[ALEX]["url"])
    not_a_therapist = await live_server.post("/api/personal/today", {"key": member_key}, key="")
    assert not_a_therapist.status == 404


async def test_changes_made_at_the_same_time_are_all_kept(live_server: LiveServer) -> None:
    program = await make_program(live_server)
    path = f"/api/programs/{program.id}/members"
    replies = await asyncio.gather(
        *(live_server.post(path, {"name": f"Member {n}"}) for n in range(10))
    )
    assert {r.status for r in replies} == {201}
    shown = await live_server.post(f"/api/programs/{program.id}", {})
    assert shown.body["program"]["members"] == 2 + 10
