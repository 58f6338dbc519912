"""Real networks for media tests: network namespaces, veth pairs, NAT, impaired links.

One ``NetLab`` is a small internet of its own, made of network namespaces (the tests
run as root) and torn down afterwards, whatever happened::

    core ("the internet", a router; it also does the server's 1:1 NAT)
     |-- server   10.77.0.2 private, 203.0.113.10 public (iptables DNAT + SNAT in core)
     |-- ext      203.0.113.3: coturn (STUN for everyone, TURN when a run asks for it)
     |-- router K 198.18.K.2 public, MASQUERADE  ==  host K 192.168.K.2 (a home network)

``--`` are veth pairs; ``==``, a member's own link, is ``tests/netem_link.py``: netem's
delay, loss, rate cap and outage in user space between two TUN devices, because this
machine's kernel has no ``tc netem`` (nor tbf, nor classifiers). Only members' links
are impaired, never loopback: Redis and the rest of the machine are untouched; so are
the machine's own namespace and its iptables (every rule lives in a lab namespace and
goes with it).

Members' pages run in Chromium inside a host namespace, started through a wrapper
script around the executable (``ip netns exec HOST /usr/bin/chromium "$@"``) given to
Playwright as ``executable_path``; Playwright drives Chromium over a pipe, so nothing
has to cross the namespaces but the media and the pages' own connections. The server
(``telehealth serve``) runs in the server namespace, as the other browser tests start
it, with join links on the public address.

Relay media and the 1:1 NAT: with ``--rtc-announce-ip`` (when the server has it), the
relay announces 203.0.113.10 and the server's private address is unreachable from
outside, as on a cloud VM. Without it, the relay announces its host address only, so
the lab routes the server's private network from the internet and does not rewrite the
relay's UDP (HTTP still goes through DNAT/SNAT): ``NetLab.relay_mode`` tells which.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.browser.browser_support import ServerCommands
from tests.chromium_support import CHROMIUM, CHROMIUM_ARGS, stop_process

REPO = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-c", "import sys; from server.cli.main import main; sys.exit(main())"]
IP = shutil.which("ip") or "/usr/sbin/ip"
IPTABLES = shutil.which("iptables") or "/usr/sbin/iptables"
NETEM_LINK = Path(__file__).resolve().parent / "netem_link.py"
TURNSERVER = shutil.which("turnserver") or "/usr/bin/turnserver"
COMMAND_TIMEOUT_S = 10.0
STARTUP_TIMEOUT_S = 30.0

PREFIX = "thnet"  # every lab namespace's name starts with this, then the creator's pid
SERVER_PRIVATE = "10.77.0.2"
SERVER_PUBLIC = "203.0.113.10"
EXT_ADDRESS = "203.0.113.3"
SERVER_PORT = 8080
STUN_PORT = 3478
RTC_PORTS = "50000-50199"

_sequence = itertools.count(1)


class NetError(RuntimeError):
    pass


def run(*args: str, check: bool = True, timeout: float = COMMAND_TIMEOUT_S) -> str:
    result = subprocess.run(
        list(args), capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and result.returncode != 0:
        raise NetError(f"{' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}")
    return result.stdout


def list_namespaces() -> list[str]:
    return [line.split()[0] for line in run(IP, "netns", "list").splitlines() if line.strip()]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale_labs() -> list[str]:
    """Delete lab namespaces whose creating process is gone (a run killed with -9)."""
    removed = []
    for name in list_namespaces():
        parts = name.split("-")
        if len(parts) < 3 or parts[0] != PREFIX or not parts[1].isdigit():
            continue
        if _pid_alive(int(parts[1])):
            continue
        _delete_namespace(name)
        removed.append(name)
    return removed


def _delete_namespace(name: str) -> None:
    """Stop what still runs in it (only our own processes ever run in a lab namespace)."""
    with contextlib.suppress(NetError, subprocess.TimeoutExpired):
        for pid in run(IP, "netns", "pids", name, check=False).split():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
    with contextlib.suppress(NetError, subprocess.TimeoutExpired):
        run(IP, "netns", "del", name, check=False)


@dataclass(frozen=True)
class Impairment:
    """One direction's netem: delay (ms), jitter (ms), loss (%), rate (kbit/s) and the
    queue limit in packets (a short queue for a capped link, as a home router has)."""

    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    loss_pct: float = 0.0
    rate_kbit: float = 0.0
    limit: int = 1000

    def spec(self) -> dict[str, float]:
        return {
            "delay_ms": self.delay_ms,
            "jitter_ms": self.jitter_ms,
            "loss_pct": self.loss_pct,
            "rate_kbit": self.rate_kbit,
            "limit": self.limit,
        }


# The conditions the tests and the benchmark use (each direction of the member's link).
CLEAR = Impairment()
LOSSY_SLOW = Impairment(delay_ms=100, loss_pct=10)  # 200 ms RTT, 10% loss each way
OUTAGE = Impairment(loss_pct=100)


@dataclass
class Site:
    """A home network: a host namespace behind its own NAT router, joined to it by an
    impairable link (``tests/netem_link.py``)."""

    index: int
    host: str  # namespace of the person's machine
    router: str  # namespace of their NAT router
    public_ip: str
    link: subprocess.Popen[str]
    networks: int = 1  # how many networks it has been on (switch_network adds one)


@dataclass
class NetLab:
    """Build with ``with NetLab.create(announce=...) as lab:``; see the module docstring."""

    tag: str
    announce: bool
    namespaces: list[str] = field(default_factory=list)
    sites: list[Site] = field(default_factory=list)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    links: list[subprocess.Popen[str]] = field(default_factory=list)
    workdir: Path | None = None

    @property
    def relay_mode(self) -> str:
        return "announced-1to1-nat" if self.announce else "routed-private-address"

    @property
    def core(self) -> str:
        return f"{self.tag}-core"

    @property
    def server_ns(self) -> str:
        return f"{self.tag}-srv"

    @property
    def ext_ns(self) -> str:
        return f"{self.tag}-ext"

    @classmethod
    @contextlib.contextmanager
    def create(cls, workdir: Path, *, announce: bool | None = None) -> Iterator[NetLab]:
        sweep_stale_labs()
        if announce is None:
            announce = server_has_rtc_announce()
        lab = cls(f"{PREFIX}-{os.getpid()}-{next(_sequence)}", announce, workdir=workdir)
        try:
            lab._build()
            yield lab
        finally:
            lab.destroy()

    # --- building ---------------------------------------------------------------

    def _ns(self, name: str) -> str:
        run(IP, "netns", "add", name)
        self.namespaces.append(name)
        self.sh(name, IP, "link", "set", "lo", "up")
        return name

    def sh(self, ns: str, *args: str, check: bool = True) -> str:
        return run(IP, "netns", "exec", ns, *args, check=check)

    def _veth(self, a_ns: str, a_if: str, a_addr: str, b_ns: str, b_if: str, b_addr: str) -> None:
        # Made directly inside the two namespaces: no name ever appears in the machine's own.
        run(IP, "link", "add", a_if, "netns", a_ns, "type", "veth", "peer", "name", b_if,
            "netns", b_ns)  # fmt: skip
        for ns, ifname, addr in ((a_ns, a_if, a_addr), (b_ns, b_if, b_addr)):
            self.sh(ns, IP, "addr", "add", addr, "dev", ifname)
            self.sh(ns, IP, "link", "set", ifname, "up")

    def _forwarding(self, ns: str) -> None:
        self.sh(ns, "sysctl", "-qw", "net.ipv4.ip_forward=1")

    def _build(self) -> None:
        core, srv, ext = self._ns(self.core), self._ns(self.server_ns), self._ns(self.ext_ns)
        self._forwarding(core)
        self._veth(core, "srv", "10.77.0.1/24", srv, "eth0", f"{SERVER_PRIVATE}/24")
        self.sh(srv, IP, "route", "add", "default", "via", "10.77.0.1")
        self._veth(core, "ext", "203.0.113.1/29", ext, "eth0", f"{EXT_ADDRESS}/29")
        self.sh(ext, IP, "route", "add", "default", "via", "203.0.113.1")
        # The server's 1:1 NAT (a cloud VM's public address).
        ipt = [IP, "netns", "exec", core, IPTABLES]
        run(*ipt, "-t", "nat", "-A", "PREROUTING", "-d", SERVER_PUBLIC, "-j", "DNAT",
            "--to-destination", SERVER_PRIVATE)  # fmt: skip
        if self.announce:
            run(*ipt, "-t", "nat", "-A", "POSTROUTING", "-s", SERVER_PRIVATE, "-j", "SNAT",
                "--to-source", SERVER_PUBLIC)  # fmt: skip
            # Its private address is not reachable from outside, only through the NAT
            # (what was sent to the private address itself is dropped; replies to the
            # server's own connections, e.g. to TURN, pass).
            run(*ipt, "-A", "FORWARD", "-o", "srv", "-m", "conntrack", "--ctorigdst",
                "10.77.0.0/24", "-j", "DROP")  # fmt: skip
        else:
            # No announced address: the relay's host candidate must be reachable, so its
            # UDP keeps the private address (routed); everything else is 1:1 NATed.
            run(*ipt, "-t", "nat", "-A", "POSTROUTING", "-s", SERVER_PRIVATE, "!", "-p",
                "udp", "-j", "SNAT", "--to-source", SERVER_PUBLIC)  # fmt: skip

    def _home_nat(self, router: str) -> None:
        """MASQUERADE, and a home router's firewall: unsolicited packets from outside are
        dropped before conntrack keeps them. Without that, a peer's first ICE check
        (before ours went out) would hold our port and the NAT would map us to another
        one, which no NAT in front of a person does (RFC 4787 endpoint-independent
        mapping); with it, hole punching works as through a real home router."""
        self.sh(router, IPTABLES, "-t", "nat", "-A", "POSTROUTING", "-o", "wan", "-j",
                "MASQUERADE")  # fmt: skip
        for chain in ("INPUT", "FORWARD"):
            self.sh(router, IPTABLES, "-A", chain, "-i", "wan", "-m", "conntrack", "--ctstate",
                    "NEW,INVALID", "-j", "DROP")  # fmt: skip

    def add_site(self) -> Site:
        """A new home network (host behind a MASQUERADE router) on the internet."""
        k = len(self.sites) + 1
        router = self._ns(f"{self.tag}-r{k}")
        host = self._ns(f"{self.tag}-h{k}")
        public = f"198.18.{k}.2"
        self._forwarding(router)
        self._veth(self.core, f"r{k}", f"198.18.{k}.1/24", router, "wan", f"{public}/24")
        self.sh(router, IP, "route", "add", "default", "via", f"198.18.{k}.1")
        link = self._impairable_link(
            host, "eth0", f"192.168.{k}.2", router, "lan", f"192.168.{k}.1"
        )
        self.sh(host, IP, "route", "add", "default", "via", f"192.168.{k}.1")
        self._home_nat(router)
        site = Site(k, host, router, public, link)
        self.sites.append(site)
        return site

    def switch_network(self, site: Site) -> str:
        """The host leaves its network for another one (Wi-Fi to mobile data): a new
        router with another public address, a new private address, the old link gone.
        Returns the new public address. Impairments on the old link go with it."""
        n = site.networks + 1
        k = site.index + 100 * (n - 1)
        router = self._ns(f"{self.tag}-r{site.index}n{n}")
        public = f"198.19.{k % 256}.2"
        self._forwarding(router)
        self._veth(self.core, f"r{site.index}n{n}", f"198.19.{k % 256}.1/24", router, "wan",
                   f"{public}/24")  # fmt: skip
        self.sh(router, IP, "route", "add", "default", "via", f"198.19.{k % 256}.1")
        self._home_nat(router)
        new_link = self._impairable_link(site.host, f"eth{n - 1}", f"10.{site.index}.{n}.2",
                                         router, "lan", f"10.{site.index}.{n}.1")  # fmt: skip
        # The old link goes away (its devices vanish with its process), then the route.
        self._stop_link(site.link)
        self.sh(site.host, IP, "route", "replace", "default", "via", f"10.{site.index}.{n}.1")
        site.link, site.router, site.public_ip, site.networks = new_link, router, public, n
        return public

    # --- conditions ---------------------------------------------------------------

    def impair(self, site: Site, up: Impairment, down: Impairment | None = None) -> None:
        """Impair the host's link: ``up`` from the host, ``down`` (default: the same)
        toward it. ``CLEAR`` removes it."""
        down = down if down is not None else up
        self._command(site.link, {"up": up.spec(), "down": down.spec()})

    def _impairable_link(
        self, a_ns: str, a_if: str, a_ip: str, b_ns: str, b_if: str, b_ip: str
    ) -> subprocess.Popen[str]:
        """A point-to-point link ``a`` <-> ``b`` through ``tests/netem_link.py``."""
        process = subprocess.Popen(
            [sys.executable, str(NETEM_LINK), a_ns, a_if, b_ns, b_if],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.links.append(process)
        self._reply(process, "ready")
        for ns, ifname, own, peer in ((a_ns, a_if, a_ip, b_ip), (b_ns, b_if, b_ip, a_ip)):
            self.sh(ns, IP, "addr", "add", own, "peer", f"{peer}/32", "dev", ifname)
            self.sh(ns, IP, "link", "set", ifname, "up")
        return process

    def _command(self, link: subprocess.Popen[str], spec: dict[str, Any]) -> None:
        assert link.stdin is not None
        link.stdin.write(json.dumps(spec) + "\n")
        link.stdin.flush()
        self._reply(link, "ok")

    @staticmethod
    def _reply(link: subprocess.Popen[str], expected: str) -> None:
        assert link.stdout is not None
        ready, _, _ = select.select([link.stdout], [], [], COMMAND_TIMEOUT_S)
        line = link.stdout.readline().strip() if ready else ""
        if line != expected:
            raise NetError(f"netem link answered {line!r} (exit code {link.poll()})")

    @staticmethod
    def _stop_link(link: subprocess.Popen[str]) -> None:
        if link.poll() is None:
            link.terminate()
            try:
                link.wait(timeout=5)
            except subprocess.TimeoutExpired:
                link.kill()
                link.wait(timeout=5)
        for pipe in (link.stdin, link.stdout):
            with contextlib.suppress(OSError):
                if pipe is not None:
                    pipe.close()

    # --- processes ------------------------------------------------------------------

    def spawn(self, ns: str, args: list[str], log: Path, **kwargs: Any) -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            process = subprocess.Popen(
                [IP, "netns", "exec", ns, *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **kwargs,
            )
        self.processes.append(process)
        return process

    def start_coturn(self, secret: str = "lab-turn-secret") -> str:
        """coturn in the ext namespace (STUN, and TURN with use-auth-secret); the secret."""
        assert self.workdir is not None
        log = self.workdir / f"{self.tag}-coturn.log"
        process = self.spawn(
            self.ext_ns,
            [
                TURNSERVER, "-n", "--no-cli", "--no-tls", "--no-dtls", "--fingerprint",
                "--listening-ip", EXT_ADDRESS, "--relay-ip", EXT_ADDRESS,
                "--listening-port", str(STUN_PORT), "--min-port", "49152",
                "--max-port", "49407", "--use-auth-secret", "--static-auth-secret", secret,
                "--realm", "telehealth.test", "--log-file", "stdout", "--simple-log",
                "--allowed-peer-ip", "10.77.0.0-10.77.0.255",
                "--allowed-peer-ip", "198.18.0.0-198.19.255.255",
                "--allowed-peer-ip", "203.0.113.0-203.0.113.255",
            ],
            log,
        )  # fmt: skip
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise NetError(f"coturn exited:\n{log.read_text(errors='replace')[-2000:]}")
            listening = self.sh(self.ext_ns, "ss", "-Hlun", f"sport = :{STUN_PORT}", check=False)
            if EXT_ADDRESS in listening:
                return secret
            time.sleep(0.1)
        raise NetError("coturn did not listen in time")

    def destroy(self) -> None:
        for process in reversed(self.processes):
            with contextlib.suppress(Exception):
                stop_process(process)
        for link in self.links:
            with contextlib.suppress(Exception):
                self._stop_link(link)
        for name in reversed(self.namespaces):
            _delete_namespace(name)
        self.namespaces.clear()


def server_has_rtc_announce() -> bool:
    """Whether this tree's server takes --rtc-announce-ip (another change adds it)."""
    result = subprocess.run(
        [*CLI, "serve", "--help"], cwd=REPO, capture_output=True, text=True, timeout=30, check=False
    )
    return "--rtc-announce-ip" in result.stdout


