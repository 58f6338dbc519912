"""Helpers shared by the browser tests (what a person does, what a test checks)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.chromium_support import stop_process

REPO = Path(__file__).resolve().parents[2]
# Runs `server.cli.main` whether or not the module has a __main__ guard.
CLI = [sys.executable, "-c", "import sys; from server.cli.main import main; sys.exit(main())"]
STARTUP_TIMEOUT_S = 30.0
CLI_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerCommands:
    """The CLI helpers of a running test server; `cli_text` says where the CLI runs."""

    rooms: list[str]
    log_path: Path

    def cli_text(self, *args: str) -> str:
        raise NotImplementedError

    def cli(self, *args: str) -> dict[str, Any]:
        return json.loads(self.cli_text(*args))  # type: ignore[no-any-return]

    def create_room(
        self, kind: str, *participants: str, admit: str | None = None, emergency_info: bool = False
    ) -> dict[str, Any]:
        args = ["room", "create", "--kind", kind]
        for name in participants:
            args += ["--participant", name]
        if admit:
            args += ["--admit", admit]
        if emergency_info:
            args.append("--emergency-info")
        room = self.cli(*args)
        self.rooms.append(room["room"])
        return room

    def invite(self, room: str, role: str, name: str) -> dict[str, Any]:
        return self.cli("invite", "--room", room, "--role", role, "--name", name)

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


@dataclass
class Server(ServerCommands):
    base_url: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    rooms: list[str] = field(default_factory=list)

    def cli_text(self, *args: str) -> str:
        result = subprocess.run(
            [*CLI, *args, "--data-dir", str(self.data_dir)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_S,
            check=False,
        )
        assert result.returncode == 0, f"telehealth {' '.join(args)} failed:\n{result.stderr}"
        return result.stdout.strip()


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                if json.load(response).get("status") == "ok":
                    return
        except OSError as error:
            last_error = error
        time.sleep(0.2)
    raise RuntimeError(
        f"server not healthy after {STARTUP_TIMEOUT_S}s ({last_error}):\n{log_path.read_text()}"
    )


@contextlib.contextmanager
def running_server(
    data_dir: Path, *extra_args: str, port: int | None = None, log_name: str = "server.log"
) -> Iterator[Server]:
    """`telehealth serve` as a subprocess on a loopback port (a free one unless given),
    stopped afterwards; the log is appended to, so a restart keeps the first run's.
    Processes of one deployment share `data_dir` and each logs to its own `log_name`."""
    log_path = data_dir / log_name
    port = port or free_port()
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [
                *CLI,
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--data-dir",
                str(data_dir),
                *extra_args,
            ],
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base_url, process, log_path)
        yield Server(base_url, data_dir, process, log_path)
    finally:
        stop_process(process)


@dataclass
class PageLog:
    """Console errors and uncaught exceptions of one page."""

    errors: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


async def open_page(
    browser: Any, url: str, *, viewport: dict[str, int] | None = None, init_script: str = ""
) -> tuple[Any, PageLog]:
    """A page in its own browser context (its own person), with its console recorded.

    ``init_script`` runs before the page's own scripts (e.g. to take an API away,
    as another browser lacks it)."""
    context = await browser.new_context(viewport=viewport or {"width": 1024, "height": 768})
    if init_script:
        await context.add_init_script(init_script)
    page = await context.new_page()
    log = PageLog()
    page.on("console", lambda m: _record(log, m))
    page.on("pageerror", lambda e: log.errors.append(f"pageerror: {e}"))
    await page.goto(url)
    return page, log


def _record(log: PageLog, message: Any) -> None:
    line = f"{message.type}: {message.text}"
    log.lines.append(line)
    if message.type == "error":
        log.errors.append(line)


JOIN_TIMEOUT_MS = 20_000
DECODE_TIMEOUT_S = 20.0
THERAPIST_VIEWPORT = {"width": 1280, "height": 860}
MEMBER_VIEWPORT = {"width": 390, "height": 844}


async def join_individual(
    server: Any,
    browser: Any,
    patient: str,
    *,
    therapist_init_script: str = "",
    at_device_check: Callable[[Any], Awaitable[None]] | None = None,
    patient_keyboard: bool = False,
    emergency_info: bool = False,
) -> tuple[dict[str, Any], Any, Any, list[Any]]:
    """A new individual room with both pages joined (the therapist first) and the
    therapist decoding the patient: (the room as created, therapist page, patient page,
    both logs). `at_device_check` sees the patient's page before they join."""
    room = server.create_room("individual", patient, emergency_info=emergency_info)
    therapist_link, patient_link = room["links"]
    therapist, therapist_log = await open_page(
        browser, therapist_link["url"], init_script=therapist_init_script
    )
    patient_page, patient_log = await open_page(browser, patient_link["url"])
    await press_join(therapist)
    if at_device_check is not None:
        await page_ready_to_join(patient_page)
        await at_device_check(patient_page)
    await press_join(patient_page, keyboard=patient_keyboard)
    await assert_decoding(therapist, remotes=1)
    return room, therapist, patient_page, [therapist_log, patient_log]


