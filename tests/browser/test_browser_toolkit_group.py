"""The therapist's toolkit in a group, from the pages: quiet-member cues and
invitations (the member passes, or takes the floor by speaking). Manual admission from
the waiting room, as by default; ends with the shared media check."""

from __future__ import annotations

from typing import Any

import pytest
from browser_support import Server, assert_media_complete, client_state, join_group

pytestmark = [pytest.mark.browser, pytest.mark.timeout(150)]

WAIT_MS = 15_000


async def holder(page: Any) -> str | None:
    hook = await page.evaluate("() => window.__telehealth.floor()")
    return hook["floor"]["holder"]  # type: ignore[no-any-return]


async def admitted_group(server: Server, browser: Any) -> tuple[Any, dict[str, Any], list[Any]]:
    group = await join_group(server, browser, "Alex", "Sam")
    for name, page in group.members.items():
        await page.get_by_test_id("waiting-card").wait_for(timeout=WAIT_MS)
        await group.therapist.get_by_role("button", name=f"Admit {name}", exact=True).click(
            timeout=WAIT_MS
        )
        await page.wait_for_function(
            "() => window.__telehealth.state().admission === 'admitted'", timeout=WAIT_MS
        )
    return group.therapist, group.members, group.logs


async def test_quiet_members_are_flagged_and_invited(server: Server, browser: Any) -> None:
    therapist, members, logs = await admitted_group(server, browser)
    alex, sam = members["Alex"], members["Sam"]
    sam_id = (await client_state(sam))["self"]["id"]

    # Directed mode: nobody's talk grows until the therapist gives or offers the floor.
    await therapist.locator('button[data-mode="directed"]').click()
    await therapist.get_by_label("Flag members silent for (minutes)").fill("0.1")
    await therapist.get_by_label("Flag members silent for (minutes)").press("Enter")
    cues = therapist.get_by_test_id("quiet-cues")
    await cues.get_by_text("Sam: nothing in").wait_for(timeout=WAIT_MS)
    await cues.get_by_text("Alex: nothing in").wait_for(timeout=WAIT_MS)

    # Sam is invited and passes: the floor is free again and the therapist is told.
    await therapist.get_by_role("button", name="Invite Sam", exact=True).click()
    await sam.get_by_role("heading", name="The therapist invites you to speak").wait_for(
        timeout=WAIT_MS
    )
    assert await holder(therapist) == sam_id or await holder(sam) == sam_id
    await sam.get_by_role("button", name="Pass my turn").click()
    await sam.get_by_test_id("have-floor").wait_for(state="hidden", timeout=WAIT_MS)
    await therapist.locator("#status", has_text="Sam passed.").wait_for(
        state="attached", timeout=WAIT_MS
    )
    assert await holder(therapist) is None

    # Alex is invited and takes it: "Speak" turns the microphone on; the floor is Alex's.
    await therapist.get_by_role("button", name="Invite Alex", exact=True).click()
    await alex.get_by_role("button", name="Speak", exact=True).click(timeout=WAIT_MS)
    await alex.get_by_role("heading", name="You have the floor").wait_for(timeout=WAIT_MS)
    await therapist.get_by_text("Alex has the floor", exact=True).wait_for(timeout=WAIT_MS)
    # While Alex holds the floor, another invitation would cut in: refused, said plainly.
    await therapist.get_by_role("button", name="Invite Sam", exact=True).click()
    await therapist.locator("#status", has_text="Someone has the floor").wait_for(
        state="attached", timeout=WAIT_MS
    )

    # Sam's gate is closed (directed mode, Alex holds the floor): Sam's audio is held.
    await assert_media_complete([therapist, alex, sam], silent={sam_id})
    for log in logs:
        assert log.errors == []
