"""SIGTERM with pages connected: they are told the server restarts, the relay is drained,
and the real `telehealth serve` process exits within 2 s.

Before this was fixed, aiohttp waited for every open WebSocket on shutdown: a client
that does not close its end after Engine.IO's close (python-socketio's does not; a
hostile one never will) held the process for seconds, up to the ping timeout (45 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import socketio

from server.auth.keys import ADMIN_KEY_FILE
from tests.chromium_support import stop_process
from tests.conftest import Connector, token_of
from tests.e2e.wire_member import WireMember

REPO = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-c", "import sys; from server.cli.main import main; sys.exit(main())"]
STARTUP_TIMEOUT_S = 30.0
EXIT_WITHIN_S = 2.0


@dataclass
class Served:
    base_url: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path

    def create_room(self, body: dict[str, object]) -> dict[str, object]:
        key = (self.data_dir / ADMIN_KEY_FILE).read_text().strip()
        request = urllib.request.Request(
            f"{self.base_url}/api/rooms",
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            room: dict[str, object] = json.load(response)
            return room


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    data_dir = tmp_path / "data"
    log_path = tmp_path / "server.log"
    port = _free_port()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*CLI, "serve", "--port", str(port), "--data-dir", str(data_dir)],
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            assert process.poll() is None, log_path.read_text()
            try:
                with urllib.request.urlopen(f"{base_url}/healthz", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.1)
        yield Served(base_url, data_dir, process, log_path)
    finally:
        stop_process(process)


async def _exit_time(process: subprocess.Popen[bytes], limit_s: float = 15.0) -> float:
    """Seconds from SIGTERM to exit; the event loop (our clients) keeps running meanwhile."""
    started = time.monotonic()
    process.terminate()  # SIGTERM
    with contextlib.suppress(subprocess.TimeoutExpired):
        await asyncio.to_thread(process.wait, limit_s)
    return time.monotonic() - started


async def test_sigterm_tells_pages_to_reconnect_drains_the_relay_and_exits_promptly(
    served: Served, connect: Connector
) -> None:
    room = served.create_room({"kind": "group", "participants": ["Alex"], "admit": "auto"})
    links = room["links"]
    assert isinstance(links, list)
    clients = [
        await connect(served.base_url, token_of(link["url"]), headers={"Origin": served.base_url})
        for link in links
    ]
    for client in clients:
        await client.join()
    member = WireMember(clients[0])
    try:
        await member.publish()  # the room now has a relay with one leg
        elapsed = await _exit_time(served.process)
    finally:
        await member.close()

    log = served.log_path.read_text()
    assert served.process.returncode == 0, log
    assert elapsed < EXIT_WITHIN_S, f"SIGTERM took {elapsed:.2f}s:\n{log[-2000:]}"
    for client in clients:
        notice = client.peek("server.restarting")
        assert notice == [
            {"reason": "restart", "message": "The server is restarting, reconnecting…"}
        ]
        assert client.disconnects == [socketio.AsyncClient.reason.SERVER_DISCONNECT]
    assert "2 connections told to reconnect, 1 relays closed" in log, log[-2000:]