# An init script that counts the chimes a page plays (oscillators started).
COUNT_CHIMES = """
window.__chimes = 0;
const start = OscillatorNode.prototype.start;
OscillatorNode.prototype.start = function (...args) {
  window.__chimes += 1;
  return start.apply(this, args);
};
"""


@dataclass
class GroupPages:
    """A group room's pages, all joined: the therapist on a desktop, members on phones."""

    therapist: Any
    therapist_log: PageLog
    members: dict[str, Any]  # by name
    opened: list[tuple[Any, PageLog]]  # the members' (page, log), in link order

    @property
    def logs(self) -> list[PageLog]:
        return [self.therapist_log, *(log for _, log in self.opened)]


async def join_group(
    server: Any, browser: Any, *names: str, therapist_init_script: str = ""
) -> GroupPages:
    """A new group room (manual admission, the default) with every page joined, the
    therapist first; members are in the waiting room until a test admits them."""
    room = server.create_room("group", *names)
    therapist_link, *member_links = room["links"]
    therapist, therapist_log = await open_page(
        browser,
        therapist_link["url"],
        viewport=THERAPIST_VIEWPORT,
        init_script=therapist_init_script,
    )
    opened = [
        await open_page(browser, link["url"], viewport=MEMBER_VIEWPORT) for link in member_links
    ]
    members = {link["name"]: page for link, (page, _) in zip(member_links, opened, strict=True)}
    await press_join(therapist)
    await asyncio.gather(*(press_join(page) for page in members.values()))
    return GroupPages(therapist, therapist_log, members, opened)


async def press_join(page: Any, *, keyboard: bool = False) -> None:
    """Press "Join session" once the device check allows it, and wait to be in the room.
    `keyboard`: reach it with Tab and press Enter, as someone without a pointer does."""
    button = page.get_by_role("button", name="Join session", exact=True)
    if keyboard:
        await page.wait_for_function(
            "() => !document.getElementById('join-button').disabled", timeout=JOIN_TIMEOUT_MS
        )
        await tab_to(page, "Join session")
        await page.keyboard.press("Enter")
    else:
        await button.click(timeout=JOIN_TIMEOUT_MS)
    await page.wait_for_function(
        "() => window.__telehealth?.state().state === 'joined'", timeout=JOIN_TIMEOUT_MS
    )


async def page_ready_to_join(page: Any) -> None:
    await page.get_by_role("button", name="Join session", exact=True).wait_for(
        timeout=JOIN_TIMEOUT_MS
    )


# The pages' tab order is short; more presses than this means the control cannot be
# reached from the keyboard (or focus is trapped).
MAX_TABS = 150


async def tab_to(page: Any, name: str) -> None:
    """Press Tab until the focused element's accessible name (aria-label, else its text)
    is `name`; fail if it never is."""
    for _ in range(MAX_TABS):
        await page.keyboard.press("Tab")
        focused = await page.evaluate(
            """() => {
                const e = document.activeElement;
                if (!e || e === document.body) return "";
                return (e.getAttribute("aria-label") ?? e.textContent ?? "").trim();
            }"""
        )
        if focused == name:
            return
    raise AssertionError(f"{name!r} cannot be reached with Tab")


async def press_with_keyboard(page: Any, name: str) -> None:
    """Tab to the control named `name` and press Enter: it works without a pointer."""
    await tab_to(page, name)
    await page.keyboard.press("Enter")


async def client_state(page: Any) -> dict[str, Any]:
    return await page.evaluate("() => window.__telehealth.state()")  # type: ignore[no-any-return]


async def frames_decoded(page: Any) -> dict[str, int]:
    stats = await page.evaluate("() => window.__telehealth.stats()")
    return {member: int(s["framesDecoded"]) for member, s in stats.items()}


