"""Chromium members behind HAProxy in front of two processes: the default flow (manual
admission), then kill -9 of the room's owner. Pages whose socket was on the dead
process reconnect through the balancer by themselves; every page opens a fresh relay
leg (relay.restart, or relay_leg false on resume); no reload. Ends, as every group
browser test does, with each page receiving every other member's video and audio."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.browser.browser_support import assert_media_complete, open_page, press_join
from tests.chromium_support import headless_chromium
from tests.cluster.cluster_support import running_cluster

pytestmark = [pytest.mark.cluster, pytest.mark.browser, pytest.mark.timeout(240)]

WAIT_MS = 20_000
SMALL = {"width": 640, "height": 480}


@pytest_asyncio.fixture
async def chromium() -> AsyncIterator[Any]:
    async with headless_chromium() as browser:
        yield browser


async def test_chromium_members_survive_kill_9_of_the_owner(tmp_path: Path, chromium: Any) -> None:
    async with running_cluster(tmp_path, 2, "--test-hooks") as cluster:
        room = cluster.create_room("group", "Alex", "Sam")  # manual admission
        urls = {link["name"]: link["url"] for link in room["links"]}
        therapist_name = room["links"][0]["name"]
        pages: dict[str, Any] = {}
        for name, url in urls.items():
            pages[name], _ = await open_page(chromium, url, viewport=SMALL)
        await asyncio.gather(*(press_join(page) for page in pages.values()))
        therapist = pages[therapist_name]
        for name in ("Alex", "Sam"):
            await therapist.get_by_role("button", name=f"Admit {name}", exact=True).click(
                timeout=WAIT_MS
            )
            await pages[name].wait_for_function(
                "() => window.__telehealth?.state().admission === 'admitted'", timeout=WAIT_MS
            )
        await assert_media_complete(list(pages.values()))

        owner = await cluster.owner_index(room["room"])
        # The pages sent their room to the balancer: all three met in the owner.
        assert set((await cluster.seat_indexes(room["room"])).values()) == {owner}
        killed_at = time.monotonic()
        cluster.kill(owner)
        # Each page opens a second leg, to the new owner's relay, and it connects.
        await asyncio.gather(
            *(
                page.wait_for_function(
                    "() => { const s = window.__telehealth?.state().links;"
                    " return s.legs >= 2 && s.relay === 'connected'; }",
                    timeout=WAIT_MS,
                )
                for page in pages.values()
            )
        )
        await assert_media_complete(list(pages.values()))
        print(f"Chromium: every page complete again {time.monotonic() - killed_at:.1f}s after")
        assert await cluster.owner_index(room["room"]) != owner
