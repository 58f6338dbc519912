"""Helpers shared by the browser tests (what a person does, what a test checks)."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
# Runs `server.cli.main` whether or not the module has a __main__ guard.
CLI = [sys.executable, "-c", "import sys; from server.cli import main; sys.exit(main())"]
STARTUP_TIMEOUT_S = 30.0
CLI_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    base_url: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    rooms: list[str] = field(default_factory=list)

    def cli(self, *args: str) -> dict[str, Any]:
        result = subprocess.run(
            [*CLI, *args, "--data-dir", str(self.data_dir)],
            cwd=REPO, capture_output=True, text=True, timeout=CLI_TIMEOUT_S, check=False,
        )
        assert result.returncode == 0, f"telehealth {' '.join(args)} failed:\n{result.stderr}"
        return json.loads(result.stdout)  # type: ignore[no-any-return]

    def create_room(
        self, kind: str, *participants: str, admit: str | None = None
    ) -> dict[str, Any]:
        args = ["room", "create", "--kind", kind]
        for name in participants:
            args += ["--participant", name]
        if admit:
            args += ["--admit", admit]
        room = self.cli(*args)
        self.rooms.append(room["room"])
        return room

    def invite(self, room: str, role: str, name: str) -> dict[str, Any]:
        return self.cli("invite", "--room", room, "--role", role, "--name", name)

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


@dataclass
class PageLog:
    """Console errors and uncaught exceptions of one page."""

    errors: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


async def open_page(
    browser: Any, url: str, *, viewport: dict[str, int] | None = None
) -> tuple[Any, PageLog]:
    """A page in its own browser context (its own person), with its console recorded."""
    context = await browser.new_context(viewport=viewport or {"width": 1024, "height": 768})
    page = await context.new_page()
    log = PageLog()
    page.on("console", lambda m: _record(log, m))
    page.on("pageerror", lambda e: log.errors.append(f"pageerror: {e}"))
    await page.goto(url)
    return page, log


def _record(log: PageLog, message: Any) -> None:
    line = f"{message.type}: {message.text}"
    log.lines.append(line)
    if message.type == "error":
        log.errors.append(line)


JOIN_TIMEOUT_MS = 20_000
DECODE_TIMEOUT_S = 20.0


async def press_join(page: Any) -> None:
    """Press "Join session" once the device check allows it, and wait to be in the room."""
    button = page.get_by_role("button", name="Join session", exact=True)
    await button.click(timeout=JOIN_TIMEOUT_MS)
    await page.wait_for_function(
        "() => window.__telehealth?.state().state === 'joined'", timeout=JOIN_TIMEOUT_MS
    )


async def client_state(page: Any) -> dict[str, Any]:
    return await page.evaluate("() => window.__telehealth.state()")  # type: ignore[no-any-return]


async def frames_decoded(page: Any) -> dict[str, int]:
    stats = await page.evaluate("() => window.__telehealth.stats()")
    return {member: int(s["framesDecoded"]) for member, s in stats.items()}


async def assert_decoding(
    page: Any, remotes: int, *, timeout_s: float = DECODE_TIMEOUT_S
) -> dict[str, int]:
    """Wait until `remotes` remote videos decode frames, then check every count keeps rising."""
    deadline = time.monotonic() + timeout_s
    first: dict[str, int] = {}
    while time.monotonic() < deadline:
        first = await frames_decoded(page)
        if len(first) >= remotes and all(n > 0 for n in first.values()):
            break
        await asyncio.sleep(0.25)
    state = await client_state(page)
    assert len(first) >= remotes and all(n > 0 for n in first.values()), (
        f"expected {remotes} decoding remote videos within {timeout_s}s, got {first}; "
        f"client state {json.dumps(state)[:800]}"
    )
    await asyncio.sleep(1.0)
    second = await frames_decoded(page)
    for member, count in first.items():
        assert second.get(member, 0) > count, (
            f"video of {member} stopped decoding: {count} -> {second}"
        )
    return second


async def notice(page: Any, *, timeout_ms: int = 15_000) -> tuple[str, str]:
    """The visible notice (code, text) once one is shown."""
    locator = page.locator("#notice")
    await locator.wait_for(state="visible", timeout=timeout_ms)
    return (await locator.get_attribute("data-code") or "", await locator.inner_text())


def token_of(url: str) -> str:
    return url.split("#t=", 1)[1]


def with_token(url: str, token: str) -> str:
    return url.split("#t=", 1)[0] + "#t=" + token


def tamper_signature(token: str) -> str:
    """Change a character in the middle of the signature (the last may hold only padding bits)."""
    header, payload, signature = token.split(".")
    i = len(signature) // 2
    swapped = "A" if signature[i] != "A" else "B"
    return f"{header}.{payload}.{signature[:i]}{swapped}{signature[i + 1:]}"


def tamper_payload(token: str, **changes: Any) -> str:
    """Re-encode the claims with changes, keeping the original signature."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    encoded = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{encoded}.{signature}"


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))  # type: ignore[no-any-return]


def sign_expired(data_dir: Path, like_token: str) -> str:
    """A correctly signed join token for the same room and person that expired 10 minutes ago."""
    import jwt
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key((data_dir / "signing-key.pem").read_bytes(), None)
    claims = claims_of(like_token)
    now = int(time.time())
    claims.update(iat=now - 7200, nbf=now - 7200, exp=now - 600, jti="expired-test-token")
    return jwt.encode(claims, key, algorithm="EdDSA")  # type: ignore[arg-type]
