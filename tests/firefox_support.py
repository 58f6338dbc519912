"""Debian's Firefox ESR, headless, driven over its own WebDriver BiDi WebSocket.

Playwright drives only its own patched Firefox builds, which cannot be
downloaded here; Firefox itself speaks WebDriver BiDi (W3C) when started with
``--remote-debugging-port``. This is the small part of BiDi the tests need:
user contexts (one per person), windows, navigation, script evaluation,
accessibility-locator clicks and console errors.

``FirefoxPage.evaluate`` and ``wait_for_function`` take the same function
source as Playwright's, so the shared checks in ``tests/browser/browser_support.py``
(``assert_media_complete``, ``assert_decoding``) run unchanged on Firefox pages.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import re
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

FIREFOX = os.environ.get("TELEHEALTH_FIREFOX", "/usr/bin/firefox-esr")
STARTUP_TIMEOUT_S = 30.0
COMMAND_TIMEOUT_S = 30.0
WAIT_TIMEOUT_MS = 15_000
LISTENING = re.compile(r"WebDriver BiDi listening on (ws://\S+)")

# A fresh profile per run: fake camera and microphone without a prompt, media may
# play without a gesture (the pages' tiles autoplay), and no calling home (this
# network refuses it, and it costs CPU the tests need).
PREFS: dict[str, bool | int | str] = {
    "media.navigator.streams.fake": True,
    "media.navigator.permission.disabled": True,
    "media.autoplay.default": 0,
    "media.autoplay.blocking_policy": 0,
    # Several people's windows in one Firefox: only one has focus, and enumerateDevices
    # in an unfocused document otherwise waits for focus (the device check would stall).
    "media.devices.unfocused.enabled": True,
    "app.update.disabledForTesting": True,
    "app.update.auto": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "datareporting.healthreport.uploadEnabled": False,
    "toolkit.telemetry.enabled": False,
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "browser.safebrowsing.downloads.enabled": False,
    "extensions.update.enabled": False,
    "services.settings.server": "http://127.0.0.1:9/remote-settings-disabled",
    "messaging-system.rsexperimentloader.enabled": False,
    "browser.ping-centre.telemetry": False,
}


class BiDiError(RuntimeError):
    """A BiDi command failed, or a script threw."""


def user_js(prefs: dict[str, bool | int | str]) -> str:
    return "".join(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n" for k, v in prefs.items())


@dataclass(eq=False)
class BiDiConnection:
    """One WebSocket to Firefox's BiDi server: commands by id, events to listeners."""

    ws: aiohttp.ClientWebSocketResponse
    pending: dict[int, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)
    listeners: list[Callable[[str, dict[str, Any]], None]] = field(default_factory=list)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def command(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        command_id = next(self.ids)
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[command_id] = answer
        await self.ws.send_str(json.dumps({"id": command_id, "method": method, "params": params}))
        try:
            return await asyncio.wait_for(answer, COMMAND_TIMEOUT_S)
        finally:
            self.pending.pop(command_id, None)

    async def read(self) -> None:
        async for message in self.ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            data = json.loads(message.data)
            if data.get("type") == "event":
                for listener in self.listeners:
                    listener(data["method"], data["params"])
                continue
            answer = self.pending.get(data.get("id", -1))
            if answer is None or answer.done():
                continue
            if data.get("type") == "error":
                answer.set_exception(BiDiError(f"{data['error']}: {data.get('message')}"))
            else:
                answer.set_result(data.get("result", {}))
        for answer in self.pending.values():
            if not answer.done():
                answer.set_exception(BiDiError("Firefox closed the BiDi connection"))


@dataclass(eq=False)
class FirefoxPage:
    """One window in its own user context (its own person), with its console errors."""

    bidi: BiDiConnection
    context: str
    errors: list[str] = field(default_factory=list)

    async def goto(self, url: str) -> None:
        params = {"context": self.context, "url": url, "wait": "complete"}
        await self.bidi.command("browsingContext.navigate", params)

    async def evaluate(self, function: str) -> Any:
        """Call a JavaScript function given as source, e.g. ``"() => document.title"``.

        Its (awaited) result comes back through JSON, as with Playwright.
        """
        declaration = f"async () => JSON.stringify(await ({function})())"
        result = await self.bidi.command(
            "script.callFunction",
            {
                "functionDeclaration": declaration,
                "target": {"context": self.context},
                "awaitPromise": True,
            },
        )
        if result.get("type") == "exception":
            details = result["exceptionDetails"]
            raise BiDiError(f"{details.get('text')} in {function[:200]}")
        value = result["result"]
        return json.loads(value["value"]) if value.get("type") == "string" else None

    async def wait_for_function(self, function: str, *, timeout_ms: int = WAIT_TIMEOUT_MS) -> Any:
        """Poll ``function`` until it returns something truthy (as Playwright's does)."""
        deadline = time.monotonic() + timeout_ms / 1000
        while True:
            value = await self.evaluate(function)
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"not true after {timeout_ms} ms: {function[:200]}")
            await asyncio.sleep(0.1)

    async def wait_for_text(self, text: str, *, timeout_ms: int = WAIT_TIMEOUT_MS) -> None:
        """Wait until ``text`` is shown somewhere on the page."""
        await self.wait_for_function(
            f"() => document.body.innerText.includes({json.dumps(text)})", timeout_ms=timeout_ms
        )

    async def click_button(self, name: str, *, timeout_ms: int = WAIT_TIMEOUT_MS) -> None:
        """Click, with the pointer, the enabled button whose accessible name is ``name``."""
        locator = {"type": "accessibility", "value": {"role": "button", "name": name}}
        await self._click(locator, name, timeout_ms)

    async def click_css(self, selector: str, *, timeout_ms: int = WAIT_TIMEOUT_MS) -> None:
        await self._click({"type": "css", "value": selector}, selector, timeout_ms)

    async def _click(self, locator: dict[str, Any], what: str, timeout_ms: int) -> None:
        deadline = time.monotonic() + timeout_ms / 1000
        while True:
            found = await self.bidi.command(
                "browsingContext.locateNodes", {"context": self.context, "locator": locator}
            )
            for node in found["nodes"]:
                if await self._ready_for_a_click(node["sharedId"]):
                    await self._pointer_click(node["sharedId"])
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"no enabled, visible {what!r} after {timeout_ms} ms")
            await asyncio.sleep(0.1)

    async def _ready_for_a_click(self, shared_id: str) -> bool:
        result = await self.bidi.command(
            "script.callFunction",
            {
                "functionDeclaration": (
                    "(el) => { if (el.disabled || !el.checkVisibility()) return false;"
                    " el.scrollIntoView({block: 'center'}); return true; }"
                ),
                "arguments": [{"sharedId": shared_id}],
                "target": {"context": self.context},
                "awaitPromise": False,
            },
        )
        return bool(result.get("result", {}).get("value"))

    async def _pointer_click(self, shared_id: str) -> None:
        origin = {"type": "element", "element": {"sharedId": shared_id}}
        actions = [
            {"type": "pointerMove", "x": 0, "y": 0, "origin": origin},
            {"type": "pointerDown", "button": 0},
            {"type": "pointerUp", "button": 0},
        ]
        await self.bidi.command(
            "input.performActions",
            {
                "context": self.context,
                "actions": [{"type": "pointer", "id": "mouse", "actions": actions}],
            },
        )