async def assert_decoding(
    page: Any, remotes: int, *, timeout_s: float = DECODE_TIMEOUT_S
) -> dict[str, int]:
    """Wait until `remotes` remote videos decode frames, then check every count keeps rising."""
    deadline = time.monotonic() + timeout_s
    first: dict[str, int] = {}
    while time.monotonic() < deadline:
        first = await frames_decoded(page)
        if len(first) >= remotes and all(n > 0 for n in first.values()):
            break
        await asyncio.sleep(0.25)
    state = await client_state(page)
    assert len(first) >= remotes and all(n > 0 for n in first.values()), (
        f"expected {remotes} decoding remote videos within {timeout_s}s, got {first}; "
        f"client state {json.dumps(state)[:800]}"
    )
    await asyncio.sleep(1.0)
    second = await frames_decoded(page)
    for member, count in first.items():
        assert second.get(member, 0) > count, (
            f"video of {member} stopped decoding: {count} -> {second}"
        )
    return second


async def notice(page: Any, *, timeout_ms: int = 15_000) -> tuple[str, str]:
    """The visible notice (code, text) once one is shown."""
    locator = page.locator("#notice")
    await locator.wait_for(state="visible", timeout=timeout_ms)
    return (await locator.get_attribute("data-code") or "", await locator.inner_text())


def token_of(url: str) -> str:
    return url.split("#t=", 1)[1]


def with_token(url: str, token: str) -> str:
    return url.split("#t=", 1)[0] + "#t=" + token


def tamper_signature(token: str) -> str:
    """Change a character in the middle of the signature (the last may hold only padding bits)."""
    header, payload, signature = token.split(".")
    i = len(signature) // 2
    swapped = "A" if signature[i] != "A" else "B"
    return f"{header}.{payload}.{signature[:i]}{swapped}{signature[i + 1 :]}"


