"""A member's personal link in real Chromium before, during and after an occurrence, and
the therapist's today page while the member waits. The program clock is moved through
the test-only clock route (`serve --test-hooks`), not waited for.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from server.auth.keys import ADMIN_KEY_FILE
from tests.browser.browser_support import Server, open_page, press_join, running_server
from tests.chromium_support import headless_chromium

pytestmark = pytest.mark.browser

# Wednesday 2026-12-02 in Europe/Berlin (UTC+1): the group meets Mon/Wed/Fri 10:00-12:00.
WEDNESDAY = datetime(2026, 12, 2, tzinfo=UTC).timestamp()
HOUR = 3600.0
WAIT_MS = 15_000


def berlin(hours: float) -> float:
    return WEDNESDAY + (hours - 1) * HOUR


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with running_server(data_dir, "--test-hooks") as started:
        yield started


def set_clock(server: Server, at: float) -> None:
    key = (server.data_dir / ADMIN_KEY_FILE).read_text().strip()
    request = urllib.request.Request(
        server.base_url + "/api/test/program-clock",
        data=json.dumps({"now": at}).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200


def make_program(server: Server) -> tuple[dict[str, Any], dict[str, Any]]:
    program = server.cli("program", "create", "--timezone", "Europe/Berlin")["program"]["id"]
    alex = server.cli("program", "add-member", "--program", program, "--name", "Alex")
    kim = server.cli("program", "add-therapist", "--program", program, "--name", "Kim")
    server.cli(
        "program", "schedule", "--program", program, "--group",
        "--days", "mon,wed,fri", "--start", "10:00", "--minutes", "120",
    )  # fmt: skip
    return alex, kim


async def test_a_personal_link_before_during_and_after_a_session(server: Server) -> None:
    alex, kim = make_program(server)
    async with headless_chromium() as browser:
        member, member_log = await open_page(browser, "about:blank")
        message = member.locator("#program-message")

        set_clock(server, berlin(9.5))  # 09:30: the room opens at 09:45
        await member.goto(alex["url"])
        await message.filter(has_text="Your next session: Wednesday 10:00, group").wait_for(
            timeout=WAIT_MS
        )
        assert "#k=" not in member.url  # the secret left the address bar

        set_clock(server, berlin(9.9))  # 09:54: open
        await member.reload()  # the key is still in this tab's sessionStorage
        await member.wait_for_url("**/join", timeout=WAIT_MS)
        await press_join(member)  # a group with manual admission: the waiting room

        therapist, therapist_log = await open_page(browser, kim["url"])
        session = therapist.locator("#today-sessions li")
        await session.filter(has_text="Waiting: Alex").wait_for(timeout=WAIT_MS)
        alex_hours = therapist.get_by_role("meter", name="Alex: 0 of 9 h")
        await alex_hours.wait_for(timeout=WAIT_MS)
        await therapist.get_by_role("button", name="Join 10:00 group").click()
        await therapist.wait_for_url("**/join", timeout=WAIT_MS)
        await therapist.get_by_role("button", name="Join session").wait_for(timeout=WAIT_MS)

        set_clock(server, berlin(12.34))  # 12:20: closed 12:15
        await member.goto(server.base_url + "/program")
        await message.filter(has_text="Your next session: Friday 10:00, group").wait_for(
            timeout=WAIT_MS
        )
        assert not member_log.errors and not therapist_log.errors, (
            member_log.errors + therapist_log.errors
        )
