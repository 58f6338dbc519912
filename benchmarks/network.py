"""Media on emulated real networks (issue 14): P2P, relay and relay over TURN, per
network profile, with real Chromium members behind home NATs and the server behind 1:1
NAT (``tests/network_support.py``: network namespaces; the member's link impaired by
``tests/netem_link.py``, netem in user space, as this kernel has no ``tc netem``).

Profiles, on one member's link, both directions: ``clear``; ``loss`` (5% each way);
``delay`` (100 ms each way: 200 ms RTT); ``cap300`` (300 kbit/s each way, a 30-packet
queue); ``outage`` (every packet lost for 8 s, then clear).

Paths: ``p2p`` (an individual room: the therapist at the clinic, the patient on the
profile's link); ``relay`` (a group room: therapist and Alex at the clinic, Sam on the
link; manual admission); ``turn`` (the same group with ``--ice-policy relay``: every
page and every relay leg through the lab's coturn, use-auth-secret).

Per path and profile:
- ``first_frame_s``: from the impaired member's Join (P2P) or admission (group) until
  their page decodes a frame of every other member;
- ``freeze_s_per_min``: video freeze time per minute over the window
  (``totalFreezesDuration``), for what the impaired member receives (``rx``) and for
  what the others receive from them (``tx``);
- ``concealment``: ``concealedSamples / totalSamplesReceived`` of audio, same split;
- outage only: ``recover_s``, from the network's return until every page decodes
  video from every other page again.

Then the issue's targets: a group of 5 (relay) with one member capped at 300 kbit/s:
that member's audio concealment < 5% and the others' video among themselves unaffected
(their freeze time per minute against the clear run's); recovery after the 8 s outage
< 5 s; join over TURN within 1.5x of the direct relay's first-frame time. The capped
member's figures are taken once it has settled (from 10 s after its admission: its
first seconds, before the relay has its receiver reports, are ``settling``), over
``--seconds``; ``rx_concealment_by_5s`` shows both, slice by slice. With ``--seconds
40`` or more the window holds the relay's first probe (30 s after the pause), whose
cost belongs in the figure. Last-N may pause a camera for a capped member before its
first frame: it then counts as arrived once its audio does and its tile says why.

    flock /tmp/telehealth-browser.lock .venv/bin/python benchmarks/network.py \
        [--seconds 40] [--paths p2p,relay,turn] [--profiles clear,loss,delay,cap300,outage] \
        [--logs DIR]

Needs root (namespaces), Chromium and coturn (scripts/test installs both). The last
line of output is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.browser.browser_support import (
    MEMBER_VIEWPORT,
    THERAPIST_VIEWPORT,
    client_state,
    open_page,
    press_join,
)
from tests.chromium_support import stop_process
from tests.network_support import (
    CLEAR,
    EXT_ADDRESS,
    OUTAGE,
    STUN_PORT,
    Impairment,
    LabServer,
    NetLab,
    Site,
    chromium_in,
    start_server,
)

PROFILES = {
    "clear": CLEAR,
    "loss": Impairment(loss_pct=5),
    "delay": Impairment(delay_ms=100),
    "cap300": Impairment(rate_kbit=300, limit=30),
    "outage": CLEAR,  # joins clear; the outage comes once media flows
}
OUTAGE_S = 8.0
# A capped member's first seconds: its browser's estimate and the relay's last-N
# settle (a step down needs its receiver reports, a second or two); measured apart.
SETTLING_S = 10.0
SLICE_S = 5.0
SETTLE_TIMEOUT_S = 45.0
RECOVER_TIMEOUT_S = 40.0
ADMIT_TIMEOUT_MS = 20_000
TURN_SECRET = "benchmark-turn-secret"


@dataclass
class Session:
    pages: list[Any]  # every page; the impaired member's is `impaired`
    impaired: Any
    ids: list[str]
    joined_at: float  # when the impaired member's media could start


async def stats(page: Any) -> dict[str, dict[str, float]]:
    return await page.evaluate("() => window.__telehealth.stats()")  # type: ignore[no-any-return]


async def open_session(
    kind: str, server: LabServer, clinic: Any, remote: Any, members: int = 2
) -> Session:
    """Pages joined; for groups the therapist admits the clinic members first, then the
    impaired one (the last name)."""
    if kind == "individual":
        room = server.create_room("individual", "Pat")
        t_link, p_link = room["links"]
        therapist, _ = await open_page(clinic, t_link["url"])
        patient, _ = await open_page(remote, p_link["url"])
        await press_join(therapist)
        joined_at = time.monotonic()
        await press_join(patient)
        pages = [therapist, patient]
    else:
        names = [f"Member{i}" for i in range(1, members)] + ["Sam"]
        room = server.create_room("group", *names)
        t_link, *m_links = room["links"]
        therapist, _ = await open_page(clinic, t_link["url"], viewport=THERAPIST_VIEWPORT)
        others = [
            (await open_page(clinic, link["url"], viewport=MEMBER_VIEWPORT))[0]
            for link in m_links[:-1]
        ]
        sam, _ = await open_page(remote, m_links[-1]["url"], viewport=MEMBER_VIEWPORT)
        await press_join(therapist)
        await asyncio.gather(*(press_join(p) for p in [*others, sam]))
        for name in names[:-1]:
            await therapist.get_by_role("button", name=f"Admit {name}", exact=True).click(
                timeout=ADMIT_TIMEOUT_MS
            )
        await wait_decoding([therapist, *others], SETTLE_TIMEOUT_S)
        joined_at = time.monotonic()
        await therapist.get_by_role("button", name="Admit Sam", exact=True).click(
            timeout=ADMIT_TIMEOUT_MS
        )
        pages = [therapist, *others, sam]
    ids = [(await client_state(p))["self"]["id"] for p in pages]
    return Session(pages, pages[-1], ids, joined_at)


async def decoded(pages: list[Any], ids: list[str]) -> list[dict[str, float]]:
    """Per page: frames decoded from each other member (0 if none yet)."""
    out = []
    for page, own in zip(pages, ids, strict=True):
        got = await stats(page)
        out.append({m: float(got.get(m, {}).get("framesDecoded", 0)) for m in ids if m != own})
    return out


async def wait_decoding(pages: list[Any], timeout_s: float) -> float:
    ids = [(await client_state(p))["self"]["id"] for p in pages]
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        if all(n > 0 for page in await decoded(pages, ids) for n in page.values()):
            return time.monotonic() - start
        await asyncio.sleep(0.1)
    raise TimeoutError(f"not every page decodes every other within {timeout_s}s")


async def wait_flowing(session: Session, timeout_s: float) -> None:
    """Every page decodes every other's video, except that the impaired page may get
    audio alone from a member (last-N may pause a camera before its first frame)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        flowing = True
        for page, own in zip(session.pages, session.ids, strict=True):
            got = await stats(page)
            for member in (m for m in session.ids if m != own):
                figures = got.get(member, {})
                video = figures.get("framesDecoded", 0) > 0
                audio = figures.get("totalSamplesReceived", 0) > 0
                flowing &= video or (page is session.impaired and audio)
        if flowing:
            return
        await asyncio.sleep(0.1)
    raise TimeoutError(f"media not flowing between every two pages within {timeout_s}s")


