"""What every Chromium-driven test shares: the browser, its flags, stopping a server."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import AsyncIterator
from typing import Any

# Debian's package; Playwright's own browser downloads are not used (nor reachable).
CHROMIUM = os.environ.get("TELEHEALTH_CHROMIUM", "/usr/bin/chromium")
# The fake screen for screen share: with the fake devices and the fake UI below,
# getDisplayMedia() is answered at once (no picker, no display needed) with Chromium's
# fake capture of a whole "monitor", 1280x720 with a moving pattern.
FAKE_SCREEN = "display-media-type=monitor"
FAKE_DEVICES = f"fps=15,{FAKE_SCREEN}"
CHROMIUM_ARGS = [
    # 15 fps fake camera (Chromium's fake capture option): a group of six pages encodes
    # and decodes 36 videos on two cores; half the frames keep the machine responsive.
    f"--use-fake-device-for-media-stream={FAKE_DEVICES}",
    "--use-fake-ui-for-media-stream",
    "--no-sandbox",
    # Without these Chromium keeps calling home, and this network refuses it.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextlib.asynccontextmanager
async def headless_chromium(fake_devices: str = FAKE_DEVICES) -> AsyncIterator[Any]:
    """``fake_devices``: the fake capture's options, e.g. ``"fps=15,device-count=3"``."""
    from playwright.async_api import async_playwright

    fake = "--use-fake-device-for-media-stream"
    args = [f"{fake}={fake_devices}" if a.startswith(fake) else a for a in CHROMIUM_ARGS]
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=args, headless=True
        )
        try:
            yield chromium
        finally:
            await chromium.close()


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 10 s: a test never leaves a server behind."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
