"""Individual (1:1) sessions: browser-to-browser video, seats, takeover, reconnects."""

from __future__ import annotations

import pytest
from browser_support import (
    Server,
    assert_decoding,
    client_state,
    join_individual,
    notice,
    open_page,
    press_join,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]


async def test_therapist_and_patient_decode_each_others_video(server: Server, browser) -> None:
    room = server.create_room("individual", "Pat")
    therapist_link, patient_link = room["links"]
    therapist, therapist_log = await open_page(browser, therapist_link["url"])
    patient, patient_log = await open_page(browser, patient_link["url"])

    await press_join(therapist)
    await therapist.get_by_text("Waiting for the other person to join…").first.wait_for()
    await press_join(patient)

    await assert_decoding(therapist, remotes=1)
    await assert_decoding(patient, remotes=1)
    for page, other in ((therapist, "Pat"), (patient, "Therapist")):
        remote = page.locator('video[data-role="remote"]')
        assert await remote.count() == 1
        assert await remote.evaluate("v => v.videoWidth") > 0
        await page.get_by_text(f"Connected with {other}").wait_for(timeout=10_000)
    # Each browser's getStats() reports become a server-side quality level, shown on
    # its own tile; the therapist also sees the patient's.
    own = patient.locator('.tile[data-member="self"] .quality')
    await own.wait_for(timeout=20_000)
    assert (await own.get_attribute("data-level")) in ("excellent", "good")
    seen = therapist.locator('.tile:not([data-member="self"]) .quality')
    await seen.wait_for(timeout=20_000)
    assert therapist_log.errors == [] and patient_log.errors == []


async def test_link_token_leaves_the_address_bar_but_survives_a_reload(
    server: Server, browser
) -> None:
    room = server.create_room("individual", "Pat")
    page, log = await open_page(browser, room["links"][1]["url"])
    await page.get_by_role("button", name="Join session", exact=True).wait_for(timeout=15_000)
    assert "#t=" not in page.url and "eyJ" not in page.url
    await page.reload()
    await press_join(page)
    assert (await client_state(page))["self"]["name"] == "Pat"
    assert log.errors == []


async def test_second_patient_link_for_a_taken_seat_is_refused(server: Server, browser) -> None:
    room = server.create_room("individual", "Pat")
    patient, _ = await open_page(browser, room["links"][1]["url"])
    await press_join(patient)

    second = server.invite(room["room"], "participant", "Robin")
    intruder, _ = await open_page(browser, second["url"])
    await intruder.get_by_role("button", name="Join session", exact=True).click(timeout=15_000)
    code, text = await notice(intruder)
    assert code == "seat_taken"
    assert "Someone else has already joined this session" in text
    assert await intruder.locator('video[data-role="remote"]').count() == 0
    # The seat holder is untouched.
    assert (await client_state(patient))["state"] == "joined"


async def test_same_link_in_a_second_tab_takes_the_seat_over(server: Server, browser) -> None:
    room, therapist, first_tab, (therapist_log, _) = await join_individual(server, browser, "Pat")
    patient_link = room["links"][1]

    second_tab = await first_tab.context.new_page()
    await second_tab.goto(patient_link["url"])
    await press_join(second_tab)

    code, text = await notice(first_tab)
    assert code == "replaced"
    assert "This session was opened in another tab or device." in text
    state = await client_state(first_tab)
    assert state["state"] == "closed" and state["reason"] == "replaced"
    live_tracks = await first_tab.evaluate(
        "() => document.querySelector('video[data-role=\"local\"]').srcObject"
        "?.getTracks().filter(t => t.readyState === 'live').length ?? 0"
    )
    assert live_tracks == 0, "the replaced tab must release camera and microphone"
    # The new tab and the therapist see each other.
    await assert_decoding(second_tab, remotes=1)
    await assert_decoding(therapist, remotes=1)
    assert therapist_log.errors == []


async def test_call_survives_a_signaling_drop_and_an_ice_restart_without_reload(
    server: Server, browser
) -> None:
    room = server.create_room("individual", "Pat")
    therapist, _ = await open_page(browser, room["links"][0]["url"])
    patient, patient_log = await open_page(browser, room["links"][1]["url"])
    await press_join(therapist)
    await press_join(patient)
    await assert_decoding(patient, remotes=1)

    await patient.evaluate("() => window.__telehealth.dropConnection()")
    await patient.wait_for_function(
        "() => { const s = window.__telehealth.state(); return s.state === 'joined' && s.resumed }",
        timeout=20_000,
    )
    await assert_decoding(patient, remotes=1)
    await assert_decoding(therapist, remotes=1)

    # A failed media path is repaired by an ICE restart, negotiated on the same connection.
    await patient.evaluate("() => window.__telehealth.failMedia()")
    await assert_decoding(patient, remotes=1)
    await assert_decoding(therapist, remotes=1)
    assert patient_log.errors == []
    # media.connected and the 5-second stats.report were all accepted.
    for page in (therapist, patient):
        assert await page.evaluate("() => window.__telehealth.state().serverErrors") == []


DENY_DEVICES = """
navigator.mediaDevices.getUserMedia = () =>
  Promise.reject(new DOMException("Permission denied", "NotAllowedError"));
"""


async def test_patient_without_camera_and_microphone_can_still_join(
    server: Server, browser
) -> None:
    room = server.create_room("individual", "Pat")
    therapist, therapist_log = await open_page(browser, room["links"][0]["url"])
    context = await browser.new_context()
    await context.add_init_script(DENY_DEVICES)
    patient = await context.new_page()
    await patient.goto(room["links"][1]["url"])

    note = patient.locator("#device-note")
    await note.wait_for(state="visible", timeout=15_000)
    assert "You can still join" in await note.inner_text()
    await press_join(therapist)
    await press_join(patient)

    await assert_decoding(patient, remotes=1)  # sees and hears the therapist
    assert await patient.get_by_role("button", name="No microphone").is_disabled()
    pat_tile = therapist.locator(".tile", has_text="Pat")
    await pat_tile.get_by_text("Camera off").wait_for(timeout=10_000)
    await pat_tile.get_by_text("Muted").wait_for(timeout=10_000)
    assert therapist_log.errors == []