PAUSED_TILES = """() => [...document.querySelectorAll(
  '.tile:has(.tile-note[data-reason="bandwidth"])')].map((t) => t.dataset.member)"""


async def first_frame(session: Session) -> float:
    """Seconds from joined_at until the impaired page decodes every other member, or
    hears one whose camera last-N paused for it (a capped link)."""
    own = session.ids[-1]
    while time.monotonic() - session.joined_at < SETTLE_TIMEOUT_S:
        got = await stats(session.impaired)
        paused = set(await session.impaired.evaluate(PAUSED_TILES))
        if all(
            got.get(m, {}).get("framesDecoded", 0) > 0
            or (m in paused and got.get(m, {}).get("totalSamplesReceived", 0) > 0)
            for m in session.ids
            if m != own
        ):
            return time.monotonic() - session.joined_at
        await asyncio.sleep(0.05)
    raise TimeoutError("no first frame")


def _delta(after: dict[str, float], before: dict[str, float], key: str) -> float:
    a, b = float(after.get(key, 0)), float(before.get(key, 0))
    return a - b if a >= b else a  # a fresh relay leg starts its counts again


async def window(session: Session, seconds: float) -> dict[str, Any]:
    """Freeze time per minute and audio concealment over ``seconds``: ``rx`` what the
    impaired member receives, ``tx`` what the others receive from them, ``others``
    what the others receive from each other."""
    before = await snapshot(session)
    await asyncio.sleep(seconds)
    return summarize(session, before, await snapshot(session), seconds)


async def snapshot(session: Session) -> list[dict[str, dict[str, float]]]:
    return [await stats(p) for p in session.pages]


