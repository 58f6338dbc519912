"""The live ops dashboard against the real server: rooms, members, quality, alerts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ops_harness import (
    WAIT_S,
    Member,
    OpsServer,
    open_page,
    start_ops_server,
    token_of,
)
from playwright.async_api import expect

pytestmark = pytest.mark.browser

MS = WAIT_S * 1000


def links_by_role(room: dict[str, object]) -> dict[str, str]:
    return {link["role"]: link["url"] for link in room["links"]}  # type: ignore[attr-defined]


async def test_room_member_and_degraded_quality_show_live(
    ops_server: OpsServer, browser: object, members: list[Member]
) -> None:
    page, log = await open_page(browser, ops_server.ops_link())
    await expect(page.locator("#conn-state")).to_have_text("Live", timeout=MS)
    # The token left the address bar (and stays out of history and screenshots).
    assert page.url == ops_server.base_url + "/ops"

    room = ops_server.create_room("individual")
    row = page.locator(f'tr[data-room="{room["room"]}"]')
    await expect(row).to_be_visible(timeout=MS)
    await expect(row).to_have_attribute("data-members", "0")
    await expect(row.locator(".col-health")).to_have_text(re.compile("Idle"))

    patient = Member(ops_server.base_url, token_of(links_by_role(room)["participant"]))
    members.append(patient)
    await patient.join()
    await expect(row).to_have_attribute("data-members", "1", timeout=MS)
    await expect(row.locator(".col-members")).to_have_text("1 / 1")

    # Drill down with the keyboard: Tab to the room's button, Enter.
    await row.locator("button.room-link").focus()
    await page.keyboard.press("Enter")
    detail = page.locator("#detail")
    await expect(detail).to_be_visible()
    await expect(detail).to_have_attribute("data-room", room["room"])
    member = detail.locator("li.member")
    await expect(member).to_have_count(1, timeout=MS)
    await expect(member.locator(".member-id")).to_have_text(re.compile(r"^m-[0-9a-f]{8}$"))
    await expect(member.locator(".member-role")).to_have_text("Participant")
    await expect(member.locator(".member-presence")).to_have_text("Connected")

    await patient.report(rtt_ms=40, loss_pct=0, jitter_ms=5, connected=True)
    await expect(member.locator(".member-quality")).to_have_text(
        re.compile("Excellent"), timeout=MS
    )
    await expect(row).to_have_attribute("data-health", "healthy", timeout=MS)
    await expect(row.locator(".col-health")).to_have_text(re.compile("Healthy"))

    await patient.report(rtt_ms=900, loss_pct=12, jitter_ms=120)
    await expect(member.locator(".member-quality")).to_have_text(re.compile("Poor"), timeout=MS)
    await expect(row).to_have_attribute("data-health", "degraded", timeout=MS)
    await expect(row.locator(".col-health")).to_have_text(re.compile("Degraded"))
    await expect(member.locator(".member-figures")).to_contain_text("RTT 900 ms")
    # The chart has both series, drawn from the two samples of `history`.
    chart = member.locator("svg.chart")
    await expect(chart.locator("path.chart-rtt")).to_have_count(1)
    await expect(chart.locator("path.chart-loss")).to_have_count(1)
    assert "peak round-trip 900 ms" in (await chart.get_attribute("aria-label") or "")

    alert = page.locator(f'#alerts li[data-kind="room_degraded"][data-room="{room["room"]}"]')
    await expect(alert).to_have_count(1, timeout=MS)
    await expect(alert).to_contain_text("Room degraded")
    await expect(alert.locator("time")).to_have_text(re.compile(r"just now|\d+ s ago"))
    # New alerts are announced politely, once.
    await expect(page.locator("#alerts-live")).to_contain_text("Room degraded", timeout=MS)

    # Unhealthy rooms come first.
    healthy = ops_server.create_room("individual")
    await expect(page.locator(f'tr[data-room="{healthy["room"]}"]')).to_be_visible(timeout=MS)
    first = page.locator("#rooms-body tr").first
    await expect(first).to_have_attribute("data-room", room["room"])

    # Escape closes the drill-down and puts focus back on the room.
    await page.locator("#detail-close").focus()
    await page.keyboard.press("Escape")
    await expect(detail).to_be_hidden()
    await expect(row.locator("button.room-link")).to_be_focused()
    await expect(page.locator("#last-update")).to_have_text(re.compile(r"\d"))
    assert log.errors == []


async def test_join_token_is_refused_with_a_message(ops_server: OpsServer, browser: object) -> None:
    room = ops_server.create_room("individual")
    join_token = token_of(links_by_role(room)["participant"])
    page, log = await open_page(browser, f"{ops_server.base_url}/ops#t={join_token}")
    refused = page.locator("#refused")
    await expect(refused).to_be_visible(timeout=MS)
    await expect(refused).to_contain_text("not an ops link")
    await expect(page.locator("#conn-state")).to_have_text("Not connected")
    await expect(page.locator("#board")).to_be_hidden()
    assert page.url == ops_server.base_url + "/ops"
    # A reload does not retry the refused token.
    await page.reload()
    await expect(refused).to_contain_text("without an ops link", timeout=MS)
    assert all("connect_error" not in e and "pageerror" not in e for e in log.errors), log.errors


async def test_reconnecting_then_live_again_after_a_server_restart(
    tmp_path: Path, own_server: list[OpsServer], browser: object
) -> None:
    first = start_ops_server(tmp_path)
    own_server.append(first)
    page, _log = await open_page(browser, first.ops_link())
    await expect(page.locator("#conn-state")).to_have_text("Live", timeout=MS)
    await expect(page.locator("#last-update")).to_have_text(re.compile(r"\d"), timeout=MS)

    first.process.kill()  # a crash: the page's socket drops without a goodbye
    first.process.wait(timeout=5)
    await expect(page.locator("#conn-state")).to_have_text("Reconnecting…", timeout=MS)

    port = int(first.base_url.rsplit(":", 1)[1])
    second = start_ops_server(tmp_path, port=port)  # same keys: the ops token still verifies
    own_server.append(second)
    room = second.create_room("group")
    await expect(page.locator("#conn-state")).to_have_text("Live", timeout=MS)
    await expect(page.locator(f'tr[data-room="{room["room"]}"]')).to_be_visible(timeout=MS)


async def test_phone_layout_fits_the_screen(ops_server: OpsServer, browser: object) -> None:
    ops_server.create_room("group")
    page, log = await open_page(
        browser, ops_server.ops_link(), viewport={"width": 390, "height": 844}
    )
    await expect(page.locator("#rooms-body tr").first).to_be_visible(timeout=MS)
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    await page.locator("#rooms-body tr").first.click()
    await expect(page.locator("#detail")).to_be_visible()
    assert log.errors == []
