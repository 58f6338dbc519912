"""Helpers for the ops dashboard tests: `telehealth serve` as a subprocess, headless Chromium.

The server starts once per test session with `--port 0` and a fresh data directory;
its bound address is read from `server.json`, which `serve` writes once it listens.
Every wait is bounded.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import socketio

from tests.chromium_support import stop_process

REPO = Path(__file__).resolve().parents[2]
TELEHEALTH = Path(sys.executable).parent / "telehealth"

STARTUP_TIMEOUT_S = 20.0
CLI_TIMEOUT_S = 20.0
WAIT_S = 10.0


def token_of(link_url: str) -> str:
    fragment = urlsplit(link_url).fragment
    assert fragment.startswith("t="), link_url
    return fragment[2:]


@dataclass
class OpsServer:
    data_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    base_url: str = ""

    def cli(self, *args: str) -> str:
        result = subprocess.run(
            [str(TELEHEALTH), *args, "--data-dir", str(self.data_dir)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_S,
            check=False,
        )
        assert result.returncode == 0, f"telehealth {' '.join(args)} failed:\n{result.stderr}"
        return result.stdout.strip()

    def ops_link(self) -> str:
        link = self.cli("ops-link")
        assert link.startswith(self.base_url + "/ops#t="), link
        return link

    def create_room(self, kind: str = "individual") -> dict[str, Any]:
        room: dict[str, Any] = json.loads(self.cli("room", "create", "--kind", kind))
        return room

    def log_tail(self, chars: int = 3000) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-chars:]
        return ""


def _wait_for_runtime_file(server: OpsServer) -> str:
    """`serve --port 0` announces its bound address in DATA_DIR/server.json."""
    path = server.data_dir / "server.json"
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"server exited with {server.process.returncode}:\n{server.log_tail()}"
            )
        with contextlib.suppress(OSError, ValueError):
            info = json.loads(path.read_text())
            if info.get("pid") == server.process.pid and info.get("public_url"):
                return str(info["public_url"]).rstrip("/")
        time.sleep(0.1)
    raise RuntimeError(f"no server.json after {STARTUP_TIMEOUT_S}s:\n{server.log_tail()}")


stop = stop_process


def start_ops_server(data_dir: Path, port: int = 0) -> OpsServer:
    log_path = data_dir / "server.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [
                str(TELEHEALTH),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--data-dir",
                str(data_dir),
                "--log-format",
                "text",
            ],
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = OpsServer(data_dir, process, log_path)
    try:
        server.base_url = _wait_for_runtime_file(server)
    except BaseException:
        stop(process)
        raise
    return server


@dataclass
class PageLog:
    errors: list[str] = field(default_factory=list)


async def open_page(
    browser: Any, url: str, *, viewport: dict[str, int] | None = None
) -> tuple[Any, PageLog]:
    """A page in its own context, with console errors and uncaught exceptions recorded."""
    context = await browser.new_context(viewport=viewport or {"width": 1280, "height": 800})
    page = await context.new_page()
    page.set_default_timeout(WAIT_S * 1000)
    log = PageLog()
    page.on("console", lambda m: log.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: log.errors.append(f"pageerror: {e}"))
    await page.goto(url)
    return page, log


class Member:
    """A room member as a python-socketio client: joins, then reports its own stats."""

    def __init__(self, base_url: str, token: str) -> None:
        self._base_url = base_url
        self._token = token
        self.sio = socketio.AsyncClient(reconnection=False, logger=False, engineio_logger=False)

    async def join(self) -> dict[str, Any]:
        await self.sio.connect(
            self._base_url,
            auth={"token": self._token},
            transports=["websocket"],
            wait_timeout=WAIT_S,
        )
        ack: dict[str, Any] = await self.sio.call("session.join", {}, timeout=WAIT_S)
        assert ack.get("ok") is True, ack
        return ack

    async def report(self, **stats: Any) -> None:
        ack = await self.sio.call("stats.report", stats, timeout=WAIT_S)
        assert ack == {"ok": True}, ack

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.sio.disconnect()
