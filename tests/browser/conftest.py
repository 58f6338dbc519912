"""Harness for browser tests: the real server as a subprocess, real headless Chromium.

The server runs once per test session on a free loopback port with a fresh data
directory; each test gets its own Chromium (pages in separate contexts stand for
separate people).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio
from browser_support import Server, running_server

from tests.chromium_support import headless_chromium


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # --test-hooks: pages get the fault injectors (dropConnection, failMedia) tests use.
    with running_server(tmp_path_factory.mktemp("telehealth-data"), "--test-hooks") as started:
        yield started


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Any]:
    async with headless_chromium() as chromium:
        yield chromium
