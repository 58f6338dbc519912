"""`telehealth program ...`: each subcommand is one call to the running server's programs API."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from server.cli.admin_client import call_admin_api

DataDirArg = Callable[[argparse.ArgumentParser], None]


def add_program_parser(commands: Any, data_dir_arg: DataDirArg) -> None:
    program = commands.add_parser(
        "program", help="intensive outpatient programs: people, schedule, attendance"
    ).add_subparsers(dest="program_command", required=True)

    def sub(name: str, help_text: str, *, needs_program: bool = True) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = program.add_parser(name, help=help_text)
        if needs_program:
            parser.add_argument("--program", required=True, metavar="ID")
        parser.add_argument("--server", help="server URL (default: from the data directory)")
        data_dir_arg(parser)
        return parser

    create = sub("create", "create a program and print its id", needs_program=False)
    create.add_argument("--timezone", required=True, help="IANA time zone, e.g. Europe/Berlin")
    create.add_argument("--title", default="Program")
    create.add_argument("--weekly-target-hours", type=float, default=9.0)
    create.add_argument("--max-billable-group", type=int, default=12)
    create.add_argument("--open-before-minutes", type=int, default=15)
    create.add_argument("--close-after-minutes", type=int, default=15)
    for role in ("member", "therapist"):
        add = sub(f"add-{role}", f"add a {role} and print their personal link")
        add.add_argument("--name", required=True)
    for name, help_text in (
        ("remove", "remove a person: their link stops working at once"),
        ("new-link", "replace a person's personal link (the old one stops working)"),
    ):
        sub(name, help_text).add_argument("--person", required=True, metavar="ID")
    schedule = sub("schedule", "add weekly sessions")
    kind = schedule.add_mutually_exclusive_group(required=True)
    kind.add_argument("--group", action="store_true", help="a group session for every member")
    kind.add_argument("--individual", metavar="MEMBER_ID", help="an individual session")
    schedule.add_argument("--days", required=True, help="comma-separated, e.g. mon,wed,fri")
    schedule.add_argument("--start", required=True, help="HH:MM in the program's time zone")
    schedule.add_argument("--minutes", type=int, required=True)
    sub("today", "today's sessions: state, waiting and present counts")
    attendance = sub("attendance", "a week's attendance (audited)")
    attendance.add_argument("--week", help="YYYY-Www (default: this week)")
    attendance.add_argument("--format", choices=["json", "csv"], default="json")
    purge = sub("purge", "delete attendance past retention (audited)", needs_program=False)
    purge.add_argument("--program", metavar="ID", help="delete this whole program instead")


def run_program(args: argparse.Namespace) -> int:
    command: str = args.program_command
    path, body = _request(command, args)
    result = call_admin_api(Path(args.data_dir), path, body, args.server)
    if command == "attendance" and args.format == "csv":
        print(result["csv"], end="")
    else:
        print(json.dumps(result, indent=2))
    return 0


def _request(command: str, args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    if command == "create":
        return "/api/programs", {
            "timezone": args.timezone,
            "title": args.title,
            "weekly_target_hours": args.weekly_target_hours,
            "max_billable_group": args.max_billable_group,
            "open_before_minutes": args.open_before_minutes,
            "close_after_minutes": args.close_after_minutes,
        }
    if command == "purge":
        return "/api/programs/purge", {"program": args.program}
    base = f"/api/programs/{quote(args.program, safe='')}"
    if command in ("add-member", "add-therapist"):
        return f"{base}/{command.removeprefix('add-')}s", {"name": args.name}
    if command in ("remove", "new-link"):
        action = "remove" if command == "remove" else "link"
        return f"{base}/people/{quote(args.person, safe='')}/{action}", {}
    if command == "schedule":
        return f"{base}/schedule", {
            "kind": "group" if args.group else "individual",
            "member": args.individual,
            "days": [d for d in args.days.split(",") if d.strip()],
            "start": args.start,
            "minutes": args.minutes,
        }
    if command == "today":
        return f"{base}/today", {}
    if command == "attendance":
        return f"{base}/attendance", {"week": args.week, "format": args.format}
    raise ValueError(f"unknown program command {command}")  # pragma: no cover - argparse
