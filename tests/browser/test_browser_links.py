"""Bad links are reported clearly, before the device check."""

from __future__ import annotations

import pytest
from browser_support import (
    Server,
    notice,
    open_page,
    sign_expired,
    tamper_payload,
    tamper_signature,
    token_of,
    with_token,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(60)]


async def assert_refused(page, code: str, sentence: str) -> None:
    shown_code, text = await notice(page)
    assert shown_code == code
    assert sentence in text
    assert not await page.get_by_role("button", name="Join session").is_visible()


async def test_expired_link_says_so(server: Server, browser) -> None:
    room = server.create_room("individual", "Pat")
    url = room["links"][1]["url"]
    expired = sign_expired(server.data_dir, token_of(url))
    page, _ = await open_page(browser, with_token(url, expired))
    await assert_refused(
        page, "token_expired", "This link has expired. Ask your clinic for a new link."
    )


async def test_link_with_altered_signature_is_not_valid(server: Server, browser) -> None:
    room = server.create_room("individual", "Pat")
    url = room["links"][1]["url"]
    page, _ = await open_page(browser, with_token(url, tamper_signature(token_of(url))))
    await assert_refused(page, "token_bad_signature", "This link is not valid")


async def test_link_with_altered_claims_is_not_valid(server: Server, browser) -> None:
    room = server.create_room("individual", "Pat")
    url = room["links"][1]["url"]
    forged = tamper_payload(token_of(url), role="therapist", name="Dr Mallory")
    page, _ = await open_page(browser, with_token(url, forged))
    await assert_refused(page, "token_bad_signature", "This link is not valid")


async def test_truncated_link_is_not_valid(server: Server, browser) -> None:
    room = server.create_room("individual", "Pat")
    url = room["links"][1]["url"]
    page, _ = await open_page(browser, with_token(url, token_of(url)[:40]))
    await assert_refused(page, "token_malformed", "This link is not valid")


async def test_page_without_a_token_asks_for_the_link(server: Server, browser) -> None:
    page, _ = await open_page(browser, f"{server.base_url}/join")
    await assert_refused(page, "token_missing", "This page needs the join link")
