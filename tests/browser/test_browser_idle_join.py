"""A patient who opens the link early and waits on the device check longer than the
server keeps an unjoined connection (join deadline) still joins with one press."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from browser_support import assert_media_complete, open_page, press_join, running_server

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

JOIN_DEADLINE_S = 2


async def test_a_page_past_the_join_deadline_reconnects_when_the_person_joins(
    tmp_path: Path, browser
) -> None:
    with running_server(tmp_path, "--join-timeout-seconds", str(JOIN_DEADLINE_S)) as server:
        room = server.create_room("group", "Alex")  # manual admission, the default
        therapist_link, alex_link = room["links"]
        therapist, therapist_log = await open_page(browser, therapist_link["url"])
        alex, alex_log = await open_page(browser, alex_link["url"])
        await press_join(therapist)  # joined within the deadline
        await asyncio.sleep(JOIN_DEADLINE_S + 2)  # Alex still looks at the camera preview
        # The server closed Alex's idle connection; the page parked it instead of ending.
        assert any("client: ready -> connecting" in line for line in alex_log.lines), alex_log.lines
        assert await alex.get_by_role("button", name="Join session").is_enabled()

        await press_join(alex)
        await therapist.get_by_role("button", name="Admit Alex", exact=True).click()
        await assert_media_complete([therapist, alex])
        for page, log in ((therapist, therapist_log), (alex, alex_log)):
            assert log.errors == []
            assert await page.evaluate("() => window.__telehealth.state().serverErrors") == []
