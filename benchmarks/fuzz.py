"""Fuzz benchmark: many random and mutated Engine.IO/Socket.IO frames against a real server.

Run: `.venv/bin/python benchmarks/fuzz.py [--payloads 100000] [--seed 1]`.
Human-readable lines first; the last line is one JSON object.

How it is measured
* The server (the real app, default settings except a rate limit high enough that the
  frames reach the handlers) runs in its own process, logging everything at INFO and
  above to a file, as `telehealth serve` would.
* This process plays two members of one individual room: a well-behaved therapist, who
  must still get answers at the end, and a hostile patient, who sends the payloads in
  batches of 50: events with an ack (random or real event names, random JSON payloads,
  fields the schemas use), mutated frames (random edits of valid ones), junk text, deep
  nesting and binary frames. The patient rejoins whenever the server closes it.
* Reported: payloads tried; crashes (ERROR lines or tracebacks in the server's log);
  events sent with an ack and never answered (ACK_WAIT_S) while the connection stayed open;
  connections the server closed, and with which reason; peak RSS of the server
  (VmHWM) and its RSS and log growth per 10k payloads.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the project importable from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp

from tests.signaling.raw_socket import SCHEMA_FIELDS, RawSocket

BATCH = 50
# An answer later than this counts as unanswered. 2 s was exceeded about once in 50k
# acked events while other work shared this 2-core machine (late, not lost: with 6 s,
# none); 5 s keeps "unanswered" meaning lost, not slow.
ACK_WAIT_S = 5.0
EVENTS = [
    "session.join",
    "session.leave",
    "media.state",
    "signal.description",
    "signal.candidate",
    "relay.offer",
    "relay.answer",
    "media.connected",
    "stats.report",
    "lobby.admit",
    "moderation.mute",
    "floor.raise_hand",
    "floor.extend",
    "talk.report",
    "connect",
    "disconnect",
    "connect_error",
    "*",
    "",
    "error",
    "ops.watch",
]
EDITS = ["", "[", "]", "{", "}", '"', ",", "-", "1", "\\", "\x00", "5-", "/ops,"]


# --- the server (child process) ----------------------------------------------------------


def serve(data_dir: str, log_path: str, conn: Any) -> None:
    import logging

    from aiohttp import web

    from server.app import create_app
    from server.auth.keys import ADMIN_KEY_FILE
    from server.settings import Settings

    handler = logging.FileHandler(log_path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)

    async def main() -> None:
        settings = Settings(
            data_dir=Path(data_dir), host="127.0.0.1", port=0, rate_per_s=1e6, rate_burst=1e6
        )
        runner = web.AppRunner(create_app(settings), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = next(a[1] for a in runner.addresses if isinstance(a, tuple))
        admin = (Path(data_dir) / ADMIN_KEY_FILE).read_text().strip()
        conn.send((f"http://127.0.0.1:{port}", admin))
        await asyncio.Event().wait()

    asyncio.run(main())


def proc_status(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def file_size(path: Path) -> int:
    return path.stat().st_size


def count_crashes(log_path: Path) -> int:
    """ERROR lines and tracebacks in the server's log."""
    return sum(
        1
        for line in log_path.read_text(errors="replace").splitlines()
        if " ERROR " in line or line.startswith("Traceback")
    )


# --- payloads ------------------------------------------------------------------------------


