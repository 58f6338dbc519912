"""Harness for browser tests: the real server as a subprocess, real headless Chromium.

The server runs once per test session on a free loopback port with a fresh data
directory; each test gets its own Chromium (pages in separate contexts stand for
separate people).
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from browser_support import (
    CLI,
    REPO,
    STARTUP_TIMEOUT_S,
    Server,
    free_port,
)

from tests.chromium_support import headless_chromium, stop_process


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                if json.load(response).get("status") == "ok":
                    return
        except OSError as error:
            last_error = error
        time.sleep(0.2)
    raise RuntimeError(f"server not healthy after {STARTUP_TIMEOUT_S}s ({last_error}):\n"
                       f"{log_path.read_text()}")


_stop = stop_process


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("telehealth-data")
    log_path = data_dir / "server.log"
    port = free_port()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*CLI, "serve", "--host", "127.0.0.1", "--port", str(port),
             "--data-dir", str(data_dir)],
            cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base_url, process, log_path)
        yield Server(base_url, data_dir, process, log_path)
    finally:
        _stop(process)


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Any]:
    async with headless_chromium() as chromium:
        yield chromium
