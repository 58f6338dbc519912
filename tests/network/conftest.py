"""Fixtures for tests on real (emulated) networks: a NetLab with two home networks, the
lab's coturn (STUN), the server behind 1:1 NAT, and one Chromium per home network.

Site 1 is the clinic (the therapist and members on a clear link), site 2 the member
whose link the test impairs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.network_support import LabServer, NetLab, Site, chromium_in, start_server


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[NetLab]:
    with NetLab.create(tmp_path) as built:
        built.add_site()
        built.add_site()
        built.start_coturn()
        yield built


@pytest.fixture
def clinic(lab: NetLab) -> Site:
    return lab.sites[0]


@pytest.fixture
def remote(lab: NetLab) -> Site:
    return lab.sites[1]


@pytest.fixture
def lab_server(lab: NetLab, tmp_path: Path) -> LabServer:
    return start_server(lab, tmp_path / "data")


@pytest_asyncio.fixture
async def clinic_browser(lab: NetLab, clinic: Site) -> AsyncIterator[Any]:
    async with chromium_in(lab, clinic.host) as browser:
        yield browser


@pytest_asyncio.fixture
async def remote_browser(lab: NetLab, remote: Site) -> AsyncIterator[Any]:
    async with chromium_in(lab, remote.host) as browser:
        yield browser
