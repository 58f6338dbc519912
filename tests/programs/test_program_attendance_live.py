"""Attendance through a real group session, with a disconnect and a resume, by hand.

The program clock is moved by the test; everything else is the real app, real
socket.io clients, and the same Voice command the relay sends when it hears someone.

Wednesday 2026-12-02, Europe/Berlin, group 10:00-12:00 (room open 09:45-12:15):
  09:55  Alex opens the personal link and joins: waiting room (not counted)
  10:00  Kim admits Alex                       -> present from 10:00
  10:10  Alex speaks for a minute (relay voice activity)
  10:30  Alex's connection drops               -> interval 10:00-10:30 (30 min)
  10:32  Alex resumes within grace             -> the two grace minutes do not count
  11:45  Alex leaves                           -> interval 10:32-11:45 (73 min)
  Sam never comes.
Expected: Alex first join 10:00, last leave 11:45, 103 minutes, spoke; Sam 0 minutes and
the session counted as missed; participant count 1.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from program_support import ALEX, SAM, WEDNESDAY_10_BERLIN, key_of, make_program, set_clock

from rooms.commands import Voice
from server.app import COMPONENTS
from server.programs.wiring import PROGRAMS
from tests.conftest import Connector, StartServer, token_of

MINUTE = 60.0


def at(minutes_after_ten: float) -> float:
    return WEDNESDAY_10_BERLIN + minutes_after_ten * MINUTE


def iso(minutes_after_ten: float) -> str:
    return datetime.fromtimestamp(at(minutes_after_ten), UTC).isoformat(timespec="seconds")


async def until(check: Callable[[], Awaitable[bool]], wait_s: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while not await check():
        assert loop.time() < deadline, "the recorder did not catch up"
        await asyncio.sleep(0.02)


# Programs' own Redis database: several server processes of other tests share DB 15,
# and a cluster process must only ever see its own deployment.
REDIS_URL = os.environ.get("TELEHEALTH_TEST_PROGRAMS_REDIS_URL", "redis://127.0.0.1:6379/13")


@pytest.mark.parametrize("backend", ["embedded", pytest.param("redis", marks=pytest.mark.redis)])
async def test_attendance_through_a_disconnect_and_a_resume(
    start_server: StartServer, connect: Connector, backend: str
) -> None:
    # Embedded: one process, rooms in memory. Redis: the scale-out path (room ownership,
    # commands through the owner), whose listeners must record the same attendance.
    live_server = await start_server(**({"redis_url": REDIS_URL} if backend == "redis" else {}))
    program = await make_program(live_server)
    service = live_server.app[PROGRAMS]
    rooms = live_server.app[COMPONENTS].rooms
    alex_id = program.members[ALEX]["id"]
    kim_key = key_of(program.therapist["url"])

    set_clock(live_server, at(-5))
    entry = await live_server.post(
        "/api/personal/entry", {"key": key_of(program.members[ALEX]["url"])}, key=""
    )
    today = await live_server.post("/api/personal/today", {"key": kim_key}, key="")
    (session,) = today.body["sessions"]
    kim_url = await live_server.post(
        "/api/personal/join", {"key": kim_key, "occurrence": session["occurrence"]}, key=""
    )
    kim = await connect(live_server, token_of(kim_url.body["url"]))
    await kim.join()
    alex = await connect(live_server, token_of(entry.body["url"]))
    alex_ack = await alex.join()
    assert alex_ack["self"]["id"] == alex_id  # the program's member id is the seat's
    room_id = alex_ack["room"]["id"]

    waiting = await live_server.post("/api/personal/today", {"key": kim_key}, key="")
    assert waiting.body["sessions"][0]["waiting"] == [ALEX]

    async def alex_left(times: int) -> bool:
        """The recorder has closed Alex's `times`-th interval."""
        record = await service.store.attendance(program.id, session["occurrence"])
        assert record is not None
        mine = record.of(alex_id)
        return len(mine.intervals) == times and mine.present_since is None

    set_clock(live_server, at(0))
    assert (await kim.call("lobby.admit", {"member": alex_id}))["ok"]
    await alex.wait_for("lobby.admitted")

    set_clock(live_server, at(10))
    await rooms.execute(room_id, Voice(alex_id, True, service.clock()))
    set_clock(live_server, at(11))
    await rooms.execute(room_id, Voice(alex_id, False, service.clock()))

    set_clock(live_server, at(30))
    await alex.disconnect()
    await until(lambda: alex_left(1))

    set_clock(live_server, at(32))
    back = await connect(live_server, alex_ack["resume_token"])
    assert (await back.join(resume=True))["resumed"] is True

    set_clock(live_server, at(105))
    assert (await back.call("session.leave", {}))["ok"]
    await until(lambda: alex_left(2))

    set_clock(live_server, at(140))  # 12:20: the room has closed
    await service.rooms.end_closed()
    assert (await rooms.get(room_id)).is_over  # type: ignore[union-attr]

    export = await live_server.post(f"/api/programs/{program.id}/attendance", {"week": "2026-W49"})
    rows = {
        (r["member"], r["occurrence"]): r
        for r in export.body["rows"]
        if r["occurrence"] == session["occurrence"]
    }
    alex_row = rows[(ALEX, session["occurrence"])]
    assert (alex_row["first_join"], alex_row["last_leave"]) == (iso(0), iso(105))
    assert alex_row["minutes_present"] == 30 + 73
    assert alex_row["spoke"] is True
    assert alex_row["participant_count"] == 1
    sam_row = rows[(SAM, session["occurrence"])]
    assert (sam_row["minutes_present"], sam_row["first_join"], sam_row["spoke"]) == (
        0.0,
        None,
        None,
    )
    week = {m["name"]: m for m in export.body["members"]}
    assert week[ALEX]["hours"] == round(103 / 60, 2)
    # Monday's session closed unattended too; Friday's is still to come.
    assert (week[ALEX]["missed"], week[SAM]["missed"]) == (1, 2)

    reads = _audit_lines(Path(live_server.settings.data_dir), "attendance_read")
    assert reads and all(ALEX not in line and SAM not in line for line in reads)
    if backend == "redis":
        await _forget_room(room_id)


async def _forget_room(room_id: str) -> None:
    """The room's keys, some of which keep no expiry, so runs do not pile them up."""
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"*:{room_id}")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


def _audit_lines(data_dir: Path, event: str) -> list[str]:
    """Every chain: with Redis each process writes audit-pid<pid>.jsonl."""
    lines = [
        line
        for path in (data_dir / "audit").glob("audit*.jsonl")
        for line in path.read_text().splitlines()
    ]
    return [line for line in lines if json.loads(line)["event"] == event]