def summarize(
    session: Session,
    before: list[dict[str, dict[str, float]]],
    after: list[dict[str, dict[str, float]]],
    seconds: float,
) -> dict[str, Any]:
    impaired = session.ids[-1]
    sums: dict[str, dict[str, float]] = {k: {} for k in ("rx", "tx", "others")}
    for own, b, a in zip(session.ids, before, after, strict=True):
        for member, figures in a.items():
            if member == own or member not in session.ids:
                continue
            group = "rx" if own == impaired else "tx" if member == impaired else "others"
            for key in ("totalFreezesDuration", "concealedSamples", "totalSamplesReceived",
                        "framesDecoded"):  # fmt: skip
                value = _delta(figures, b.get(member, {}), key)
                sums[group][key] = sums[group].get(key, 0.0) + value
            sums[group]["streams"] = sums[group].get("streams", 0) + 1
    out: dict[str, Any] = {}
    for group, s in sums.items():
        if not s:
            continue
        streams = s["streams"]
        out[group] = {
            "freeze_s_per_min": round(s["totalFreezesDuration"] / streams / seconds * 60, 2),
            "concealment": round(s["concealedSamples"] / s["totalSamplesReceived"], 4)
            if s["totalSamplesReceived"]
            else None,
            "fps": round(s["framesDecoded"] / streams / seconds, 1),
        }
    return out


async def recover_after_outage(lab: NetLab, site: Site, session: Session) -> float:
    """8 s with every packet lost, then the seconds until all video flows again."""
    lab.impair(site, OUTAGE)
    await asyncio.sleep(OUTAGE_S)
    base = await decoded(session.pages, session.ids)
    lab.impair(site, CLEAR)
    back = time.monotonic()
    while time.monotonic() - back < RECOVER_TIMEOUT_S:
        now = await decoded(session.pages, session.ids)
        # Every stream decodes frames again (a fresh relay leg starts counting at 0).
        if all(
            (n > b + 2) or (n < b and n > 2)
            for page_b, page_n in zip(base, now, strict=True)
            for (b, n) in ((page_b[m], page_n[m]) for m in page_n)
        ):
            return time.monotonic() - back
        await asyncio.sleep(0.1)
    raise TimeoutError(f"no recovery within {RECOVER_TIMEOUT_S}s")


async def close_pages(session: Session) -> None:
    for page in session.pages:
        with contextlib.suppress(Exception):
            await page.context.close()


@contextlib.asynccontextmanager
async def browsers(lab: NetLab, clinic: Site, remote: Site) -> AsyncIterator[tuple[Any, Any]]:
    async with chromium_in(lab, clinic.host) as a, chromium_in(lab, remote.host) as b:
        yield a, b


async def run_profile(
    lab: NetLab, server: LabServer, path: str, profile: str, seconds: float
) -> dict[str, Any]:
    clinic, remote = lab.sites
    kind = "individual" if path == "p2p" else "group"
    lab.impair(remote, PROFILES[profile])
    result: dict[str, Any] = {}
    async with browsers(lab, clinic, remote) as (a, b):
        session = await open_session(kind, server, a, b)
        try:
            result["first_frame_s"] = round(await first_frame(session), 2)
            await wait_flowing(session, SETTLE_TIMEOUT_S)
            if profile == "outage":
                result["recover_s"] = round(await recover_after_outage(lab, remote, session), 2)
            else:
                result.update(await window(session, seconds))
        except TimeoutError as error:
            result["error"] = str(error)
        finally:
            await close_pages(session)
            lab.impair(remote, CLEAR)
    return result


async def capped_group_of_five(lab: NetLab, server: LabServer, seconds: float) -> dict[str, Any]:
    clinic, remote = lab.sites
    out: dict[str, Any] = {}
    for label, impairment in (("clear", CLEAR), ("capped", PROFILES["cap300"])):
        lab.impair(remote, impairment)
        async with browsers(lab, clinic, remote) as (a, b):
            session = await open_session("group", server, a, b, members=4)
            try:
                await wait_flowing(session, SETTLE_TIMEOUT_S + 20)
                out[label] = await settling_then_steady(session, seconds)
            except TimeoutError as error:
                out[label] = {"error": str(error)}
            finally:
                await close_pages(session)
                lab.impair(remote, CLEAR)
    return out


async def settling_then_steady(session: Session, seconds: float) -> dict[str, Any]:
    """The window as ``window`` does, after ``SETTLING_S`` from the impaired member's
    admission (its own figures under ``settling``), and the impaired member's audio
    concealment in 5 s slices over both, to show when it settles."""
    marks = [await snapshot(session)]
    started = time.monotonic()
    slices = max(1, round((SETTLING_S - (started - session.joined_at)) / SLICE_S))
    slices += max(1, round(seconds / SLICE_S))
    for index in range(1, slices + 1):
        await asyncio.sleep(max(0.0, started + index * SLICE_S - time.monotonic()))
        marks.append(await snapshot(session))
    settled_at = slices - max(1, round(seconds / SLICE_S))
    out = summarize(session, marks[settled_at], marks[-1], (slices - settled_at) * SLICE_S)
    out["settling"] = summarize(session, marks[0], marks[settled_at], settled_at * SLICE_S)
    out["rx_concealment_by_5s"] = [
        summarize(session, a, b, SLICE_S).get("rx", {}).get("concealment")
        for a, b in itertools.pairwise(marks)
    ]
    return out


