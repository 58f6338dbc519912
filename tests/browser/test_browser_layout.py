"""The pages fit a phone and are usable from the keyboard."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_support import Server, open_page, press_join

pytestmark = [pytest.mark.browser, pytest.mark.timeout(60)]

PHONE = {"width": 390, "height": 844}


async def no_horizontal_overflow(page) -> bool:
    return await page.evaluate(  # type: ignore[no-any-return]
        "() => document.documentElement.scrollWidth <= window.innerWidth"
    )


async def test_join_page_and_call_fit_a_phone(server: Server, browser, tmp_path: Path) -> None:
    room = server.create_room("individual", "Pat")
    page, log = await open_page(browser, room["links"][1]["url"], viewport=PHONE)
    join = page.get_by_role("button", name="Join session", exact=True)
    await join.wait_for(timeout=15_000)
    await page.screenshot(path=str(tmp_path / "join-phone.png"), full_page=True)
    assert await no_horizontal_overflow(page)
    assert await page.locator('video[data-role="local"]').is_visible()

    await press_join(page)
    await page.get_by_text("Waiting for the other person to join…").first.wait_for()
    await page.screenshot(path=str(tmp_path / "call-phone.png"), full_page=True)
    assert await no_horizontal_overflow(page)
    for name in ("Mute", "Turn camera off", "Leave"):
        assert await page.get_by_role("button", name=name, exact=True).is_visible()
    assert log.errors == []


async def test_controls_work_from_the_keyboard(server: Server, browser) -> None:
    room = server.create_room("individual", "Pat")
    page, log = await open_page(browser, room["links"][1]["url"])
    await press_join(page)
    mute = page.get_by_role("button", name="Mute", exact=True)
    await mute.focus()
    await page.keyboard.press("Enter")
    unmute = page.get_by_role("button", name="Unmute", exact=True)
    await unmute.wait_for(timeout=5_000)
    assert await unmute.get_attribute("aria-pressed") == "true"
    assert (
        await page.evaluate(
            "() => document.querySelector('video[data-role=\"local\"]')"
            ".srcObject.getAudioTracks()[0].enabled"
        )
        is False
    )
    await page.keyboard.press("Tab")
    focused = await page.evaluate("() => document.activeElement.textContent")
    assert focused == "Turn camera off"
    await page.keyboard.press("Enter")
    await page.get_by_role("button", name="Turn camera on", exact=True).wait_for(timeout=5_000)
    assert log.errors == []
