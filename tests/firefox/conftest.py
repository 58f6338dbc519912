"""Harness for the Firefox tests: the same server as the Chromium tests, Debian's Firefox ESR.

Firefox is driven over its own WebDriver BiDi (tests/firefox_support.py); a
missing firefox-esr fails the tests (scripts/test installs it), never skips them.
Chromium is here too, for the sessions that mix the two browsers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio

from tests.browser.browser_support import Server, running_server
from tests.chromium_support import headless_chromium
from tests.firefox_support import Firefox, headless_firefox


@pytest.fixture(scope="session")
def firefox_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("telehealth-data"), "--test-hooks") as started:
        yield started


@pytest_asyncio.fixture
async def firefox() -> AsyncIterator[Firefox]:
    async with headless_firefox() as browser:
        yield browser


@pytest_asyncio.fixture
async def chromium() -> AsyncIterator[Any]:
    async with headless_chromium() as browser:
        yield browser
