"""Moderation from the pages: mute (never unmute), the hand queue, remove, lock, send
back to the waiting room and turn away, each seen on both sides."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from browser_support import (
    Server,
    assert_media_complete,
    client_state,
    notice,
    open_page,
    press_join,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(150)]

WAIT_MS = 15_000


def member_row(therapist: Any, name: str) -> Any:
    return therapist.locator(f'[data-testid="members"] li:has-text("{name}")')


async def test_mute_hand_queue_remove_and_lock(server: Server, browser) -> None:
    room = server.create_room("group", "Alex", "Sam")  # manual admission, the default
    therapist_link, alex_link, sam_link = room["links"]
    therapist, therapist_log = await open_page(browser, therapist_link["url"])
    alex, alex_log = await open_page(browser, alex_link["url"])
    sam, _ = await open_page(browser, sam_link["url"])
    await asyncio.gather(press_join(therapist), press_join(alex), press_join(sam))
    await therapist.get_by_role("button", name="Admit Alex", exact=True).wait_for(timeout=WAIT_MS)
    await therapist.get_by_role("button", name="Admit Sam", exact=True).wait_for(timeout=WAIT_MS)
    await therapist.get_by_role("button", name="Admit everyone", exact=True).click()
    await member_row(therapist, "Alex").wait_for(timeout=WAIT_MS)
    await member_row(therapist, "Sam").wait_for(timeout=WAIT_MS)

    # Mute: the member is told, and the therapist's button cannot unmute.
    await therapist.get_by_role("button", name="Mute Alex", exact=True).click()
    muted_notice = alex.get_by_test_id("moderator-muted")
    await muted_notice.wait_for(timeout=WAIT_MS)
    assert "The therapist muted you" in await muted_notice.inner_text()
    mute_button = member_row(therapist, "Alex").locator('button[data-muted="true"]')
    await mute_button.wait_for(timeout=WAIT_MS)
    assert await mute_button.inner_text() == "Muted by you"
    assert await mute_button.is_disabled()
    assert await alex.get_by_role("button", name="Unmute", exact=True).is_visible()

    # The member unmutes themselves (media.state audio true lifts the moderator's mute).
    await alex.get_by_role("button", name="Unmute my microphone").click()
    await muted_notice.wait_for(state="hidden", timeout=WAIT_MS)
    await therapist.get_by_role("button", name="Mute Alex", exact=True).wait_for(timeout=WAIT_MS)
    assert await therapist.get_by_role("button", name="Mute Alex", exact=True).is_enabled()
    assert await alex.get_by_role("button", name="Mute", exact=True).is_visible()

    # Hand queue: the member raises a hand, the therapist sees it and gives the floor.
    await therapist.locator('button[data-mode="hand_queue"]').click()
    await alex.get_by_test_id("mic-held").wait_for(timeout=WAIT_MS)
    await alex.get_by_role("button", name="Raise my hand").click()
    position = alex.get_by_test_id("floor-position")
    await alex.wait_for_function(
        "() => document.querySelector('[data-testid=\"floor-position\"]')?.textContent"
        " === 'Your hand is raised. You are next in line.'",
        timeout=WAIT_MS,
    )
    assert await position.is_visible()
    await therapist.locator('[data-testid="queue"] li:has-text("Alex")').wait_for(timeout=WAIT_MS)
    await therapist.get_by_role("button", name="Give the floor to the next raised hand").click()
    await alex.get_by_text("You have the floor", exact=True).wait_for(timeout=WAIT_MS)
    assert await alex.get_by_test_id("mic-held").is_hidden()
    await (
        therapist.get_by_test_id("floor-holder")
        .filter(has_text="Alex has the floor")
        .wait_for(timeout=WAIT_MS)
    )
    await alex.get_by_role("button", name="I'm done speaking").click()
    await alex.get_by_test_id("have-floor").wait_for(state="hidden", timeout=WAIT_MS)

    # Remove (with a confirm step): the page says so, and the link stops working.
    await therapist.get_by_role("button", name="Remove Sam", exact=True).click()
    await therapist.get_by_role("button", name="Remove", exact=True).click()
    code, text = await notice(sam)
    assert code == "removed" and "removed you" in text
    await member_row(therapist, "Sam").wait_for(state="detached", timeout=WAIT_MS)
    reopened, _ = await open_page(browser, sam_link["url"])
    code, text = await notice(reopened)
    assert code == "token_revoked" and "withdrawn" in text

    # Lock: a new invitee's link is refused while the room is locked, and works after.
    await therapist.get_by_role("button", name="Lock room", exact=True).click()
    await (
        therapist.get_by_test_id("lock-note")
        .filter(has_text="Room locked")
        .wait_for(timeout=WAIT_MS)
    )
    invite = server.invite(room["room"], "participant", "Jo")
    jo, _ = await open_page(browser, invite["url"])
    await jo.get_by_role("button", name="Join session", exact=True).click(timeout=WAIT_MS)
    await jo.locator("#status").filter(has_text="locked").wait_for(timeout=WAIT_MS)
    assert (await client_state(jo))["state"] != "joined"
    await therapist.get_by_role("button", name="Unlock room", exact=True).click()
    await therapist.get_by_role("button", name="Lock room", exact=True).wait_for(timeout=WAIT_MS)
    await press_join(jo)
    await therapist.get_by_role("button", name="Admit Jo", exact=True).click(timeout=WAIT_MS)
    await member_row(therapist, "Jo").wait_for(timeout=WAIT_MS)

    # The floor is still a hand queue with nobody holding it: every member is held.
    held = {(await client_state(page))["self"]["id"] for page in (alex, jo)}
    await assert_media_complete([therapist, alex, jo], silent=held)
    for page, log in ((therapist, therapist_log), (alex, alex_log)):
        assert log.errors == []
        assert await page.evaluate("() => window.__telehealth.state().serverErrors") == []


async def test_send_back_to_the_waiting_room_and_turn_away(server: Server, browser) -> None:
    room = server.create_room("group", "Alex", "Sam")  # manual admission
    therapist_link, alex_link, sam_link = room["links"]
    therapist, therapist_log = await open_page(browser, therapist_link["url"])
    alex, alex_log = await open_page(browser, alex_link["url"])
    sam, _ = await open_page(browser, sam_link["url"])
    await asyncio.gather(press_join(therapist), press_join(alex), press_join(sam))

    await therapist.get_by_role("button", name="Turn away Sam", exact=True).click(timeout=WAIT_MS)
    code, _ = await notice(sam)
    assert code == "denied"

    await therapist.get_by_role("button", name="Admit Alex", exact=True).click(timeout=WAIT_MS)
    await alex.get_by_test_id("waiting-card").wait_for(state="hidden", timeout=WAIT_MS)
    await therapist.get_by_role("button", name="Send to waiting room: Alex").click(timeout=WAIT_MS)
    await alex.get_by_text("You are back in the waiting room", exact=True).wait_for(timeout=WAIT_MS)
    assert (await client_state(alex))["admission"] == "waiting"
    await therapist.get_by_role("button", name="Admit Alex", exact=True).click(timeout=WAIT_MS)
    await alex.wait_for_function(
        "() => window.__telehealth.state().admission === 'admitted'", timeout=WAIT_MS
    )
    await member_row(therapist, "Alex").wait_for(timeout=WAIT_MS)
    await assert_media_complete([therapist, alex])
    for page, log in ((therapist, therapist_log), (alex, alex_log)):
        assert log.errors == []
        assert await page.evaluate("() => window.__telehealth.state().serverErrors") == []
