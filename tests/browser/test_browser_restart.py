"""The server is killed with SIGKILL mid-session and restarted on the same port and data
directory: the open pages of a group room come back by themselves, with no reload."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest
from browser_support import (
    assert_media_complete,
    client_state,
    free_port,
    open_page,
    press_join,
    receptions,
    running_server,
)

# A restart, the socket.io reconnect (up to 3 s), then a fresh relay leg (its recovery
# backs off up to 8 s) and both pages settling on two cores.
pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]
RECOVERY_TIMEOUT_S = 90.0


async def _media_flows(pages: list[object]) -> bool:
    """Every remote tile of every page presents new frames and receives new audio."""
    before = [await receptions(page) for page in pages]
    await asyncio.sleep(0.5)
    after = [await receptions(page) for page in pages]
    return all(
        got
        and all(
            got[m].frames_presented > was[m].frames_presented
            and got[m].audio_packets > was[m].audio_packets
            for m in got
            if m in was
        )
        for was, got in zip(before, after, strict=True)
    )


async def test_group_pages_resume_after_kill_9_and_restart(tmp_path: Path, browser) -> None:
    data_dir = tmp_path / "telehealth-data"
    data_dir.mkdir()
    port = free_port()
    with running_server(data_dir, port=port) as first:
        room = first.create_room("group", "Alex")  # manual admission, the default
        opened = [await open_page(browser, link["url"]) for link in room["links"]]
        therapist, alex = pages = [page for page, _ in opened]
        await asyncio.gather(press_join(therapist), press_join(alex))
        await therapist.get_by_role("button", name="Admit Alex", exact=True).click(timeout=10_000)
        await alex.wait_for_function(
            "() => window.__telehealth.state().admission === 'admitted'", timeout=10_000
        )
        await assert_media_complete(pages)
        before = [await client_state(page) for page in pages]
        for page in pages:  # gone if the page reloads
            await page.evaluate("() => { window.__sameDocument = true; }")

        first.process.send_signal(signal.SIGKILL)
        assert first.process.wait(timeout=10) == -signal.SIGKILL

    killed_at = time.monotonic()
    assert not await _media_flows(pages), "media still flows with the server dead"
    with running_server(data_dir, port=port) as second:
        restarted_at = time.monotonic()
        deadline = restarted_at + RECOVERY_TIMEOUT_S
        while not await _media_flows(pages):
            assert time.monotonic() < deadline, (
                f"no media {RECOVERY_TIMEOUT_S}s after the restart: "
                f"{[await client_state(page) for page in pages]}\n{second.log_tail()}"
            )
        flowing_at = time.monotonic()
        await assert_media_complete(pages)
        print(
            f"\nkill -> healthy {restarted_at - killed_at:.1f}s; "
            f"healthy -> every page decoding again {flowing_at - restarted_at:.1f}s"
        )

        for page, was in zip(pages, before, strict=True):
            assert await page.evaluate("() => window.__sameDocument === true"), "page reloaded"
            now = await client_state(page)
            assert now["state"] == "joined" and now["self"] == was["self"]
            assert now["admission"] == "admitted"
        assert (await client_state(alex))["links"]["legs"] >= 2, "a fresh relay leg"
        for _, log in opened:
            assert [e for e in log.errors if e.startswith("pageerror")] == []
