"""The therapist's toolkit in an individual session, from the pages, in one session:
the pre-join connection check, emergency information at check-in (asked before
joining, seen only by the therapist, again after the therapist reloads), axe-core over
the device check and both views, a keyboard-only join, the arrival chime, the session
clock, picture-in-picture, chat between the two (text, never markup, Enter to send)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from accessibility import assert_accessible
from browser_support import (
    COUNT_CHIMES,
    Server,
    client_state,
    join_individual,
    press_join,
    press_with_keyboard,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

WAIT_MS = 15_000
LOCATION = "12 Elm Street, flat 3"
CONTACT = "Jordan Lee (sister) 555-0142"


async def send_chat(page: Any, text: str) -> None:
    await page.get_by_label("Message", exact=True).fill(text)
    await page.get_by_label("Message", exact=True).press("Enter")


async def test_individual_session_toolkit(server: Server, browser: Any) -> None:
    async def device_check(page: Any) -> None:
        # The connection check: a verdict with its three measures well within 15 s.
        started = time.monotonic()
        await page.get_by_role("button", name="Check my connection").click()
        check = page.get_by_test_id("connection-check")
        await page.wait_for_selector('[data-testid="connection-check"][data-state="done"]')
        assert time.monotonic() - started < 15
        assert await check.get_attribute("data-verdict") in ("good", "fair", "poor")
        rows = await check.locator("dd").all_inner_texts()
        assert len(rows) == 3 and rows[0].endswith(" ms") and rows[2].startswith("about "), rows
        # The media probe really connected (ICE and DTLS) to the server's media sockets.
        assert rows[1].startswith("reaches the session server, in "), rows
        # Emergency information first: Join without it says what is missing.
        await page.get_by_role("group", name="Before you join: for your safety").wait_for()
        await assert_accessible(page, "the device check with the check-in form and results")
        await page.get_by_role("button", name="Join session", exact=True).click()
        await page.get_by_test_id("checkin-problem").wait_for(timeout=WAIT_MS)
        assert (await client_state(page))["state"] != "joined"
        await page.get_by_label("Where are you right now? (address or place)").fill(LOCATION)
        await page.get_by_label("Emergency contact (name and phone number)").fill(CONTACT)

    # The patient joins with the keyboard alone.
    _, therapist, patient, logs = await join_individual(
        server,
        browser,
        "Pat",
        therapist_init_script=COUNT_CHIMES,
        at_device_check=device_check,
        patient_keyboard=True,
        emergency_info=True,
    )
    await assert_accessible(therapist, "the individual view (therapist)")
    await assert_accessible(patient, "the individual view (patient)")
    # The therapist heard the patient arrive, and sees the session clock run.
    assert await therapist.evaluate("() => window.__chimes") >= 2
    clock = therapist.get_by_test_id("session-clock")
    first = await clock.inner_text()
    await therapist.wait_for_function(
        f"() => document.querySelector('[data-testid=session-clock]').textContent !== {first!r}",
        timeout=WAIT_MS,
    )
    assert first.startswith("Session time 0:0")
    assert await patient.get_by_test_id("session-clock").count() == 0

    # Picture-in-picture of the other person, and back.
    await press_with_keyboard(therapist, "Picture-in-picture")
    await therapist.wait_for_function("() => document.pictureInPictureElement !== null")
    assert (
        await therapist.evaluate("() => document.pictureInPictureElement.dataset.role") == "remote"
    )
    await therapist.get_by_role("button", name="Exit picture-in-picture").click()
    await therapist.wait_for_function("() => document.pictureInPictureElement === null")
    # Only the therapist sees the emergency information, and sees it again after a reload
    # (the patient's page shares it with every therapist page that joins).
    card = therapist.get_by_test_id("checkin-card")
    await card.get_by_text(LOCATION).wait_for(timeout=WAIT_MS)
    await card.get_by_text(CONTACT).wait_for(timeout=WAIT_MS)
    assert await patient.get_by_test_id("checkin-card").count() == 0
    await therapist.reload()
    await press_join(therapist)
    await therapist.get_by_test_id("checkin-card").get_by_text(LOCATION).wait_for(timeout=WAIT_MS)

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
