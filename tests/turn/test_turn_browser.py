"""Chromium over a real coturn with `--ice-policy relay`: P2P and group sessions.

Every page's selected candidate pair starts at its TURN allocation, no page ever
sees another member's own address, and TURN credentials that expired during the
session are replaced before a connection needs new ones (short --turn-ttl-seconds:
an ICE restart or a fresh relay leg after the first credentials expired).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.browser.browser_support import (
    Server,
    assert_decoding,
    assert_media_complete,
    open_page,
    press_join,
    running_server,
)
from tests.chromium_support import headless_chromium
from tests.turn.coturn import Coturn

pytestmark = [pytest.mark.turn, pytest.mark.browser, pytest.mark.timeout(120)]

# Credentials live 6 s: pages renew them every 3 s, and by the time a session is up
# the first ones have expired.
TURN_TTL_S = 6
# One UDP port for every relay leg (muxed); ranges are tested with aiortc members.
RTC_PORT = 47300

# Test instrumentation: every peer connection a page makes, and every configuration
# it is given (at construction and by setConfiguration), so the test can read their
# selected pairs and the TURN credentials they use.
RECORD_PEER_CONNECTIONS = """
window.__pcs = [];
window.__iceConfigs = [];
const NativePeerConnection = window.RTCPeerConnection;
window.RTCPeerConnection = class extends NativePeerConnection {
  constructor(config, ...rest) {
    super(config, ...rest);
    window.__pcs.push(this);
    window.__iceConfigs.push({ at: Date.now(), config: JSON.parse(JSON.stringify(config ?? {})) });
  }
  setConfiguration(config) {
    window.__iceConfigs.push({ at: Date.now(), config: JSON.parse(JSON.stringify(config ?? {})) });
    return super.setConfiguration(config);
  }
};
"""

# Per open peer connection: its policy, selected pair and every candidate's type.
ROUTES = """
async () => {
  const out = [];
  for (const pc of window.__pcs) {
    if (pc.connectionState !== "connected") continue;
    const stats = await pc.getStats();
    let pairId = null;
    const locals = [], remotes = [];
    stats.forEach((r) => {
      if (r.type === "transport" && r.selectedCandidatePairId) pairId = r.selectedCandidatePairId;
      if (r.type === "local-candidate") locals.push(r.candidateType);
      if (r.type === "remote-candidate") remotes.push(r.candidateType);
    });
    const pair = pairId ? stats.get(pairId) : null;
    const local = pair ? stats.get(pair.localCandidateId) : null;
    const remote = pair ? stats.get(pair.remoteCandidateId) : null;
    const sdp = pc.remoteDescription?.sdp ?? "";
    out.push({
      policy: pc.getConfiguration().iceTransportPolicy,
      local: local?.candidateType ?? null,
      localAddress: local ? `${local.address}:${local.port}` : null,
      relayProtocol: local?.relayProtocol ?? null,
      remote: remote?.candidateType ?? null,
      localTypes: locals,
      remoteTypes: remotes,
      remoteSdpTypes: [...sdp.matchAll(/ typ (\\w+)/g)].map((m) => m[1]),
    });
  }
  return out;
}
"""

# The TURN usernames ("EXPIRY:ID") of every configuration the page gave, in order.
TURN_USERNAMES = """
() => window.__iceConfigs.flatMap(({ config }) =>
  (config.iceServers ?? []).filter((s) => s.username).map((s) => s.username))