@dataclass
class LabServer(ServerCommands):
    """``telehealth serve`` in the lab's server namespace; same CLI helpers as the
    browser tests' ``Server`` (``create_room``, ``invite``), run in that namespace."""

    lab: NetLab
    data_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    base_url: str = f"http://{SERVER_PUBLIC}:{SERVER_PORT}"
    rooms: list[str] = field(default_factory=list)

    def cli_text(self, *args: str) -> str:
        result = subprocess.run(
            [
                IP,
                "netns",
                "exec",
                self.lab.server_ns,
                *CLI,
                *args,
                "--data-dir",
                str(self.data_dir),
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert result.returncode == 0, f"telehealth {' '.join(args)} failed:\n{result.stderr}"
        return result.stdout.strip()


def start_server(lab: NetLab, data_dir: Path, *extra: str) -> LabServer:
    """The server in its namespace on 0.0.0.0:8080, links on the public address, with
    the test hooks, STUN from the lab's coturn (start it first) and, when the server
    has them, the relay's announced address and port range."""
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "server.log"
    args = [
        *CLI, "serve", "--host", "0.0.0.0", "--port", str(SERVER_PORT),
        "--data-dir", str(data_dir), "--public-url", f"http://{SERVER_PUBLIC}:{SERVER_PORT}",
        "--test-hooks", "--stun", f"stun:{EXT_ADDRESS}:{STUN_PORT}",
    ]  # fmt: skip
    if lab.announce:
        args += ["--rtc-announce-ip", SERVER_PUBLIC, "--rtc-ports", RTC_PORTS]
    process = lab.spawn(lab.server_ns, [*args, *extra], log_path, cwd=REPO)
    check = [
        sys.executable, "-c",
        "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)",
        f"http://127.0.0.1:{SERVER_PORT}/healthz",
    ]  # fmt: skip
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise NetError(f"server exited:\n{log_path.read_text(errors='replace')[-3000:]}")
        if subprocess.run([IP, "netns", "exec", lab.server_ns, *check], capture_output=True,
                          timeout=10, check=False).returncode == 0:  # fmt: skip
            return LabServer(lab, data_dir, process, log_path)
        time.sleep(0.2)
    raise NetError(f"server not healthy:\n{log_path.read_text(errors='replace')[-3000:]}")


def chromium_wrapper(lab: NetLab, ns: str) -> Path:
    """An executable that starts Chromium inside ``ns`` (for Playwright's executable_path)."""
    assert lab.workdir is not None
    path = lab.workdir / f"chromium-{ns}.sh"
    path.write_text(f'#!/bin/sh\nexec {IP} netns exec {ns} {CHROMIUM} "$@"\n')
    path.chmod(0o755)
    return path


# Records every RTCPeerConnection a page makes, so a test or the benchmark can read
# figures the client does not report (freezes, concealed audio) straight from getStats.
RECORD_PEER_CONNECTIONS = """
(() => {
  const Original = window.RTCPeerConnection;
  const made = [];
  window.__peerConnections = made;
  function Recorded(...args) {
    const pc = new Original(...args);
    made.push(pc);
    return pc;
  }
  Recorded.prototype = Original.prototype;
  Object.setPrototypeOf(Recorded, Original);
  window.RTCPeerConnection = Recorded;
})();
"""


@contextlib.asynccontextmanager
async def chromium_in(lab: NetLab, ns: str, fake_devices: str = "fps=15") -> AsyncIterator[Any]:
    """Headless Chromium whose network is namespace ``ns`` (its own person's machine)."""
    from playwright.async_api import async_playwright

    fake = "--use-fake-device-for-media-stream"
    args = [f"{fake}={fake_devices}" if a.startswith(fake) else a for a in CHROMIUM_ARGS]
    # The pages' origin is the server's public address over plain HTTP: let it use the
    # camera as a real deployment's HTTPS origin would.
    args.append(f"--unsafely-treat-insecure-origin-as-secure=http://{SERVER_PUBLIC}:{SERVER_PORT}")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(chromium_wrapper(lab, ns)), args=args, headless=True
        )
        try:
            yield browser
        finally:
            await browser.close()


async def wait_media_flowing(
    pages: list[Any], *, timeout_s: float, window_s: float = 1.5, presented: bool = True
) -> float:
    """Wait (bounded) until every page's video and audio from every other page rise again
    over one ``window_s``: video frames presented by the member's tile (``presented``)
    or, with ``presented=False``, frames decoded (getStats), and audio packets. After an
    outage the counts are already above zero, so ``assert_media_complete``'s first wait
    alone would not wait. Returns the seconds it took (a figure to report, never
    asserted)."""
    from tests.browser.browser_support import client_state, receptions

    async def figures(page: Any) -> dict[str, tuple[int, int]]:
        got = await receptions(page)
        decoded = {}
        if not presented:
            stats = await page.evaluate("() => window.__telehealth.stats()")
            decoded = {m: int(s.get("framesDecoded", 0)) for m, s in stats.items()}
        return {
            m: (r.frames_presented if presented else decoded.get(m, 0), r.audio_packets)
            for m, r in got.items()
        }

    start = time.monotonic()
    ids = [(await client_state(page))["self"]["id"] for page in pages]
    stalled: list[str] = []
    while time.monotonic() - start < timeout_s:
        before = [await figures(page) for page in pages]
        await asyncio.sleep(window_s)
        after = [await figures(page) for page in pages]
        stalled = []
        for own, b, a in zip(ids, before, after, strict=True):
            for member in set(ids) - {own}:
                if member not in a or member not in b:
                    stalled.append(f"{own}: no tile of {member}")
                elif a[member][0] <= b[member][0]:
                    stalled.append(f"{own}: video of {member}")
                elif a[member][1] <= b[member][1]:
                    stalled.append(f"{own}: audio of {member}")
        if not stalled:
            return time.monotonic() - start
    detail = [
        {
            "state": await client_state(page),
            "stats": await page.evaluate("() => window.__telehealth.stats()"),
        }
        for page in pages
    ]
    pages_now = json.dumps(detail)[:3000]
    raise AssertionError(f"media did not flow again within {timeout_s}s: {stalled}; {pages_now}")