def server_args(path: str) -> list[str]:
    if path != "turn":
        return []
    turn = f"turn:{EXT_ADDRESS}:{STUN_PORT}?transport=udp"
    return ["--turn", turn, "--turn-secret", TURN_SECRET, "--ice-policy", "relay"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=40.0, help="measuring window")
    parser.add_argument("--paths", default="p2p,relay,turn")
    parser.add_argument("--profiles", default=",".join(PROFILES))
    parser.add_argument("--no-group-of-five", action="store_true")
    parser.add_argument(
        "--logs", type=Path, help="keep each path's server log here (last-N decisions, ...)"
    )
    args = parser.parse_args()
    # SIGTERM unwinds like Ctrl-C, so the lab (namespaces, coturn, the server) goes.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    return asyncio.run(run(args))


async def run(args: argparse.Namespace) -> int:
    results: dict[str, Any] = {"paths": {}}
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="telehealth-network-") as tmp,
        NetLab.create(Path(tmp)) as lab,
    ):
        lab.add_site()
        lab.add_site()
        lab.start_coturn(TURN_SECRET)
        results["relay_mode"] = lab.relay_mode
        print(f"lab: relay reachability {lab.relay_mode}; member link netem in user space")
        for path in args.paths.split(","):
            server = start_server(lab, Path(tmp) / f"data-{path}", *server_args(path))
            try:
                per_profile: dict[str, Any] = {}
                for profile in args.profiles.split(","):
                    figures = await run_profile(lab, server, path, profile, args.seconds)
                    per_profile[profile] = figures
                    print(f"{path:6} {profile:7} {json.dumps(figures)}", flush=True)
                results["paths"][path] = per_profile
                if path == "relay" and not args.no_group_of_five:
                    five = await capped_group_of_five(lab, server, args.seconds)
                    results["group_of_five_capped"] = five
                    print(f"group of 5, one capped at 300 kbit/s: {json.dumps(five)}", flush=True)
            finally:
                stop_process(server.process)
                if args.logs is not None:
                    args.logs.mkdir(parents=True, exist_ok=True)
                    shutil.copy(server.log_path, args.logs / f"server-{path}.log")
    results["targets"] = targets(results)
    results["seconds"] = round(time.monotonic() - started, 1)
    for name, verdict in results["targets"].items():
        print(f"target {name}: {verdict}")
    print(json.dumps(results))
    return 0


def targets(results: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    paths = results["paths"]
    recoveries = {
        p: v.get("outage", {}).get("recover_s") for p, v in paths.items() if "outage" in v
    }
    if recoveries:
        worst = max((r for r in recoveries.values() if r is not None), default=None)
        out["recover_under_5s"] = {
            "by_path": recoveries,
            "met": worst is not None and None not in recoveries.values() and worst < 5.0,
        }
    direct = paths.get("relay", {}).get("clear", {}).get("first_frame_s")
    turn = paths.get("turn", {}).get("clear", {}).get("first_frame_s")
    if direct and turn:
        out["turn_join_within_1_5x"] = {
            "direct_s": direct,
            "turn_s": turn,
            "ratio": round(turn / direct, 2),
            "met": turn <= 1.5 * direct,
        }
    five = results.get("group_of_five_capped")
    if five and "capped" in five and "rx" in five["capped"]:
        concealment = five["capped"]["rx"]["concealment"]
        clear_others = five.get("clear", {}).get("others", {})
        capped_others = five["capped"].get("others", {})
        out["capped_member_concealment_under_5pct"] = {
            "concealment": concealment,
            "met": concealment is not None and concealment < 0.05,
        }
        out["others_video_unaffected"] = {
            "clear": clear_others,
            "capped": capped_others,
            # "Unaffected": no more than 1 s/min more freezing, at least 90% of the frame rate.
            "met": bool(clear_others and capped_others)
            and capped_others["freeze_s_per_min"] <= clear_others["freeze_s_per_min"] + 1.0
            and capped_others["fps"] >= 0.9 * clear_others["fps"],
        }
    return out


if __name__ == "__main__":
    sys.exit(main())
