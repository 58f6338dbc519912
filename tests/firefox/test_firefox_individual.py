"""Individual (1:1) sessions between Firefox ESR and Chromium, browser to browser."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.browser_support import Server, assert_media_complete
from tests.firefox.firefox_pages import open_and_join, server_errors
from tests.firefox_support import Firefox

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]


async def test_firefox_and_chromium_see_and_hear_each_other_whoever_is_the_therapist(
    firefox_server: Server, firefox: Firefox, chromium: Any
) -> None:
    # Both directions at once, in two rooms: one browser start each.
    pairs = []
    for therapist_on, patient_on in ((firefox, chromium), (chromium, firefox)):
        therapist_link, patient_link = firefox_server.create_room("individual", "Pat")["links"]
        therapist = await open_and_join(therapist_on, therapist_link["url"])
        patient = await open_and_join(patient_on, patient_link["url"])
        pairs.append((therapist, patient))

    for therapist, patient in pairs:
        await assert_media_complete([therapist, patient])
        assert await server_errors(therapist) == [] and await server_errors(patient) == []
    for page in firefox.pages.values():
        assert page.errors == []