def json_value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth > 3 or roll < 0.5:
        return rng.choice(
            [
                None,
                True,
                False,
                rng.randint(-(2**40), 2**40),
                rng.random() * 1e6,
                "",
                "x" * rng.randint(0, 40),
                "\u00e9\ud83d",
                "candidate:1 1 UDP",
            ]
        )
    if roll < 0.75:
        return [json_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    keys = list(SCHEMA_FIELDS) if rng.random() < 0.7 else ["k" + str(rng.randint(0, 9))]
    return {rng.choice(keys): json_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def payload(rng: random.Random, ack_id: int, therapist: str) -> tuple[str | bytes, bool]:
    """A frame, and whether it is an event that must be answered."""
    roll = rng.random()
    name = (
        rng.choice(EVENTS)
        if rng.random() < 0.8
        else "".join(chr(rng.randint(32, 0x2FF)) for _ in range(rng.randint(0, 12)))
    )
    if roll < 0.5:
        body = json_value(rng)
        if isinstance(body, dict) and rng.random() < 0.3:
            body["to"] = therapist
        return f"42{ack_id}" + json.dumps([name, body]), True
    if roll < 0.8:
        frame = "4" + rng.choice("0123456") + json.dumps([name, json_value(rng)])
        for _ in range(rng.randint(1, 4)):
            at = rng.randint(0, len(frame))
            edit = rng.choice(EDITS)
            frame = frame[:at] + edit + frame[at + (edit == "") :]
        return frame, False
    if roll < 0.9:
        depth = rng.randint(20, 3000)
        return rng.choice(["42", "4", "40"]) + "[" * depth + "]" * depth, False
    if roll < 0.95:
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 256))), False
    return "".join(chr(rng.randint(0, 0x7F)) for _ in range(rng.randint(0, 40))), False


# --- the run -------------------------------------------------------------------------------


async def room_tokens(http: aiohttp.ClientSession, base: str, admin: str) -> tuple[str, str]:
    async with http.post(
        base + "/api/rooms",
        json={"kind": "individual", "participants": []},
        headers={"Authorization": f"Bearer {admin}"},
    ) as response:
        room = await response.json()
    links = {link["role"]: link["url"].split("#t=", 1)[1] for link in room["links"]}
    return links["therapist"], links["participant"]


async def joined(http: aiohttp.ClientSession, base: str, token: str) -> tuple[RawSocket, str]:
    socket = await RawSocket.open(http, base)
    reply = await socket.connect({"token": token})
    if not reply.startswith("40"):
        raise RuntimeError(f"refused: {reply}")
    await socket.send('420["session.join",{"resume":true}]')
    ack = await socket.ack(0)
    return socket, ack["self"]["id"] if ack.get("ok") else ""


async def run(
    args: argparse.Namespace, pid: int, base: str, admin: str, log_path: Path
) -> dict[str, Any]:
    rng = random.Random(args.seed)
    unanswered = 0
    closes: dict[str, int] = {}
    checkpoints: list[dict[str, Any]] = []
    async with aiohttp.ClientSession() as http:
        t_token, p_token = await room_tokens(http, base, admin)
        therapist, therapist_id = await joined(http, base, t_token)
        patient, _ = await joined(http, base, p_token)
        log_start, rss_start = file_size(log_path), proc_status(pid, "VmRSS")
        started = time.monotonic()
        sent = ack_id = 0
        # Whether the patient sent its own close since it last (re)joined: the close can
        # arrive after the batch that sent it has had all its answers.
        closed_itself = False
        while sent < args.payloads:
            waiting: set[int] = set()
            for _ in range(min(BATCH, args.payloads - sent)):
                ack_id += 1
                frame, expects = payload(rng, ack_id, therapist_id)
                if expects:
                    waiting.add(ack_id)
                # Engine.IO CLOSE, or Socket.IO DISCONNECT of the main namespace.
                closed_itself = closed_itself or (
                    isinstance(frame, str) and frame.startswith(("1", "41"))
                )
                try:
                    await patient.send(frame)
                except ConnectionError:
                    break
                sent += 1
                if sent % 10_000 == 0:
                    checkpoints.append(
                        {
                            "payloads": sent,
                            "rss_mb": proc_status(pid, "VmRSS") / 2**20,
                            "log_bytes": file_size(log_path) - log_start,
                        }
                    )
            reason = await collect(patient, waiting, ack_id, closed_itself)
            if reason is not None:  # closed: count why, rejoin
                closes[reason] = closes.get(reason, 0) + 1
                await patient.close()
                patient, _ = await joined(http, base, p_token)
                closed_itself = False
            else:
                unanswered += len(waiting)
        elapsed = time.monotonic() - started
        async with http.get(base + "/healthz") as response:
            healthy = response.status == 200
        await therapist.send('429999["media.state",{"audio":true,"video":true}]')
        other_ok = (await therapist.ack(9999)) == {"ok": True}
        await patient.close()
        await therapist.close()
    crashes = count_crashes(log_path)
    log_growth = file_size(log_path) - log_start
    return {
        "payloads": sent,
        "seconds": round(elapsed, 1),
        "payloads_per_s": round(sent / elapsed) if elapsed else 0,
        "crashes": crashes,
        "unanswered_events": unanswered,
        "closed_by_server": closes,
        "healthz_ok": healthy,
        "other_member_answered": other_ok,
        "peak_rss_mb": round(proc_status(pid, "VmHWM") / 2**20, 1),
        "rss_growth_mb": round((proc_status(pid, "VmRSS") - rss_start) / 2**20, 1),
        "log_bytes": log_growth,
        "log_bytes_per_10k": round(log_growth * 10_000 / sent) if sent else 0,
        "checkpoints": checkpoints,
    }


