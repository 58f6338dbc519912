"""The therapist's toolkit in a group, from the pages, in one session: a chat note to a
member in the waiting room, manual admission (the default), chat to everyone and in
private (shown as text, never as markup), members' chat off, quiet-member cues and
invitations (the member passes, or takes the floor by speaking), the confirm before
ending; axe-core over the waiting room, the therapist's and members' group views and
/ops; the keyboard for passing, inviting and the confirm; ends with the shared media
check."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from accessibility import assert_accessible
from browser_support import (
    COUNT_CHIMES,
    Server,
    assert_media_complete,
    client_state,
    join_group,
    open_page,
    press_with_keyboard,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(150)]

WAIT_MS = 15_000


async def holder(page: Any) -> str | None:
    hook = await page.evaluate("() => window.__telehealth.floor()")
    return hook["floor"]["holder"]  # type: ignore[no-any-return]


async def send_chat(page: Any, text: str, to: str | None = None) -> None:
    if to is not None:
        await page.get_by_label("To", exact=True).select_option(label=to)
    await page.get_by_label("Message", exact=True).fill(text)
    await page.get_by_role("button", name="Send", exact=True).click()


def chat_log(page: Any) -> Any:
    return page.get_by_test_id("chat-log")


async def admit(therapist: Any, name: str, page: Any) -> None:
    await therapist.get_by_role("button", name=f"Admit {name}", exact=True).click(timeout=WAIT_MS)
    await page.wait_for_function(
        "() => window.__telehealth.state().admission === 'admitted'", timeout=WAIT_MS
    )


async def chat_in_the_waiting_room_and_the_group(therapist: Any, members: dict[str, Any]) -> None:
    alex, sam = members["Alex"], members["Sam"]
    for page in members.values():
        await page.get_by_test_id("waiting-card").wait_for(timeout=WAIT_MS)
    # The therapist heard the arrivals and the tab's title says who waits.
    await therapist.wait_for_function(
        "() => document.title === '(2) waiting · Your session'", timeout=WAIT_MS
    )
    assert await therapist.evaluate("() => window.__chimes") >= 2
    await assert_accessible(sam, "the waiting room (member)")
    # The therapist's note reaches Sam in the waiting room; Sam reads but cannot write yet.
    await send_chat(therapist, "Running 5 minutes late", to="Sam (waiting room)")
    await chat_log(sam).get_by_text("Running 5 minutes late").wait_for(timeout=WAIT_MS)
    assert await sam.get_by_label("Message", exact=True).is_disabled()
    assert await chat_log(alex).get_by_text("Running 5 minutes late").count() == 0
    for name, page in members.items():
        await admit(therapist, name, page)
    await therapist.wait_for_function("() => document.title === 'Your session'", timeout=WAIT_MS)

    # To everyone: text exactly as typed, never turned into markup.
    await send_chat(alex, "Hello <b>all</b>")
    for page in (therapist, sam):
        await chat_log(page).get_by_text("Hello <b>all</b>", exact=True).wait_for(timeout=WAIT_MS)
        assert await chat_log(page).locator("b").count() == 0
    # Privately between a member and the therapist.
    await send_chat(sam, "Can we talk after?", to="Therapist (private)")
    await chat_log(therapist).get_by_text("Sam (privately to you)").wait_for(timeout=WAIT_MS)
    await chat_log(sam).get_by_text("You (privately to Therapist)").wait_for(timeout=WAIT_MS)
    assert await chat_log(alex).get_by_text("Can we talk after?").count() == 0
    # Members' chat off: their box is disabled and says why; back on for the rest.
    await therapist.get_by_label("Members can write").uncheck()
    await alex.get_by_test_id("chat-note").get_by_text("turned chat off").wait_for(timeout=WAIT_MS)
    assert await alex.get_by_label("Message", exact=True).is_disabled()
    await therapist.get_by_label("Members can write").check()
    await alex.wait_for_function(
        "() => !document.getElementById('chat-text').disabled", timeout=WAIT_MS
    )


async def test_chat_quiet_cues_and_invitations(server: Server, browser: Any) -> None:
    group = await join_group(server, browser, "Alex", "Sam", therapist_init_script=COUNT_CHIMES)
    therapist, members = group.therapist, group.members
    alex, sam = members["Alex"], members["Sam"]
    await chat_in_the_waiting_room_and_the_group(therapist, members)
    sam_id = (await client_state(sam))["self"]["id"]

    # Directed mode: nobody's talk grows until the therapist gives or offers the floor.
    await therapist.locator('button[data-mode="directed"]').click()
    await therapist.get_by_label("Flag members silent for (minutes)").fill("0.05")
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
    await assert_accessible(sam, "an invitation to speak (member)")
    await press_with_keyboard(sam, "Pass my turn")
    await sam.get_by_test_id("have-floor").wait_for(state="hidden", timeout=WAIT_MS)
    await therapist.locator("#status", has_text="Sam passed.").wait_for(
        state="attached", timeout=WAIT_MS
    )
    assert await holder(therapist) is None

    # Alex is invited and takes it: "Speak" turns the microphone on; the floor is Alex's.
    await press_with_keyboard(therapist, "Invite Alex")
    await alex.get_by_role("button", name="Speak", exact=True).click(timeout=WAIT_MS)
    await alex.get_by_role("heading", name="You have the floor").wait_for(timeout=WAIT_MS)
    await therapist.get_by_text("Alex has the floor", exact=True).wait_for(timeout=WAIT_MS)
    # While Alex holds the floor, another invitation would cut in: refused, said plainly.
    await therapist.get_by_role("button", name="Invite Sam", exact=True).click()
    await therapist.locator("#status", has_text="Someone has the floor").wait_for(
        state="attached", timeout=WAIT_MS
    )

    await asyncio.gather(
        assert_accessible(therapist, "the group view (therapist, a member speaking)"),
        assert_accessible(alex, "the group view (member with the floor)"),
        assert_accessible(sam, "the group view (member)"),
    )

    # Ending the session for all asks first (focus on Cancel); Enter cancels, all stay.
    await press_with_keyboard(therapist, "End session for all")
    confirm = therapist.get_by_role("group", name="Confirm ending the session")
    await confirm.wait_for(timeout=WAIT_MS)
    await therapist.keyboard.press("Enter")
    await confirm.wait_for(state="detached", timeout=WAIT_MS)
    clock = await therapist.get_by_test_id("session-clock").inner_text()
    assert re.fullmatch(r"Session time \d+:\d\d", clock), clock

    # Ops staff's dashboard, with these rooms live.
    ops, ops_log = await open_page(browser, server.cli_text("ops-link"))
    await ops.locator("#conn-state", has_text="Live").wait_for(timeout=WAIT_MS)
    await ops.locator("tr[data-room]").first.wait_for(timeout=WAIT_MS)
    await assert_accessible(ops, "/ops")
    assert ops_log.errors == []

    # Sam's gate is closed (directed mode, Alex holds the floor): Sam's audio is held.
    await assert_media_complete([therapist, alex, sam], silent={sam_id})
    for log in group.logs:
        assert log.errors == []
