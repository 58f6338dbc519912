"""`telehealth program ...` against the real app: every subcommand, and purge in the audit log."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from program_support import WEDNESDAY_10_BERLIN, set_clock

from server.cli.main import main
from server.programs.export import from_csv
from tests.conftest import LiveServer


async def cli(server: LiveServer, capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    args = [*argv, "--server", server.base_url, "--data-dir", str(server.settings.data_dir)]
    # main() blocks on urllib; the server answers on this loop meanwhile.
    code = await asyncio.to_thread(main, ["program", *args])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out if argv[0] == "attendance" and "csv" in argv else json.loads(out)


async def test_the_program_commands_end_to_end(
    live_server: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    set_clock(live_server, WEDNESDAY_10_BERLIN)
    created = await cli(live_server, capsys, "create", "--timezone", "Europe/Berlin")
    pid = created["program"]["id"]
    alex = await cli(live_server, capsys, "add-member", "--program", pid, "--name", "Alex")
    assert alex["url"].startswith(live_server.base_url + "/program#k=")
    kim = await cli(live_server, capsys, "add-therapist", "--program", pid, "--name", "Kim")
    assert kim["url"].startswith(live_server.base_url + "/today#k=")
    group = ("--group", "--days", "mon,wed,fri", "--start", "10:00", "--minutes", "120")
    await cli(live_server, capsys, "schedule", "--program", pid, *group)
    one = ("--individual", alex["id"], "--days", "tue", "--start", "14:00", "--minutes", "60")
    scheduled = await cli(live_server, capsys, "schedule", "--program", pid, *one)
    assert [s["kind"] for s in scheduled["program"]["slots"]] == ["group"] * 3 + ["individual"]
    today = await cli(live_server, capsys, "today", "--program", pid)
    assert [(s["start"], s["state"]) for s in today["sessions"]] == [("10:00", "open")]
    csv_text = await cli(
        live_server, capsys, "attendance", "--program", pid, "--week", "2026-W49", "--format", "csv"
    )
    assert len(from_csv(csv_text)) == 3 + 1  # three groups and one individual session, Alex only
    purged = await cli(live_server, capsys, "purge", "--program", pid)
    assert purged["programs"] == 1
    entries = _audit(Path(live_server.settings.data_dir))
    purge = [e for e in entries if e["event"] == "program_purge"]
    assert purge and purge[-1]["details"]["program"] == pid
    assert not any("Alex" in json.dumps(e) or "Kim" in json.dumps(e) for e in entries)


async def test_a_refusal_is_one_clear_line(
    live_server: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["program", "create", "--timezone", "Mars/Olympus", "--server", live_server.base_url]
    code = await asyncio.to_thread(main, [*argv, "--data-dir", str(live_server.settings.data_dir)])
    _, err = capsys.readouterr()
    assert code == 2
    assert err.strip() == "telehealth: unknown time zone 'Mars/Olympus' (invalid_program)"


def _audit(data_dir: Path) -> list[dict[str, Any]]:
    text = (data_dir / "audit" / "audit.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines()]