async def collect(
    patient: RawSocket, waiting: set[int], last_id: int, closed_itself: bool
) -> str | None:
    """Take acks out of `waiting` until it is empty or ACK_WAIT_S passes; the close reason
    if the server closed the connection."""
    deadline = time.monotonic() + ACK_WAIT_S
    seen: list[str] = []
    while waiting and time.monotonic() < deadline:
        try:
            frame = await asyncio.wait_for(
                patient.frames.get(), max(0.01, deadline - time.monotonic())
            )
        except TimeoutError:
            break
        if frame is None or frame == "1":
            waiting.clear()
            text = " ".join(seen[-5:])
            fallback = "the fuzz closed or disconnected itself" if closed_itself else "unexplained"
            return next(
                (r for r in ("flooding", "join_timeout", "auth_timeout") if r in text), fallback
            )
        if isinstance(frame, str):
            seen.append(frame)
            if frame.startswith("43"):
                digits = len(frame) - len(frame[2:].lstrip("0123456789"))
                if frame[2:digits].isdigit():
                    waiting.discard(int(frame[2:digits]))
            elif frame.startswith("44"):  # a connect_error answers an event on another nsp
                waiting.discard(min(waiting, default=0))
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payloads", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--log", type=Path, help="keep the server's log here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        log_path = args.log or Path(tmp) / "server.log"
        log_path.write_text("")
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe()
        process = ctx.Process(target=serve, args=(tmp + "/data", str(log_path), child), daemon=True)
        process.start()
        try:
            if not parent.poll(30):
                raise RuntimeError("server did not start")
            base, admin = parent.recv()
            assert process.pid is not None
            result = asyncio.run(run(args, process.pid, base, admin, log_path))
        finally:
            process.terminate()
            process.join(5)
    print(
        f"fuzz: {result['payloads']} payloads in {result['seconds']} s "
        f"({result['payloads_per_s']}/s)"
    )
    print(f"  crashes (ERROR lines or tracebacks in the server log): {result['crashes']}")
    print(f"  events with an ack never answered: {result['unanswered_events']}")
    print(f"  connections closed by the server: {result['closed_by_server'] or 'none'}")
    print(
        f"  server healthy afterwards: {result['healthz_ok']}; "
        f"the other member still answered: {result['other_member_answered']}"
    )
    print(
        f"  server peak RSS {result['peak_rss_mb']} MB, RSS growth "
        f"{result['rss_growth_mb']} MB; log growth {result['log_bytes']} bytes "
        f"({result['log_bytes_per_10k']} per 10k payloads)"
    )
    for point in result["checkpoints"]:
        print(
            f"    at {point['payloads']}: RSS {point['rss_mb']:.1f} MB, "
            f"log +{point['log_bytes']} bytes"
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
