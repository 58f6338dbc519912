"""What a person does on a Firefox page, in the words the Chromium tests use."""

from __future__ import annotations

from typing import Any

from tests.browser.browser_support import JOIN_TIMEOUT_MS, client_state, open_page, press_join
from tests.firefox_support import Firefox, FirefoxPage

JOINED = "() => window.__telehealth?.state().state === 'joined'"


async def firefox_join(page: FirefoxPage) -> None:
    """Press "Join session" once the device check allows it, and wait to be in the room."""
    await page.click_button("Join session", timeout_ms=JOIN_TIMEOUT_MS)
    await page.wait_for_function(JOINED, timeout_ms=JOIN_TIMEOUT_MS)


async def open_and_join(browser: Firefox | Any, url: str) -> Any:
    """Open ``url`` in Firefox or in Chromium (Playwright) and join: the page."""
    if isinstance(browser, Firefox):
        page = await browser.new_page(url)
        await firefox_join(page)
        return page
    chromium_page, _ = await open_page(browser, url)
    await press_join(chromium_page)
    return chromium_page


async def member_id(page: Any) -> str:
    return str((await client_state(page))["self"]["id"])


async def server_errors(page: Any) -> list[Any]:
    return await page.evaluate("() => window.__telehealth.state().serverErrors")  # type: ignore[no-any-return]
