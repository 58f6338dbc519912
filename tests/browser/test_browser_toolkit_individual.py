"""The therapist's toolkit in an individual session, from the pages, in one session:
chat between the two (text, never markup), then the session's end clears it."""

from __future__ import annotations

from typing import Any

import pytest
from browser_support import Server, join_individual

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

WAIT_MS = 15_000


async def send_chat(page: Any, text: str) -> None:
    await page.get_by_label("Message", exact=True).fill(text)
    await page.get_by_label("Message", exact=True).press("Enter")


async def test_individual_session_toolkit(server: Server, browser: Any) -> None:
    _, therapist, patient, logs = await join_individual(server, browser, "Pat")

    # Chat between the two, Enter to send: exactly the text typed.
    await send_chat(patient, "Is my <i>sound</i> OK?")
    log = therapist.get_by_test_id("chat-log")
    await log.get_by_text("Is my <i>sound</i> OK?", exact=True).wait_for(timeout=WAIT_MS)
    assert await log.locator("i").count() == 0
    await log.get_by_text("Pat", exact=True).wait_for(timeout=WAIT_MS)
    await send_chat(therapist, "Yes, clearly")
    await patient.get_by_test_id("chat-log").get_by_text("Yes, clearly").wait_for(timeout=WAIT_MS)
    assert await patient.get_by_label("To", exact=True).is_hidden()

    assert [log.errors for log in logs] == [[], []]
