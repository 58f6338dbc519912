"""The group flows therapists run, with the default manual admission, each step ending
with the shared check: every page shows every other present member's video and plays
their audio (assert_media_complete)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from browser_support import (
    Server,
    assert_media_complete,
    client_state,
    notice,
    open_page,
    press_join,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

WAIT_MS = 20_000
# Small pages: six of them decode five videos each on two cores.
SMALL = {"width": 640, "height": 480}


class Group:
    """The pages of one group room, by name; the therapist is "Therapist"."""

    def __init__(self, server: Server, browser: Any, *names: str) -> None:
        self.server, self.browser = server, browser
        self.room = server.create_room("group", *names)  # manual admission, the default
        self.links = {link["name"]: link["url"] for link in self.room["links"][1:]}
        self.therapist_url = self.room["links"][0]["url"]
        self.pages: dict[str, Any] = {}
        self.logs: dict[str, Any] = {}

    async def open(self, name: str) -> Any:
        url = self.therapist_url if name == "Therapist" else self.links[name]
        page, log = await open_page(self.browser, url, viewport=SMALL)
        self.pages[name], self.logs[name] = page, log
        return page

    async def arrive(self, *names: str) -> None:
        """Open the links and press Join; members land in the waiting room."""
        pages = [await self.open(name) for name in names]
        await asyncio.gather(*(press_join(page) for page in pages))

    @property
    def therapist(self) -> Any:
        return self.pages["Therapist"]

    async def admit(self, *names: str) -> None:
        """Click each Admit button in turn without waiting for the server in between (two
        admissions in flight when two are named), then wait until all are in."""
        for name in names:
            button = self.therapist.get_by_role("button", name=f"Admit {name}", exact=True)
            await button.click(timeout=WAIT_MS)
        await asyncio.gather(*(self.admission(name, "admitted") for name in names))

    async def admit_everyone(self, *names: str) -> None:
        for name in names:
            await self.therapist.get_by_role("button", name=f"Admit {name}", exact=True).wait_for(
                timeout=WAIT_MS
            )
        await self.therapist.get_by_role("button", name="Admit everyone", exact=True).click(
            timeout=WAIT_MS
        )
        await asyncio.gather(*(self.admission(name, "admitted") for name in names))

    async def admission(self, name: str, value: str) -> None:
        await self.pages[name].wait_for_function(
            f"() => window.__telehealth?.state().admission === '{value}'", timeout=WAIT_MS
        )

    async def id_of(self, name: str) -> str:
        return str((await client_state(self.pages[name]))["self"]["id"])

    async def complete(self, *names: str, silent: set[str] | None = None) -> None:
        await assert_media_complete([self.pages[name] for name in names], silent=silent)

    async def assert_clean(self, *names: str) -> None:
        for name in names:
            assert self.logs[name].errors == [], (name, self.logs[name].errors)
            errors = await self.pages[name].evaluate(
                "() => window.__telehealth.state().serverErrors"
            )
            assert errors == [], (name, errors)


async def test_admitted_one_by_one_two_at_once_and_late_into_a_group_of_six(
    server: Server, browser: Any
) -> None:
    group = Group(server, browser, "Alex", "Sam", "Jo", "Kai", "Lee")
    await group.arrive("Therapist", "Alex", "Sam")

    await group.admit("Alex")
    await group.complete("Therapist", "Alex")
    await group.admit("Sam")
    await group.complete("Therapist", "Alex", "Sam")

    # Two arrive mid-session and are let in together, then one more on their own.
    await group.arrive("Jo", "Kai")
    await group.admit("Jo", "Kai")
    await group.complete("Therapist", "Alex", "Sam", "Jo", "Kai")
    await group.arrive("Lee")
    await group.admit("Lee")
    await group.complete("Therapist", "Alex", "Sam", "Jo", "Kai", "Lee")
    await group.assert_clean(*group.pages)


async def test_sent_back_readmitted_and_removed(server: Server, browser: Any) -> None:
    group = Group(server, browser, "Alex", "Sam", "Jo")
    await group.arrive("Therapist", "Alex", "Sam", "Jo")
    await group.admit_everyone("Alex", "Sam", "Jo")
    await group.complete("Therapist", "Alex", "Sam", "Jo")

    therapist = group.therapist
    await therapist.get_by_role("button", name="Send to waiting room: Alex").click(timeout=WAIT_MS)
    await group.admission("Alex", "waiting")
    await group.complete("Therapist", "Sam", "Jo")
    assert await group.pages["Alex"].locator('video[data-role="remote"]').count() == 0

    await group.admit("Alex")
    await group.complete("Therapist", "Alex", "Sam", "Jo")

    await therapist.get_by_role("button", name="Remove Sam", exact=True).click(timeout=WAIT_MS)
    await therapist.get_by_role("button", name="Remove", exact=True).click(timeout=WAIT_MS)
    code, _ = await notice(group.pages["Sam"])
    assert code == "removed"
    await group.complete("Therapist", "Alex", "Jo")
    await group.assert_clean("Therapist", "Alex", "Jo")


async def test_member_and_therapist_reload_their_pages(server: Server, browser: Any) -> None:
    group = Group(server, browser, "Alex", "Sam")
    await group.arrive("Therapist", "Alex", "Sam")
    await group.admit("Alex", "Sam")
    await group.complete("Therapist", "Alex", "Sam")

    # A reloaded page joins again; an admitted member does not wait a second time.
    for name in ("Alex", "Therapist"):
        page = group.pages[name]
        await page.reload()
        await press_join(page)
        if name != "Therapist":
            await group.admission(name, "admitted")
        await group.complete("Therapist", "Alex", "Sam")
    await group.assert_clean("Sam")


async def test_check_in_round_and_hand_queue_turn_close_and_open_the_gates(
    server: Server, browser: Any
) -> None:
    group = Group(server, browser, "Alex", "Sam")
    await group.arrive("Therapist", "Alex", "Sam")
    await group.admit("Alex", "Sam")
    await group.complete("Therapist", "Alex", "Sam")
    therapist, alex, sam = (group.pages[n] for n in ("Therapist", "Alex", "Sam"))
    alex_id, sam_id = await group.id_of("Alex"), await group.id_of("Sam")

    # Check-in round: the member who has the floor is heard; the one who waits is not.
    await therapist.locator('button[data-mode="go_around"]').click()
    await therapist.wait_for_function(
        "() => window.__telehealth.floor()?.floor?.go_around?.order?.length === 2",
        timeout=WAIT_MS,
    )
    order = (await therapist.evaluate("() => window.__telehealth.floor()"))["floor"]["go_around"][
        "order"
    ]
    first, second = ({alex_id: alex, sam_id: sam}[member] for member in order)
    await first.get_by_text("You have the floor", exact=True).wait_for(timeout=WAIT_MS)
    await group.complete("Therapist", "Alex", "Sam", silent={order[1]})
    await first.get_by_role("button", name="Pass my turn").click()
    await second.get_by_text("You have the floor", exact=True).wait_for(timeout=WAIT_MS)
    await group.complete("Therapist", "Alex", "Sam", silent={order[0]})
    await second.get_by_role("button", name="Pass my turn").click()
    await second.get_by_test_id("have-floor").wait_for(state="hidden", timeout=WAIT_MS)
    await therapist.wait_for_function(
        "() => window.__telehealth.floor()?.floor?.mode === 'open'", timeout=WAIT_MS
    )
    await group.complete("Therapist", "Alex", "Sam")

    # Hand queue: members are held until given the floor; the holder is heard.
    await therapist.locator('button[data-mode="hand_queue"]').click()
    await alex.get_by_test_id("mic-held").wait_for(timeout=WAIT_MS)
    await group.complete("Therapist", "Alex", "Sam", silent={alex_id, sam_id})
    await alex.get_by_role("button", name="Raise my hand").click()
    await therapist.locator('[data-testid="queue"] li:has-text("Alex")').wait_for(timeout=WAIT_MS)
    await therapist.get_by_role("button", name="Give the floor to the next raised hand").click()
    await alex.get_by_text("You have the floor", exact=True).wait_for(timeout=WAIT_MS)
    await group.complete("Therapist", "Alex", "Sam", silent={sam_id})
    await alex.get_by_role("button", name="I'm done speaking").click()
    await alex.get_by_test_id("have-floor").wait_for(state="hidden", timeout=WAIT_MS)
    await therapist.locator('button[data-mode="open"]').click()
    await therapist.wait_for_function(
        "() => window.__telehealth.floor()?.floor?.mode === 'open'", timeout=WAIT_MS
    )
    await group.complete("Therapist", "Alex", "Sam")
    await group.assert_clean("Therapist", "Alex", "Sam")