"""


def _server(tmp: Path, coturn: Coturn, *turn_urls: str, extra: tuple[str, ...] = ()) -> Any:
    args = [
        "--test-hooks",
        "--turn-secret",
        coturn.secret,
        "--turn-ttl-seconds",
        str(TURN_TTL_S),
        "--ice-policy",
        "relay",
        *extra,
    ]
    for url in turn_urls:
        args += ["--turn", url]
    return running_server(tmp, *args)


@pytest.fixture(scope="module")
def p2p_server(tmp_path_factory: pytest.TempPathFactory, coturn: Coturn) -> Iterator[Server]:
    with _server(tmp_path_factory.mktemp("turn-p2p"), coturn, coturn.url("udp")) as server:
        yield server


@pytest.fixture(scope="module")
def group_server(tmp_path_factory: pytest.TempPathFactory, coturn: Coturn) -> Iterator[Server]:
    # TURN over TCP only: members reach the relay as they would with UDP blocked.
    with _server(
        tmp_path_factory.mktemp("turn-group"),
        coturn,
        coturn.url("tcp"),
        extra=("--rtc-ports", str(RTC_PORT)),
    ) as server:
        yield server


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Any]:
    async with headless_chromium() as chromium:
        yield chromium


async def routes(page: Any) -> list[dict[str, Any]]:
    return await page.evaluate(ROUTES)  # type: ignore[no-any-return]


def expiry(username: str) -> int:
    return int(username.split(":", 1)[0])


async def wait_until_first_credentials_expired(page: Any) -> int:
    """Until the first TURN credentials this page was given have expired (by the wall
    time in their username, as coturn reads it); returns their expiry."""
    first = expiry((await page.evaluate(TURN_USERNAMES))[0])
    await page.wait_for_function(f"() => Date.now() / 1000 > {first} + 1", timeout=30_000)
    return first


async def newest_expiry(page: Any) -> int:
    return max(expiry(name) for name in await page.evaluate(TURN_USERNAMES))


def _udp_ports_of(pid: int) -> set[int]:
    """The local ports of every UDP socket process ``pid`` holds (from /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = fd.readlink().as_posix()
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    ports = set()
    for table in ("udp", "udp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


async def test_p2p_session_goes_through_turn_only_and_renews_its_credentials(
    p2p_server: Server, browser: Any
) -> None:
    room = p2p_server.create_room("individual", "Pat")
    opened = [
        await open_page(browser, link["url"], init_script=RECORD_PEER_CONNECTIONS)
        for link in room["links"]
    ]
    therapist, patient = (page for page, _ in opened)
    # The patient's connection check reaches the server's media through TURN only.
    await patient.get_by_role("button", name="Check my connection").click()
    await patient.wait_for_selector('[data-testid="connection-check"][data-state="done"]')
    rows = await patient.get_by_test_id("connection-check").locator("dd").all_inner_texts()
    assert rows[1].startswith("reaches the session server through the relay server (TURN)"), rows
    started = time.monotonic()
    await press_join(therapist)
    await press_join(patient)
    await assert_decoding(therapist, remotes=1)
    await assert_decoding(patient, remotes=1)
    joined_in = time.monotonic() - started

    before = {}
    for name, page in (("therapist", therapist), ("patient", patient)):
        [route] = await routes(page)
        assert route["policy"] == "relay", route
        assert route["local"] == "relay" and route["remote"] == "relay", route
        # Neither page ever learns an address of the other's but coturn's.
        assert set(route["remoteTypes"]) == {"relay"}, route
        assert set(route["localTypes"]) == {"relay"}, route
        before[name] = route["localAddress"]

    # The first credentials expire; the pages were handed new ones before that (each
    # link's configuration was updated, for its next ICE restart).
    for page in (therapist, patient):
        first = await wait_until_first_credentials_expired(page)
        assert await newest_expiry(page) > first
    # An ICE restart now needs new TURN allocations: it works only with the new ones.
    await therapist.evaluate("() => window.__telehealth.failMedia()")
    for name, page in (("therapist", therapist), ("patient", patient)):
        await page.wait_for_function(
            f"""async () => {{
              const routes = await ({ROUTES})();
              return routes.length === 1 && routes[0].local === "relay"
                && routes[0].localAddress !== {before[name]!r};
            }}""",
            timeout=30_000,
        )
        [route] = await routes(page)
        assert route["local"] == "relay" and route["remote"] == "relay", route
    await assert_decoding(therapist, remotes=1)
    await assert_decoding(patient, remotes=1)
    for _, log in opened:
        assert log.errors == []
    print(f"P2P over TURN (UDP), relay-only: both pages decoding {joined_in:.1f} s after Join")


async def test_group_session_reaches_the_relay_on_one_port_through_turn_over_tcp_only(
    group_server: Server, browser: Any
) -> None:
    room = group_server.create_room("group", "Alex", "Sam")  # manual admission, the default
    opened = [
        await open_page(browser, link["url"], init_script=RECORD_PEER_CONNECTIONS)
        for link in room["links"]
    ]
    pages = [page for page, _ in opened]
    therapist, alex, _sam = pages
    started = time.monotonic()
    await asyncio.gather(*(press_join(page) for page in pages))
    for name in ("Alex", "Sam"):
        await therapist.get_by_role("button", name=f"Admit {name}", exact=True).click(
            timeout=10_000
        )
    await assert_media_complete(pages)
    complete_in = time.monotonic() - started

    for page in pages:
        [route] = await routes(page)
        assert route["policy"] == "relay", route
        assert route["local"] == "relay" and route["relayProtocol"] == "tcp", route
        assert set(route["localTypes"]) == {"relay"}, route

    # Every UDP socket of the server (the relay's legs; its TURN client is on TCP) is
    # on the one --rtc-ports port, which all three legs share.
    assert _udp_ports_of(group_server.process.pid) == {RTC_PORT}

    # After the first credentials expired, a fresh relay leg (what a member's page
    # opens after a network change) still gets a TURN allocation.
    first = await wait_until_first_credentials_expired(alex)
    await alex.evaluate("() => window.__telehealth.failMedia()")
    await alex.wait_for_function(
        "() => { const s = window.__telehealth.state().links;"
        " return s.legs >= 2 && s.relay === 'connected'; }",
        timeout=30_000,
    )
    [route] = await routes(alex)
    assert route["local"] == "relay" and route["relayProtocol"] == "tcp", route
    assert await newest_expiry(alex) > first  # the new leg's, renewed with net.ice
    await assert_media_complete(pages)
    for _, log in opened:
        assert log.errors == []
    print(f"group of 3 over TURN (TCP), relay-only: media complete {complete_in:.1f} s after Join")
