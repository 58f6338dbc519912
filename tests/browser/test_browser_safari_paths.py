"""The client paths Safari (and a phone) takes, walked in Chromium made to behave like it.

An init script takes away what Safari lacks or refuses (issue 17):
* no ``HTMLMediaElement.setSinkId``: no speaker picker, nothing throws;
* autoplay with sound refused (Safari's rule at its strictest): the tile plays muted
  and offers "Turn on sound";
* one camera at a time, as on an iPhone: opening a second camera while the first is
  live fails with NotReadableError, so a camera switch must release the first.
Chromium gets three fake cameras (its second one sends depth frames, Y16, which no
encoder takes: the test switches to the third).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from browser_support import Server, assert_decoding, open_page, press_join

from tests.chromium_support import headless_chromium

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]

PHONE = {"width": 390, "height": 844}
SAFARI_ON_A_PHONE = """
delete HTMLMediaElement.prototype.setSinkId;
const realPlay = HTMLMediaElement.prototype.play;
HTMLMediaElement.prototype.play = function () {
  if (!this.muted && this.dataset.role === "remote") {
    return Promise.reject(new DOMException("The request is not allowed", "NotAllowedError"));
  }
  return realPlay.call(this);
};
window.__cameras = [];
const realGetUserMedia = MediaDevices.prototype.getUserMedia;
MediaDevices.prototype.getUserMedia = async function (constraints) {
  if (constraints?.video && window.__cameras.some((t) => t.readyState === "live")) {
    throw new DOMException("Could not start video source", "NotReadableError");
  }
  const stream = await realGetUserMedia.call(this, constraints);
  window.__cameras.push(...stream.getVideoTracks());
  return stream;
};
"""
LOCAL_CAMERA = (
    "() => document.querySelector('video[data-role=\"local\"]')"
    ".srcObject?.getVideoTracks()[0]?.getSettings().deviceId"
)


@pytest_asyncio.fixture
async def three_camera_chromium() -> AsyncIterator[Any]:
    async with headless_chromium(fake_devices="fps=15,device-count=3") as chromium:
        yield chromium


async def test_safari_like_phone_joins_plays_after_a_tap_and_switches_camera(
    server: Server, three_camera_chromium: Any
) -> None:
    room = server.create_room("individual", "Pat")
    therapist_link, patient_link = room["links"]
    therapist, therapist_log = await open_page(three_camera_chromium, therapist_link["url"])
    phone, phone_log = await open_page(
        three_camera_chromium, patient_link["url"], viewport=PHONE, init_script=SAFARI_ON_A_PHONE
    )
    await press_join(therapist)
    await press_join(phone)

    # No setSinkId: no speaker picker, and tiles were made without calling it.
    assert await phone.evaluate("() => !('setSinkId' in HTMLMediaElement.prototype)")
    assert await phone.locator("#speaker-field").is_hidden()
    # Sound was refused: the video plays muted and offers a tap to hear.
    sound = phone.get_by_role("button", name="Turn on sound")
    await sound.wait_for(timeout=20_000)
    await assert_decoding(phone, remotes=1)
    remote = phone.locator('video[data-role="remote"]')
    assert await remote.evaluate("v => v.muted && !v.paused")
    await sound.click()
    assert await remote.evaluate("v => !v.muted")
    await sound.wait_for(state="detached")
    # iOS plays inline only where asked to, or it takes the video full screen.
    assert await phone.evaluate(
        "() => [...document.querySelectorAll('video')].every(v => v.playsInline)"
    )

    # The other camera, on a phone that opens one at a time.
    first = await phone.evaluate(LOCAL_CAMERA)
    await phone.get_by_text("Devices", exact=True).click()
    picker = phone.locator("#camera-select")
    options = await picker.locator("option").evaluate_all("os => os.map(o => o.value)")
    assert len(options) == 3 and options[0] == first
    other = options[2]
    await picker.select_option(other)
    await phone.wait_for_function(f"() => ({LOCAL_CAMERA})() === {other!r}", timeout=10_000)
    states = await phone.evaluate("() => window.__cameras.map(t => t.readyState)")
    assert states[0] == "ended" and states[-1] == "live", states  # the first was let go
    await assert_decoding(therapist, remotes=1)  # and the therapist still sees the patient
    assert await phone.locator("#device-note").is_hidden()
    assert phone_log.errors == [] and therapist_log.errors == []
