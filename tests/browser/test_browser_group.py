"""Group sessions: every member's media goes through the server's relay."""

from __future__ import annotations

import asyncio

import pytest
from browser_support import (
    Server,
    assert_media_complete,
    open_page,
    press_join,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


async def test_with_admission_on_arrival_three_members_see_and_hear_each_other(
    server: Server, browser
) -> None:
    # --admit auto is the exception (therapists admit by hand): this is its one test.
    room = server.create_room("group", "Alex", "Sam", admit="auto")
    assert room["kind"] == "group" and len(room["links"]) == 3
    opened = [await open_page(browser, link["url"]) for link in room["links"]]
    pages = [page for page, _ in opened]
    await asyncio.gather(*(press_join(page) for page in pages))

    for page in pages:
        tiles = page.locator('video[data-role="remote"]')
        await page.wait_for_function(
            "() => document.querySelectorAll('video[data-role=\"remote\"]').length === 2",
            timeout=30_000,
        )
        assert await tiles.count() == 2
    await assert_media_complete(pages)
    for _, log in opened:
        assert log.errors == []


async def test_waiting_room_then_admitted_member_sees_the_therapist(
    server: Server, browser
) -> None:
    room = server.create_room("group", "Alex")  # manual admission, the default
    therapist_link, alex_link = room["links"]
    therapist, therapist_log = await open_page(browser, therapist_link["url"])
    alex, alex_log = await open_page(browser, alex_link["url"])
    await press_join(therapist)
    await press_join(alex)

    await alex.get_by_text("Waiting for the therapist to let you in…").wait_for(timeout=10_000)
    assert (await alex.evaluate("() => window.__telehealth.state().admission")) == "waiting"
    await therapist.get_by_role("button", name="Admit Alex").click(timeout=10_000)

    await alex.wait_for_function(
        "() => window.__telehealth.state().admission === 'admitted'", timeout=10_000
    )
    await assert_media_complete([therapist, alex])
    for page, log in ((therapist, therapist_log), (alex, alex_log)):
        assert log.errors == []
        assert await page.evaluate("() => window.__telehealth.state().serverErrors") == []


async def test_member_recovers_from_a_failed_relay_leg_and_a_signaling_drop(
    server: Server, browser
) -> None:
    room = server.create_room("group", "Alex")  # manual admission, the default
    opened = [await open_page(browser, link["url"]) for link in room["links"]]
    therapist, alex = (page for page, _ in opened)
    await asyncio.gather(press_join(therapist), press_join(alex))
    await therapist.get_by_role("button", name="Admit Alex", exact=True).click(timeout=10_000)
    await assert_media_complete([therapist, alex])

    # The relay has no ICE restart: a failed leg is replaced by a fresh peer connection.
    await alex.evaluate("() => window.__telehealth.failMedia()")
    await alex.wait_for_function(
        "() => { const s = window.__telehealth.state().links;"
        " return s.legs >= 2 && s.relay === 'connected'; }",
        timeout=20_000,
    )
    await assert_media_complete([therapist, alex])

    # A signaling blip keeps the (healthy) relay leg.
    await therapist.evaluate("() => window.__telehealth.dropConnection()")
    await therapist.wait_for_function(
        "() => { const s = window.__telehealth.state(); return s.state === 'joined' && s.resumed }",
        timeout=20_000,
    )
    await assert_media_complete([therapist, alex])
    for page, log in opened:
        assert log.errors == []
        assert await page.evaluate("() => window.__telehealth.state().serverErrors") == []
