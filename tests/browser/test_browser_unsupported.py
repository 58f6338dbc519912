"""A browser that cannot make calls gets a clear page naming the browsers that work (issue 17).

Chromium stands in for such a browser with the API taken away before the page loads.
"""

from __future__ import annotations

from typing import Any

import pytest
from browser_support import Server, notice, open_page

pytestmark = [pytest.mark.browser, pytest.mark.timeout(60)]

WITHOUT = {
    "RTCPeerConnection": "delete window.RTCPeerConnection; delete window.webkitRTCPeerConnection;",
    "getUserMedia": "delete MediaDevices.prototype.getUserMedia;",
}


@pytest.mark.parametrize("missing", sorted(WITHOUT))
async def test_a_browser_without_webrtc_sees_which_browsers_work_and_nothing_starts(
    server: Server, browser: Any, missing: str
) -> None:
    room = server.create_room("group", "Alex")
    page, log = await open_page(browser, room["links"][1]["url"], init_script=WITHOUT[missing])

    code, text = await notice(page)

    assert code == "browser_unsupported"
    assert text.startswith("This browser cannot join video sessions")
    for name in ("Chrome", "Edge", "Firefox", "Safari", "iPhone"):
        assert name in text
    assert await page.get_attribute("html", "data-unsupported") == missing
    # The app never started: no device check, no tiles, no session, no camera asked for.
    assert await page.locator("#device-check").is_hidden()
    assert await page.locator("video[data-role=remote]").count() == 0
    assert await page.evaluate("() => window.__telehealth") is None
    assert await page.locator("#status").inner_text() == "This browser cannot join video sessions"
    assert log.errors == []
