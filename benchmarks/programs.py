"""Programs benchmark: what attendance costs a room, and the close-rooms beat.

Run: `.venv/bin/python benchmarks/programs.py`. Human-readable lines first; the last
line is one JSON object.

* Recorder cost per presence event: `AttendanceRecorder` (a RoomService listener, run
  inside the room's lock) handling 300 alternating joins and drops of one member of a
  program occurrence: the sealed save in `DATA/programs.sqlite3` with FULL sync. p50, p95.
* A room that is no program's occurrence: what the listener costs every other room.
* The close-rooms beat (every 5 s): 3,000 occurrence rooms of 100 programs, 10 due.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the project importable from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rooms.events import MemberDisconnected, MemberJoined
from rooms.member import Member, Presence
from rooms.programs.attendance import OccurrenceAttendance
from rooms.roles import Role
from rooms.room import RoomKind, RoomPolicy, new_room
from server.audit.log import AuditLog
from server.auth.keys import load_or_create
from server.auth.tokens import TokenIssuer
from server.programs.clock import ProgramClock
from server.programs.recorder import AttendanceRecorder
from server.programs.service import ProgramService
from server.programs.store import ProgramStore
from server.room_service import RoomService
from server.settings import Settings
from server.stores.memory import MemoryRoomStore


async def main() -> None:
    d = Path(tempfile.mkdtemp())
    store = ProgramStore.in_data_dir(d)
    rec = OccurrenceAttendance("pg_1", "s1@x", "r_1", 0.0)
    await store.add_occurrence(rec, closes_at=1e12)
    recorder = AttendanceRecorder(store, time.time)
    room = new_room("r_1", RoomKind.GROUP, 0.0, RoomPolicy())
    m = Member("m_a", Role.PARTICIPANT, "A")
    lat = []
    for i in range(300):
        ev = (
            MemberJoined(m)
            if i % 2 == 0
            else MemberDisconnected(m.with_presence(Presence.DISCONNECTED, at=1.0))
        )
        t = time.perf_counter()
        await recorder(room, [ev])
        lat.append(time.perf_counter() - t)
    other = new_room("r_other", RoomKind.GROUP, 0.0, RoomPolicy())
    t = time.perf_counter()
    for _ in range(1000):
        await recorder(other, [MemberJoined(m)])
    other_us = (time.perf_counter() - t) / 1000 * 1e6
    # The close-rooms beat over 100 programs, 9 slots each.
    settings = Settings(data_dir=d, embedded_store="memory")
    keys = load_or_create(d)
    svc = ProgramService(
        settings,
        store,
        RoomService(MemoryRoomStore()),
        TokenIssuer(keys.signing_key),
        AuditLog(d / "audit"),
        ProgramClock(),
    )
    # 100 programs' worth of occurrence rooms: 3000 rows, 10 of them due to close.
    for n in range(3000):
        r = OccurrenceAttendance(f"pg_{n % 100}", f"s1@{n}", f"r_m{n}", float(n))
        await store.add_occurrence(r, closes_at=(0.0 if n % 300 == 0 else 1e12))
    beats = []
    for _ in range(5):
        t = time.perf_counter()
        await svc.rooms.end_closed()
        beats.append(time.perf_counter() - t)
    lat.sort()
    figures = {
        "recorder_event_ms_p50": round(statistics.median(lat) * 1000, 2),
        "recorder_event_ms_p95": round(lat[int(len(lat) * 0.95)] * 1000, 2),
        "recorder_other_room_us": round(other_us, 1),
        "close_beat_100_programs_ms_median": round(statistics.median(beats) * 1000, 1),
    }
    print(
        f"attendance per presence event: p50 {figures['recorder_event_ms_p50']} ms, "
        f"p95 {figures['recorder_event_ms_p95']} ms; another room: "
        f"{figures['recorder_other_room_us']} us; close-rooms beat over 100 programs: "
        f"{figures['close_beat_100_programs_ms_median']} ms"
    )
    print(json.dumps(figures))
    await store.close()


if __name__ == "__main__":
    asyncio.run(main())
