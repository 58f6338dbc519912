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
def lab_server(lab: NetLab, tmp_path: Path) -> Iterator[LabServer]:
    server = start_server(lab, tmp_path / "data")
    yield server
    # pytest shows this only when the test failed: the relay's own account (last-N
    # decisions, warnings) is what a failure on a CI machine can be read from.
    lines = server.log_path.read_text(errors="replace").splitlines()
    told = [line for line in lines if "WARNING" in line or "ERROR" in line or "last-N" in line]
    print("server log, warnings and last-N decisions:", *told[-80:], sep="\n")


@pytest_asyncio.fixture
async def clinic_browser(lab: NetLab, clinic: Site) -> AsyncIterator[Any]:
    async with chromium_in(lab, clinic.host) as browser:
        yield browser


@pytest_asyncio.fixture
async def remote_browser(lab: NetLab, remote: Site) -> AsyncIterator[Any]:
    async with chromium_in(lab, remote.host) as browser:
        yield browser