def tamper_payload(token: str, **changes: Any) -> str:
    """Re-encode the claims with changes, keeping the original signature."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    encoded = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{encoded}.{signature}"


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))  # type: ignore[no-any-return]


def sign_expired(data_dir: Path, like_token: str) -> str:
    """A correctly signed join token for the same room and person that expired 10 minutes ago."""
    import jwt
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key((data_dir / "signing-key.pem").read_bytes(), None)
    claims = claims_of(like_token)
    now = int(time.time())
    claims.update(iat=now - 7200, nbf=now - 7200, exp=now - 600, jti="expired-test-token")
    return jwt.encode(claims, key, algorithm="EdDSA")  # type: ignore[arg-type]


# Every page decodes every other page's video on this machine's two cores: the time for
# everyone to settle grows with the group (a sixth page settles in ~25 s here).
COMPLETE_TIMEOUT_BASE_S = 20.0
COMPLETE_TIMEOUT_PER_PAGE_S = 8.0
# Opus sends 50 packets a second: a held member's audio may still trickle in for the
# first few milliseconds of the 1.5 s window (the gate closes as the floor moves).
HELD_AUDIO_SLACK = 5
# The window over which held media must not arrive; owed media must rise within the
# longer one (a browser on a loaded 2-core machine can skip a second of rendering).
HELD_WINDOW_S = 1.5
FLOWING_WITHIN_S = 6.0
# Likewise a frame or two already in a decoder when a camera stops reaching a page.
HELD_VIDEO_SLACK = 2


@dataclass(frozen=True)
class Reception:
    """What one page shows and receives of one other member."""

    frames_presented: int  # by the member's <video data-role="remote"> tile
    plays_audio: bool  # the tile's stream holds a live audio track and is playing
    audio_packets: int  # inbound audio RTP packets from that member (getStats)


async def receptions(page: Any) -> dict[str, Reception]:
    tiles = await page.evaluate("() => window.__telehealth.videoFrames()")
    stats = await page.evaluate("() => window.__telehealth.stats()")
    out: dict[str, Reception] = {}
    for tile in tiles:
        member = tile["member"]
        out[member] = Reception(
            frames_presented=int(tile["totalVideoFrames"]),
            plays_audio=tile["liveAudioTracks"] > 0 and not tile["paused"],
            audio_packets=int(stats.get(member, {}).get("audioPacketsReceived", 0)),
        )
    return out


def _missing(
    got: dict[str, Reception],
    expected: set[str],
    silent: set[str],
    names: dict[str, str],
    unseen: set[str] | frozenset[str] = frozenset(),  # members whose video must not be required
) -> list[str]:
    problems = [f"a tile for {names.get(m, m)}, who is not here" for m in set(got) - expected]
    for member in sorted(expected):
        seen = got.get(member)
        who = names.get(member, member)
        if seen is None:
            problems.append(f"no tile for {who}")
            continue
        if seen.frames_presented <= 0 and member not in unseen:
            problems.append(f"no video of {who}")
        if member not in silent and (not seen.plays_audio or seen.audio_packets <= 0):
            problems.append(
                f"no audio of {who} (playing={seen.plays_audio}, packets={seen.audio_packets})"
            )
    return problems


async def assert_media_complete(
    pages: list[Any],
    *,
    silent: set[str] | None = None,
    timeout_s: float | None = None,
    no_video: set[str] | None = None,
) -> None:
    """The shared end check of every group browser test: each page presents every other
    page's video in that member's tile and receives and plays their audio, both keep
    flowing, and no page shows a tile for someone who is not here. `silent`: member ids
    whose audio the floor holds back (their gate is closed): it must not arrive.
    `no_video`: member ids in audio only: nobody's video reaches them, theirs reaches
    nobody (it must not keep flowing), their audio is heard and they hear everyone."""
    silent = silent or set()
    no_video = no_video or set()
    if timeout_s is None:
        timeout_s = COMPLETE_TIMEOUT_BASE_S + COMPLETE_TIMEOUT_PER_PAGE_S * len(pages)
    states = [await client_state(page) for page in pages]
    ids = [state["self"]["id"] for state in states]
    names = {state["self"]["id"]: state["self"]["name"] for state in states}
    expected = [set(ids) - {own} for own in ids]
    deadline = time.monotonic() + timeout_s
    while True:
        first = [await receptions(page) for page in pages]
        problems = {
            names[own]: _missing(
                got, want, silent, names, set(want) if own in no_video else no_video
            )
            for own, got, want in zip(ids, first, expected, strict=True)
        }
        problems = {who: p for who, p in problems.items() if p}
        if not problems:
            break
        assert time.monotonic() < deadline, f"media incomplete after {timeout_s}s: {problems}"
        await asyncio.sleep(0.5)
    await asyncio.sleep(HELD_WINDOW_S)
    second = [await receptions(page) for page in pages]
    stopped, stalled = _flow_problems(ids, names, first, second, expected, silent, no_video)
    # Media owed must rise; it may take a few seconds on a loaded machine (a renderer
    # that skipped a beat), but a stream paused or lost does not come back in that time.
    flowing_deadline = time.monotonic() + FLOWING_WITHIN_S
    while stopped and time.monotonic() < flowing_deadline:
        await asyncio.sleep(0.5)
        second = [await receptions(page) for page in pages]
        stopped, _ = _flow_problems(ids, names, first, second, expected, silent, no_video)
    stalled += stopped
    assert not stalled, f"media stalled: {stalled}"


def _flow_problems(
    ids: list[str],
    names: dict[str, str],
    first: list[dict[str, Reception]],
    second: list[dict[str, Reception]],
    expected: list[set[str]],
    silent: set[str],
    no_video: set[str],
) -> tuple[list[str], list[str]]:
    """Between two snapshots: media owed that did not rise (or whose tile went), and
    media held back (audio-only video, a closed gate's audio) that still arrived."""
    stopped, leaks = [], []
    for own, before, after, want in zip(ids, first, second, expected, strict=True):
        for member in want:
            if member not in after:
                stopped.append(f"{names[own]}: the tile of {names[member]} went away")
                continue
            video_rise = after[member].frames_presented - before[member].frames_presented
            if own in no_video or member in no_video:
                if video_rise > HELD_VIDEO_SLACK:
                    leaks.append(f"{names[own]}: still gets video of {names[member]}")
            elif video_rise <= 0:
                stopped.append(f"{names[own]}: video of {names[member]} stopped")
            audio_rise = after[member].audio_packets - before[member].audio_packets
            if member not in silent and audio_rise <= 0:
                stopped.append(f"{names[own]}: audio of {names[member]} stopped")
            if member in silent and audio_rise > HELD_AUDIO_SLACK:
                leaks.append(
                    f"{names[own]}: hears {names[member]}, whose audio is held "
                    f"({audio_rise} packets)"
                )
    return stopped, leaks
