"""The network lab itself, without browsers: NAT as described, impairments as asked,
nothing left behind."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.network_support import (
    CLEAR,
    EXT_ADDRESS,
    IP,
    OUTAGE,
    SERVER_PRIVATE,
    SERVER_PUBLIC,
    Impairment,
    NetLab,
    list_namespaces,
)

pytestmark = [pytest.mark.network, pytest.mark.timeout(60)]

ECHO_PORT = 40000
# Answers each datagram with the address it came from.
ECHO = (
    "import socket\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    f"s.bind(('0.0.0.0', {ECHO_PORT}))\n"
    "while True:\n"
    "    data, peer = s.recvfrom(2048)\n"
    "    s.sendto(peer[0].encode(), peer)\n"
)
# Sends COUNT datagrams to HOST:PORT, one every 20 ms; prints "answers source".
PROBE = (
    "import socket, sys, time\n"
    "host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "s.setblocking(False)\n"
    "answers, source = 0, '-'\n"
    "end = time.monotonic() + count * 0.02 + 1.0\n"
    "i = 0\n"
    "while time.monotonic() < end:\n"
    "    if i < count:\n"
    "        s.sendto(b'x', (host, port)); i += 1\n"
    "    time.sleep(0.02)\n"
    "    while True:\n"
    "        try:\n"
    "            data, _ = s.recvfrom(2048)\n"
    "        except BlockingIOError:\n"
    "            break\n"
    "        answers += 1; source = data.decode()\n"
    "print(answers, source)\n"
)
RTT = (
    "import socket, sys, time\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)\n"
    "t = time.monotonic(); s.sendto(b'x', (sys.argv[1], int(sys.argv[2]))); s.recvfrom(64)\n"
    "print((time.monotonic() - t) * 1000)\n"
)


def probe(ns: str, host: str, count: int = 20) -> tuple[int, str]:
    out = subprocess.run(
        [IP, "netns", "exec", ns, sys.executable, "-c", PROBE, host, str(ECHO_PORT), str(count)],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout.split()
    return int(out[0]), out[1]


def wait_listening(ns: str, host: str) -> None:
    """The echo server was only spawned: bounded wait until it answers at all (its first
    datagrams could arrive before it bound its socket, and the count would be short)."""
    for _ in range(50):
        if probe(ns, host, count=1)[0]:
            return
    raise AssertionError(f"no echo from {host}")


def rtt_ms(ns: str, host: str) -> float:
    out = subprocess.run(
        [IP, "netns", "exec", ns, sys.executable, "-c", RTT, host, str(ECHO_PORT)],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return float(out.stdout)


def test_nat_impairments_and_cleanup(tmp_path: Path) -> None:
    with NetLab.create(tmp_path) as lab:
        site = lab.add_site()
        for ns in (lab.ext_ns, lab.server_ns):
            lab.spawn(ns, [sys.executable, "-c", ECHO], tmp_path / f"echo-{ns}.log")
        names = list(lab.namespaces)
        wait_listening(site.host, EXT_ADDRESS)
        wait_listening(site.host, SERVER_PUBLIC)

        # Home NAT: the internet sees the member's public address, not its own.
        answers, source = probe(site.host, EXT_ADDRESS)
        assert answers == 20 and source == site.public_ip
        # The server is reached at its public address (1:1 NAT)...
        answers, _ = probe(site.host, SERVER_PUBLIC)
        assert answers == 20
        if lab.announce:  # ...and, behind a real 1:1 NAT, never at its private one.
            assert probe(site.host, SERVER_PRIVATE)[0] == 0

        # Delay each way: the round trip grows by both (bounded waits; a floor only).
        lab.impair(site, Impairment(delay_ms=100))
        assert rtt_ms(site.host, EXT_ADDRESS) >= 200
        lab.impair(site, OUTAGE)
        assert probe(site.host, EXT_ADDRESS)[0] == 0
        lab.impair(site, CLEAR)
        assert probe(site.host, EXT_ADDRESS)[0] == 20

        # Another network: another public address.
        before = site.public_ip
        lab.switch_network(site)
        answers, source = probe(site.host, EXT_ADDRESS)
        assert answers == 20 and source == site.public_ip != before

    assert [n for n in list_namespaces() if n in names] == []