@dataclass(eq=False)
class Firefox:
    """A running headless Firefox and its BiDi session."""

    bidi: BiDiConnection
    pages: dict[str, FirefoxPage] = field(default_factory=dict)

    async def new_page(self, url: str, *, init_script: str | None = None) -> FirefoxPage:
        """A window in a fresh user context at ``url``.

        ``init_script`` (function source) runs in the page before its own scripts.
        """
        user_context = await self.bidi.command("browser.createUserContext", {})
        # A window each, not tabs of one window: a background tab is throttled and its
        # page's device check can stall, while every window of a headless run is shown.
        created = await self.bidi.command(
            "browsingContext.create",
            {"type": "window", "userContext": user_context["userContext"]},
        )
        page = FirefoxPage(self.bidi, created["context"])
        self.pages[page.context] = page
        if init_script is not None:
            await self.bidi.command(
                "script.addPreloadScript",
                {"functionDeclaration": init_script, "contexts": [page.context]},
            )
        await page.goto(url)
        return page

    def on_event(self, method: str, params: dict[str, Any]) -> None:
        if method != "log.entryAdded" or params.get("level") != "error":
            return
        page = self.pages.get(params.get("source", {}).get("context", ""))
        if page is not None:
            page.errors.append(f"{params.get('type')}: {params.get('text')}")


def _read(log: Path) -> str:
    return log.read_text(errors="replace")


async def _listening_url(log: Path, process: asyncio.subprocess.Process) -> str:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        found = LISTENING.search(_read(log))
        if found:
            return found[1]
        if process.returncode is not None:
            break
        await asyncio.sleep(0.1)
    raise RuntimeError(f"Firefox's BiDi server did not start:\n{_read(log)[-3000:]}")


@contextlib.asynccontextmanager
async def headless_firefox() -> AsyncIterator[Firefox]:
    """Debian's firefox-esr with a fresh profile.

    A missing binary fails the test: scripts/test installs the package.
    """
    with tempfile.TemporaryDirectory(prefix="telehealth-firefox-") as home:
        profile = Path(home) / "profile"
        profile.mkdir()
        (profile / "user.js").write_text(user_js(PREFS))
        log = Path(home) / "firefox.log"
        with log.open("wb") as output:
            process = await asyncio.create_subprocess_exec(
                FIREFOX,
                "-headless",
                "-no-remote",
                "-profile",
                str(profile),
                "--remote-debugging-port=0",
                "about:blank",
                stdout=output,
                stderr=output,
                env={**os.environ, "MOZ_CRASHREPORTER_DISABLE": "1"},
            )
        try:
            url = await _listening_url(log, process)
            async with (
                aiohttp.ClientSession() as http,
                http.ws_connect(f"{url}/session", max_msg_size=0) as ws,
            ):
                bidi = BiDiConnection(ws)
                reader = asyncio.create_task(bidi.read())
                await bidi.command("session.new", {"capabilities": {}})
                firefox = Firefox(bidi)
                bidi.listeners.append(firefox.on_event)
                await bidi.command("session.subscribe", {"events": ["log.entryAdded"]})
                try:
                    yield firefox
                finally:
                    with contextlib.suppress(BiDiError, TimeoutError):
                        await bidi.command("browser.close", {})
                    reader.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await reader
        finally:
            if process.returncode is None:
                process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), 10)
                except TimeoutError:
                    process.kill()
                    await process.wait()
