"""Fixtures for the ops dashboard tests: the real server, headless Chromium, room members.

The helpers live in ops_harness.py (a unique module name: tests/conftest.py and
tests/browser/conftest.py are other modules called `conftest`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from ops_harness import Member, OpsServer, start_ops_server, stop

from tests.chromium_support import headless_chromium


@pytest.fixture(scope="session")
def ops_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpsServer]:
    server = start_ops_server(tmp_path_factory.mktemp("ops-data"))
    try:
        yield server
    finally:
        stop(server.process)


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[list[OpsServer]]:
    """Servers a test starts (and may stop) itself; all are stopped at teardown."""
    servers: list[OpsServer] = []
    try:
        yield servers
    finally:
        for server in servers:
            stop(server.process)


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Any]:
    async with headless_chromium() as chromium:
        yield chromium


@pytest_asyncio.fixture
async def members(ops_server: OpsServer) -> AsyncIterator[list[Member]]:
    made: list[Member] = []
    try:
        yield made
    finally:
        for member in made:
            await member.close()
