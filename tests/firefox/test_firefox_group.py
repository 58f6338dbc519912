"""A group session from Firefox ESR: Firefox therapist, Firefox and Chromium members.

Firefox hides its host addresses behind mDNS names; the relay reaches it
through its own ICE checks (issue 17).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.browser_support import Server, assert_media_complete, open_page, press_join
from tests.firefox.firefox_pages import firefox_join, member_id, server_errors
from tests.firefox_support import Firefox

pytestmark = [pytest.mark.browser, pytest.mark.timeout(150)]

ADMITTED = "() => window.__telehealth.state().admission === 'admitted'"
WAITING = "() => window.__telehealth.state().admission === 'waiting'"
MODE_IS = "() => window.__telehealth.floor()?.floor?.mode === '{mode}'"


async def test_firefox_therapist_admits_runs_a_hand_queue_turn_and_everyone_gets_all_media(
    firefox_server: Server, firefox: Firefox, chromium: Any
) -> None:
    room = firefox_server.create_room("group", "Alex", "Sam")  # manual admission, the default
    therapist_link, alex_link, sam_link = room["links"]
    therapist = await firefox.new_page(therapist_link["url"])
    alex = await firefox.new_page(alex_link["url"])
    sam, sam_log = await open_page(chromium, sam_link["url"])
    await firefox_join(therapist)
    await firefox_join(alex)
    await press_join(sam)

    # Both members wait; the therapist lets them in with the pointer, from the waiting room.
    await alex.wait_for_text("Waiting for the therapist to let you in…")
    await sam.wait_for_function(WAITING, timeout=15_000)
    await therapist.click_button("Admit Alex")
    await alex.wait_for_function(ADMITTED)
    await therapist.click_button("Admit Sam")
    await sam.wait_for_function(ADMITTED, timeout=15_000)
    pages = [therapist, alex, sam]
    await assert_media_complete(pages)

    # A hand-queue turn: members are held; Alex raises a hand and is given the floor.
    sam_id = await member_id(sam)
    await therapist.click_css('button[data-mode="hand_queue"]')
    await alex.wait_for_function("() => !!document.querySelector('[data-testid=\"mic-held\"]')")
    await alex.click_button("Raise my hand")
    await alex.wait_for_text("Your hand is raised. You are next in line.")
    await therapist.click_button("Give the floor to the next raised hand")
    await alex.wait_for_text("You have the floor")
    await assert_media_complete(pages, silent={sam_id})
    await alex.click_button("I'm done speaking")
    await therapist.click_css('button[data-mode="open"]')
    await therapist.wait_for_function(MODE_IS.format(mode="open"))

    await assert_media_complete(pages)
    # Firefox sent its host candidates as mDNS names: this is the path of issue 17.
    assert firefox_server.log_tail(10**7).count("mDNS candidates withheld") >= 2
    for page in pages:
        assert await server_errors(page) == []
    assert therapist.errors == [] and alex.errors == [] and sam_log.errors == []
