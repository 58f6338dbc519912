"""Media over emulated real networks (issue 14): members behind home NATs, the server
behind 1:1 NAT, tc netem on one member's link (never on loopback).

Individual rooms are browser to browser (P2P, hole punched through both NATs with the
lab's STUN); group rooms go through the relay. Each test ends with every page
receiving every other page's video and audio; the group tests use the default flow
(manual admission from the waiting room)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.browser.browser_support import (
    MEMBER_VIEWPORT,
    THERAPIST_VIEWPORT,
    assert_media_complete,
    client_state,
    open_page,
    press_join,
    receptions,
)
from tests.network_support import (
    CLEAR,
    LOSSY_SLOW,
    OUTAGE,
    LabServer,
    NetLab,
    Site,
    wait_media_flowing,
)

pytestmark = [pytest.mark.network, pytest.mark.browser, pytest.mark.timeout(150)]

OUTAGE_S = 8.0
# Waits for media to be complete again after a change of network: bounded, not timed.
RECOVERY_TIMEOUT_S = 45.0
ADMIT_TIMEOUT_MS = 15_000
FPS_WINDOW_S = 5.0
# The cameras send 15 frames a second (Chromium's fake device here); what a 10 % lossy
# link with 200 ms RTT still carries, repaired, and well above a stalled stream's.
MIN_LOSSY_FPS = 6.0


async def individual(server: LabServer, clinic_browser: Any, remote_browser: Any) -> list[Any]:
    """The therapist at the clinic, the patient on the impaired network; both joined."""
    room = server.create_room("individual", "Pat")
    therapist_link, patient_link = room["links"]
    therapist, _ = await open_page(clinic_browser, therapist_link["url"])
    patient, _ = await open_page(remote_browser, patient_link["url"])
    await press_join(therapist)
    await press_join(patient)
    return [therapist, patient]


async def group(server: LabServer, clinic_browser: Any, remote_browser: Any) -> list[Any]:
    """Therapist and Alex at the clinic, Sam on the impaired network; the therapist
    admits both from the waiting room."""
    room = server.create_room("group", "Alex", "Sam")
    therapist_link, alex_link, sam_link = room["links"]
    therapist, _ = await open_page(
        clinic_browser, therapist_link["url"], viewport=THERAPIST_VIEWPORT
    )
    alex, _ = await open_page(clinic_browser, alex_link["url"], viewport=MEMBER_VIEWPORT)
    sam, _ = await open_page(remote_browser, sam_link["url"], viewport=MEMBER_VIEWPORT)
    await press_join(therapist)
    await asyncio.gather(press_join(alex), press_join(sam))
    for name in ("Alex", "Sam"):
        await therapist.get_by_role("button", name=f"Admit {name}", exact=True).click(
            timeout=ADMIT_TIMEOUT_MS
        )
    for page in (alex, sam):
        await page.wait_for_function(
            "() => window.__telehealth.state().admission === 'admitted'",
            timeout=ADMIT_TIMEOUT_MS,
        )
    return [therapist, alex, sam]


JOIN = {"individual": individual, "group": group}


@pytest.mark.parametrize("kind", ["individual", "group"])
async def test_ten_percent_loss_and_200ms_rtt_on_one_member(
    kind: str,
    lab: NetLab,
    remote: Site,
    lab_server: LabServer,
    clinic_browser: Any,
    remote_browser: Any,
) -> None:
    lab.impair(remote, LOSSY_SLOW)
    pages = await JOIN[kind](lab_server, clinic_browser, remote_browser)
    # Under the loss every page presents every other page's video and receives its
    # audio. The lossy member's video can still freeze now and then (benchmarks/
    # network.py measures how much), so this waits for one window in which everything
    # flows rather than testing a single 1.5 s window.
    await wait_media_flowing(pages, timeout_s=RECOVERY_TIMEOUT_S)
    # Retransmissions repair the lossy member's uplink: the others see its camera move,
    # not a frame now and then (before the relay routed them with two video m-lines on
    # the leg, the others got about 2 frames a second).
    lossy = (await client_state(pages[-1]))["self"]["id"]
    before = [(await receptions(page))[lossy].frames_presented for page in pages[:-1]]
    await asyncio.sleep(FPS_WINDOW_S)
    after = [(await receptions(page))[lossy].frames_presented for page in pages[:-1]]
    fps = [(a - b) / FPS_WINDOW_S for a, b in zip(after, before, strict=True)]
    print(f"{kind}: the lossy member's video at the others: {fps} frames/s")
    assert min(fps) >= MIN_LOSSY_FPS, fps
    # And once the link clears, nothing is left stuck (the relay may first need a
    # keyframe from the lossy member: wait for it, bounded, before the end check).
    lab.impair(remote, CLEAR)
    await wait_media_flowing(pages, timeout_s=RECOVERY_TIMEOUT_S)
    await assert_media_complete(pages)


@pytest.mark.parametrize("kind", ["individual", "group"])
async def test_member_offline_8s_then_on_another_network_media_resumes(
    kind: str,
    lab: NetLab,
    remote: Site,
    lab_server: LabServer,
    clinic_browser: Any,
    remote_browser: Any,
) -> None:
    pages = await JOIN[kind](lab_server, clinic_browser, remote_browser)
    await assert_media_complete(pages)

    # The member's network drops for 8 s (every packet lost both ways), then returns.
    lab.impair(remote, OUTAGE)
    await asyncio.sleep(OUTAGE_S)
    lab.impair(remote, CLEAR)
    await wait_media_flowing(pages, timeout_s=RECOVERY_TIMEOUT_S)
    await assert_media_complete(pages)

    # The member moves to another network: new private and public addresses, the old
    # link gone (Wi-Fi to mobile data). The socket is reopened (the client's net.ping
    # probe), then ICE restarts (P2P) or a fresh relay leg is opened.
    lab.switch_network(remote)
    if kind == "group":
        await wait_media_flowing(pages, timeout_s=RECOVERY_TIMEOUT_S)
        await assert_media_complete(pages)
    else:
        # Both pages decode each other's video and receive audio again. Not checked:
        # the moved member's <video> presenting the therapist's frames; in Chromium it
        # often stays on the last frame although the frames are decoded, and a fresh
        # srcObject does not help (the therapist's side presents; see docs/client.md).
        await wait_media_flowing(pages, timeout_s=RECOVERY_TIMEOUT_S, presented=False)
