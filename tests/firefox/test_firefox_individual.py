"""Individual (1:1) sessions between Firefox ESR and Chromium, browser to browser."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.browser_support import Server, assert_media_complete
from tests.firefox.firefox_pages import open_and_join, server_errors
from tests.firefox_support import Firefox

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]


@pytest.mark.parametrize("therapist_on", ["firefox", "chromium"])
async def test_firefox_and_chromium_see_and_hear_each_other(
    firefox_server: Server, firefox: Firefox, chromium: Any, therapist_on: str
) -> None:
    room = firefox_server.create_room("individual", "Pat")
    therapist_link, patient_link = room["links"]
    browsers = {"firefox": firefox, "chromium": chromium}
    patient_on = "chromium" if therapist_on == "firefox" else "firefox"
    therapist = await open_and_join(browsers[therapist_on], therapist_link["url"])
    patient = await open_and_join(browsers[patient_on], patient_link["url"])

    await assert_media_complete([therapist, patient])
    for page in firefox.pages.values():
        assert page.errors == []
    assert await server_errors(therapist) == [] and await server_errors(patient) == []
