"""The `telehealth` command."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from urllib.parse import quote

from server.cli.admin_client import AdminClientError, call_admin_api
from server.cli.program_commands import add_program_parser, run_program
from server.settings import (
    DEFAULT_DATA_DIR,
    DEFAULT_HOST,
    DEFAULT_PORT,
    ICE_POLICIES,
    Settings,
    parse_port_range,
)


def _data_dir_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("TELEHEALTH_DATA_DIR", DEFAULT_DATA_DIR)),
        help="keys, audit log and server.json (default ./telehealth-data)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="telehealth", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the session server")
    serve.add_argument("--host", default=DEFAULT_HOST)
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    _data_dir_arg(serve)
    serve.add_argument("--redis-url", default=os.environ.get("TELEHEALTH_REDIS_URL"))
    serve.add_argument("--tls-cert", type=Path)
    serve.add_argument("--tls-key", type=Path)
    serve.add_argument(
        "--self-signed",
        action="store_true",
        help="serve HTTPS with a generated certificate (LAN trials)",
    )
    serve.add_argument("--public-url", help="base URL for join links, e.g. behind a proxy")
    serve.add_argument(
        "--allowed-origin",
        action="append",
        default=[],
        help="an extra origin allowed to open sessions (repeatable)",
    )
    serve.add_argument(
        "--trust-proxy",
        action="store_true",
        help="honour X-Forwarded-Proto/Host/For from a reverse proxy",
    )
    serve.add_argument(
        "--auth-timeout-seconds",
        type=float,
        default=10.0,
        help="close connections that do not authenticate within this (0: never)",
    )
    serve.add_argument(
        "--join-timeout-seconds",
        type=float,
        default=900.0,
        help="close authenticated connections that do not join within this (0: never)",
    )
    serve.add_argument(
        "--max-connections-per-address",
        type=int,
        default=100,
        help="open connections allowed per client address (0: no cap)",
    )
    serve.add_argument("--stun", action="append", default=[], help="STUN URL (repeatable)")
    serve.add_argument("--turn", action="append", default=[], help="TURN URL (repeatable)")
    serve.add_argument("--turn-secret", default=os.environ.get("TELEHEALTH_TURN_SECRET"))
    serve.add_argument(
        "--turn-ttl-seconds",
        "--turn-ttl",
        type=float,
        default=6 * 3600.0,
        help="lifetime of the TURN credentials handed out; pages fetch new ones before",
    )
    serve.add_argument(
        "--ice-policy",
        choices=ICE_POLICIES,
        default="all",
        help="relay: browsers use TURN candidates only (members never see each other's "
        "addresses); needs --turn",
    )
    serve.add_argument(
        "--rtc-ports",
        metavar="FIRST-LAST|PORT",
        help="UDP ports of the group relay's legs: a range, e.g. 50000-50199, or one port "
        "that every leg shares (default: any free port)",
    )
    serve.add_argument(
        "--rtc-announce-ip",
        metavar="IP",
        help="1:1 NAT: the relay announces this public address instead of its own",
    )
    serve.add_argument(
        "--no-last-n",
        dest="last_n",
        action="store_false",
        help="forward every camera to every member, whatever its downlink (no last-N)",
    )
    serve.add_argument("--grace-seconds", type=float, default=30.0)
    serve.add_argument("--max-group-size", type=int, default=16)
    serve.add_argument("--link-ttl-minutes", type=float, default=240.0)
    serve.add_argument(
        "--webhook",
        action="append",
        default=[],
        metavar="URL",
        help="POST room and participant events here (repeatable)",
    )
    serve.add_argument(
        "--webhook-secret",
        default=os.environ.get("TELEHEALTH_WEBHOOK_SECRET"),
        help="HMAC key that signs webhook deliveries",
    )
    serve.add_argument(
        "--metrics-token",
        default=os.environ.get("TELEHEALTH_METRICS_TOKEN") or None,
        help="bearer token GET /metrics requires (default: no token, and only "
        "this machine may scrape); prefer TELEHEALTH_METRICS_TOKEN",
    )
    serve.add_argument(
        "--ops-show-names",
        action="store_true",
        help="show display names on the ops dashboard (default: pseudonyms)",
    )
    serve.add_argument(
        "--program-retention-days",
        type=int,
        default=365,
        help="program attendance older than this is deleted by `program purge`",
    )
    serve.add_argument(
        "--test-hooks",
        action="store_true",
        help="test only: join pages get fault injectors for browser tests",
    )
    serve.add_argument("--log-level", default="INFO")
    serve.add_argument("--log-format", choices=["json", "text"], default="json")

    room = commands.add_parser("room", help="manage rooms").add_subparsers(
        dest="room_command", required=True
    )
    create = room.add_parser("create", help="create a room and print its join links")
    create.add_argument("--kind", choices=["individual", "group"], required=True)
    create.add_argument("--participant", action="append", default=[], metavar="NAME")
    create.add_argument("--therapist", default="Therapist", metavar="NAME")
    create.add_argument("--admit", choices=["manual", "auto"], default="manual")
    create.add_argument(
        "--emergency-info",
        action="store_true",
        help="individual rooms: the patient confirms location and an emergency contact first",
    )
    create.add_argument("--ttl-minutes", type=float)
    create.add_argument("--server", help="server URL (default: from the data directory)")
    _data_dir_arg(create)

    invite = commands.add_parser("invite", help="print one more join link for a room")
    invite.add_argument("--room", required=True)
    invite.add_argument("--role", choices=["therapist", "participant"], required=True)
    invite.add_argument("--name", required=True)
    invite.add_argument(
        "--emergency-info",
        action="store_true",
        help="a patient's link in an individual room asks for emergency information",
    )
    invite.add_argument("--ttl-minutes", type=float)
    invite.add_argument("--server", help="server URL (default: from the data directory)")
    _data_dir_arg(invite)

    ops = commands.add_parser("ops-link", help="print a link to the live ops dashboard")
    ops.add_argument("--ttl-minutes", type=float, default=12 * 60.0)
    _data_dir_arg(ops)

    add_program_parser(commands, _data_dir_arg)

    audit = commands.add_parser("audit", help="the tamper-evident audit log").add_subparsers(
        dest="audit_command", required=True
    )
    verify = audit.add_parser("verify", help="check the hash chains of an audit log")
    verify.add_argument(
        "path", help="an audit file, or the audit directory (every chain, all rotations)"
    )
    return parser


def _settings_from(args: argparse.Namespace) -> Settings:
    cert, key = args.tls_cert, args.tls_key
    if args.self_signed:
        from server.http.tls import make_self_signed

        cert, key = make_self_signed(args.data_dir, args.host)
    return Settings(
        host=args.host,
        port=args.port,
        data_dir=args.data_dir,
        redis_url=args.redis_url,
        tls_cert=cert,
        tls_key=key,
        public_url=args.public_url,
        allowed_origins=tuple(args.allowed_origin),
        trust_proxy=args.trust_proxy,
        stun_urls=tuple(args.stun),
        turn_urls=tuple(args.turn),
        turn_secret=args.turn_secret,
        turn_ttl_s=args.turn_ttl_seconds,
        ice_policy=args.ice_policy,
        rtc_ports=parse_port_range(args.rtc_ports) if args.rtc_ports else None,
        rtc_announce_ip=args.rtc_announce_ip,
        last_n=args.last_n,
        grace_s=args.grace_seconds,
        max_group_size=args.max_group_size,
        link_ttl_s=args.link_ttl_minutes * 60,
        log_level=args.log_level,
        webhook_urls=tuple(args.webhook),
        webhook_secret=args.webhook_secret,
        ops_show_names=args.ops_show_names,
        metrics_token=args.metrics_token,
        auth_timeout_s=args.auth_timeout_seconds,
        join_timeout_s=args.join_timeout_seconds,
        max_connections_per_address=args.max_connections_per_address,
        program_retention_days=args.program_retention_days,
        test_hooks=args.test_hooks,
    )


def ops_link(data_dir: Path, ttl_s: float) -> str:
    """Minted locally with the server's own key: works without the admin API."""
    from server.auth.keys import load_or_create
    from server.auth.tokens import TokenIssuer
    from server.cli.runtime_file import read_runtime

    info = read_runtime(data_dir)
    if info is None:
        raise AdminClientError(
            f"No running server found for data directory {data_dir.resolve()}.\n"
            "Start one with `telehealth serve` in this directory (or pass --data-dir)."
        )
    token = TokenIssuer(load_or_create(data_dir).signing_key).issue_ops(ttl_s=ttl_s)
    return f"{info.public_url.rstrip('/')}/ops#t={token}"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "serve":
            from server.cli.serve import run
            from server.ops.log_format import configure_logging

            configure_logging(args.log_level, json=args.log_format == "json")
            asyncio.run(run(_settings_from(args)))
            return 0
        if args.command == "ops-link":
            print(ops_link(args.data_dir, args.ttl_minutes * 60))
            return 0
        if args.command == "program":
            return run_program(args)
        if args.command == "audit":
            from server.audit.verify import run_verify

            return run_verify(args.path)
        if args.command == "room":
            body = {
                "kind": args.kind,
                "therapist": args.therapist,
                "participants": args.participant,
                "admit": args.admit,
                "ttl_minutes": args.ttl_minutes,
            }
            # Sent only when asked for, so this CLI still talks to servers without it.
            if args.emergency_info:
                body["emergency_info"] = True
            print(
                json.dumps(call_admin_api(args.data_dir, "/api/rooms", body, args.server), indent=2)
            )
            return 0
        if args.command == "invite":
            body = {"role": args.role, "name": args.name, "ttl_minutes": args.ttl_minutes}
            # Sent only when asked for, so this CLI still talks to servers without it.
            if args.emergency_info:
                body["emergency_info"] = True
            path = f"/api/rooms/{quote(args.room, safe='')}/invites"
            print(json.dumps(call_admin_api(args.data_dir, path, body, args.server), indent=2))
            return 0
    except (AdminClientError, ValueError, OSError) as error:
        print(f"telehealth: {error}", file=sys.stderr)
        return 2
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
