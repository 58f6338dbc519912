"""Screen share from the pages, with Chromium's fake screen (tests/chromium_support.py):
the therapist shares (from the keyboard), a member may only once the therapist allows
it (the server refuses them before), every other page decodes the share and shows it
large while the cameras stay on, and stopping (the button, or the browser's own "Stop
sharing", which ends the track) removes it for everyone. A group shares through the
relay, an individual room on the peer connection. axe-core runs over the views with a
share on; the group test ends with the shared media check."""

from __future__ import annotations

from typing import Any

import pytest
from accessibility import assert_accessible
from browser_support import (
    Server,
    assert_decoding,
    assert_media_complete,
    client_state,
    join_group,
    join_individual,
    press_join,
    press_with_keyboard,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(150)]

WAIT_MS = 15_000
# Chromium's fake screen is 1280x720; the encoder may scale it down under load.
MIN_SCREEN_WIDTH = 320


async def member_id(page: Any) -> str:
    return (await client_state(page))["self"]["id"]  # type: ignore[no-any-return]


async def refused_code(page: Any) -> str:
    """Ask the server to share without the page's button: the server's own answer."""
    return await page.evaluate(  # type: ignore[no-any-return]
        """() => window.__telehealth.command("screen.start", {}).then(
            () => "accepted", (err) => err.code)"""
    )


async def shows_share_of(page: Any, sharer: str) -> None:
    """The page shows `sharer`'s screen large and decodes it (getStats and the element)."""
    await page.wait_for_function(
        """([sharer, minWidth]) => {
            const s = window.__telehealth.screen();
            return s.shown && s.sharer === sharer && s.width >= minWidth && s.totalVideoFrames > 0;
        }""",
        arg=[sharer, MIN_SCREEN_WIDTH],
        timeout=WAIT_MS,
    )
    await page.wait_for_function(
        """async ([sharer, minWidth]) => {
            const stats = (await window.__telehealth.screenStats())[sharer];
            return Boolean(stats) && stats.framesDecoded > 0 && stats.frameWidth >= minWidth;
        }""",
        arg=[sharer, MIN_SCREEN_WIDTH],
        timeout=WAIT_MS,
    )


async def shows_no_share(page: Any) -> None:
    await page.wait_for_function(
        "() => !window.__telehealth.screen().shown && !window.__telehealth.screen().state.sharer",
        timeout=WAIT_MS,
    )


async def share_is_larger_than_tiles(page: Any) -> bool:
    return await page.evaluate(  # type: ignore[no-any-return]
        """() => {
            const share = document.querySelector('video[data-role="screen"]').clientWidth;
            const tiles = [...document.querySelectorAll('video[data-role="remote"]')];
            return tiles.length > 0 && tiles.every((v) => share > v.clientWidth);
        }"""
    )


async def end_share_as_the_browser_does(page: Any) -> None:
    """The browser's own "Stop sharing" ends the captured track ("ended" event)."""
    await page.evaluate(
        """() => document.querySelector('video[data-role="screen"]')
            .srcObject.getVideoTracks()[0].dispatchEvent(new Event("ended"))"""
    )


async def test_screen_share_in_a_group(server: Server, browser: Any) -> None:
    group = await join_group(server, browser, "Alex", "Sam")
    therapist, alex, sam = group.therapist, group.members["Alex"], group.members["Sam"]
    for name, page in group.members.items():
        await therapist.get_by_role("button", name=f"Admit {name}", exact=True).click(
            timeout=WAIT_MS
        )
        await page.wait_for_function(
            "() => window.__telehealth.state().admission === 'admitted'", timeout=WAIT_MS
        )
    therapist_id, alex_id = await member_id(therapist), await member_id(alex)

    # A member without the therapist's permission: the button is off, the server refuses.
    assert await alex.get_by_role("button", name="Share screen", exact=True).is_disabled()
    assert await refused_code(alex) == "screen_share_not_allowed"

    # The therapist shares from the keyboard; both members decode it, shown large.
    await press_with_keyboard(therapist, "Share screen")
    for page in (alex, sam):
        await shows_share_of(page, therapist_id)
    await alex.get_by_text("Therapist is sharing their screen").wait_for(timeout=WAIT_MS)
    await assert_accessible(sam, "the group view with a screen share (member)")
    # One share at a time.
    await therapist.get_by_role("button", name="Allow Alex to share", exact=True).click()
    await alex.wait_for_function(
        "() => window.__telehealth.screen().state.allowed.length === 1", timeout=WAIT_MS
    )
    assert await refused_code(alex) == "screen_share_busy"
    await assert_accessible(therapist, "the group view with a screen share (therapist)")
    await press_with_keyboard(therapist, "Stop sharing")
    for page in (alex, sam):
        await shows_no_share(page)

    # Alex, now allowed, shares; the browser's own "Stop sharing" ends it for everyone.
    await alex.get_by_role("button", name="Share screen", exact=True).click(timeout=WAIT_MS)
    for page in (therapist, sam):
        await shows_share_of(page, alex_id)
        assert await share_is_larger_than_tiles(page)
    # Every camera, the sharer's included, keeps decoding beside the share.
    await assert_decoding(therapist, remotes=2)
    # The therapist can end a member's share (the permission stays); Alex shares again.
    await therapist.get_by_role("button", name="Stop this share", exact=True).click()
    for page in (therapist, alex, sam):
        await shows_no_share(page)
    await alex.get_by_role("button", name="Share screen", exact=True).click(timeout=WAIT_MS)
    await shows_share_of(sam, alex_id)
    await end_share_as_the_browser_does(alex)
    for page in (therapist, alex, sam):
        await shows_no_share(page)

    # The cameras and microphones stayed on through it all.
    await assert_media_complete([therapist, alex, sam])
    for log in group.logs:
        assert log.errors == []


async def test_screen_share_in_an_individual_room(server: Server, browser: Any) -> None:
    _room, therapist, patient, logs = await join_individual(server, browser, "Pat")
    therapist_id, patient_id = await member_id(therapist), await member_id(patient)
    assert await refused_code(patient) == "screen_share_not_allowed"

    await press_with_keyboard(therapist, "Share screen")
    await shows_share_of(patient, therapist_id)
    await assert_accessible(patient, "the individual view with a screen share (patient)")
    # The sharer's signaling drops: the share ends with it, and the page, still
    # capturing, asks for it again on resume.
    await therapist.evaluate("() => window.__telehealth.dropConnection()")
    await therapist.wait_for_function(
        "() => { const s = window.__telehealth.state(); return s.state === 'joined' && s.resumed }",
        timeout=WAIT_MS,
    )
    await shows_share_of(patient, therapist_id)
    # A reloaded page gets a fresh peer link: the share is offered on it again.
    await patient.reload()
    await press_join(patient)
    await shows_share_of(patient, therapist_id)
    await therapist.get_by_role("button", name="Stop sharing", exact=True).click()
    await shows_no_share(patient)

    await press_with_keyboard(therapist, "Allow Pat to share")
    await patient.get_by_role("button", name="Share screen", exact=True).click(timeout=WAIT_MS)
    await shows_share_of(therapist, patient_id)
    assert await share_is_larger_than_tiles(therapist)
    await assert_accessible(therapist, "the individual view with a screen share (therapist)")
    # The patient's camera stays on beside the share.
    await assert_decoding(therapist, remotes=1)
    await end_share_as_the_browser_does(patient)
    await shows_no_share(therapist)
    await shows_no_share(patient)
    await assert_decoding(patient, remotes=1)
    for log in logs:
        assert log.errors == []
