"""Audio only in a group room (issue 14): a member who chooses it sends no camera and is
sent none, keeps hearing everyone and being heard; the therapist's page labels it; the
others keep each other's video and audio."""

from __future__ import annotations

from typing import Any

import pytest
from browser_support import Server, assert_media_complete, client_state, join_group

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]
WAIT_MS = 20_000


async def admit(therapist: Any, *names: str) -> None:
    for name in names:
        await therapist.get_by_role("button", name=f"Admit {name}", exact=True).click(
            timeout=WAIT_MS
        )


async def test_a_member_in_audio_only_hears_everyone_and_the_therapist_sees_it(
    server: Server, browser: Any
) -> None:
    group = await join_group(server, browser, "Alex", "Sam")
    therapist, alex, sam = group.therapist, group.members["Alex"], group.members["Sam"]
    await admit(therapist, "Alex", "Sam")
    pages = [therapist, alex, sam]
    for page in (alex, sam):
        await page.wait_for_function(
            "() => window.__telehealth.state().admission === 'admitted'", timeout=WAIT_MS
        )
    await assert_media_complete(pages)
    alex_id = str((await client_state(alex))["self"]["id"])

    await alex.get_by_role("button", name="Audio only", exact=True).click(timeout=WAIT_MS)
    await alex.get_by_role("button", name="Audio only: on", exact=True).wait_for(timeout=WAIT_MS)
    await alex.wait_for_function("() => document.getElementById('camera-button').disabled")
    # The therapist sees who is audio only: in the peer view and as words on the tile.
    label = therapist.locator(f'.tile[data-member="{alex_id}"] .tile-note')
    await label.filter(has_text="Audio only").wait_for(timeout=WAIT_MS)
    assert await label.get_attribute("role") == "status"
    peers = (await client_state(therapist))["peers"]
    assert next(p for p in peers if p["id"] == alex_id)["media"]["audio_only"] is True

    # Alex gets no video and every audio; Alex's audio reaches the others, its video
    # nobody; the therapist and Sam still see and hear each other.
    await assert_media_complete(pages, no_video={alex_id})

    await alex.get_by_role("button", name="Audio only: on", exact=True).click(timeout=WAIT_MS)
    await alex.get_by_role("button", name="Turn camera on").click(timeout=WAIT_MS)
    await label.filter(has_text="Audio only").wait_for(state="hidden", timeout=WAIT_MS)
    await assert_media_complete(pages)
    for log in group.logs:
        assert log.errors == []
