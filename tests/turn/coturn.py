"""A real coturn (Debian's package) for the TURN tests: loopback, TURN REST secret, no daemon.

``running_coturn`` writes a configuration of its own into a temporary directory
(ports found free here, its own pid file, user database and log), starts
``turnserver`` in the foreground as a child process and kills it at the end.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.chromium_support import stop_process

TURNSERVER = shutil.which("turnserver") or "/usr/sbin/turnserver"
REALM = "telehealth.test"
STARTUP_TIMEOUT_S = 10.0
ALLOCATION_LIFETIME_S = 4
RELAY_PORTS = 64  # the TURN server's own relay ports (allocations)


@dataclass(frozen=True)
class Coturn:
    host: str
    port: int
    secret: str
    log_path: Path

    def url(self, transport: str = "udp") -> str:
        return f"turn:{self.host}:{self.port}?transport={transport}"

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


def _free_run(size: int, *, start: int) -> int:
    """The first port of ``size`` consecutive ports free for both UDP and TCP on loopback."""
    for first in range(start, 65000 - size, size):
        held: list[socket.socket] = []
        try:
            for port in range(first, first + size):
                for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                    sock = socket.socket(socket.AF_INET, kind)
                    held.append(sock)
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            for sock in held:
                sock.close()
        return first
    raise RuntimeError("no free ports for coturn")


def _listening(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


@contextlib.contextmanager
def running_coturn(directory: Path) -> Iterator[Coturn]:
    host = "127.0.0.1"
    port = _free_run(2, start=34780)  # the listener and coturn's alternate one (port + 1)
    relay_first = _free_run(RELAY_PORTS, start=41000)
    secret = secrets.token_hex(16)
    log_path = directory / "turnserver.log"
    config = directory / "turnserver.conf"
    config.write_text(
        "\n".join(
            [
                f"listening-ip={host}",
                f"relay-ip={host}",
                f"listening-port={port}",
                f"alt-listening-port={port + 1}",
                f"min-port={relay_first}",
                f"max-port={relay_first + RELAY_PORTS - 1}",
                "use-auth-secret",
                f"static-auth-secret={secret}",
                f"realm={REALM}",
                "fingerprint",
                # Allocations live 4 s, so clients refresh them every few seconds: a
                # test sees refreshes made after their credentials expired.
                f"max-allocate-lifetime={ALLOCATION_LIFETIME_S}",
                # Every peer here is on loopback (coturn refuses those by default).
                "allow-loopback-peers",
                "no-tls",
                "no-dtls",
                "no-cli",
                "no-multicast-peers",
                f"pidfile={directory / 'turnserver.pid'}",
                f"userdb={directory / 'turndb'}",
                f"log-file={log_path}",
                "simple-log",
                "",
            ]
        )
    )
    with (directory / "turnserver.out").open("ab") as out:
        # No -n (it would ignore the file) and no -o: a child process, not a daemon.
        process = subprocess.Popen(
            [TURNSERVER, "-c", str(config)], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not _listening(host, port):
            if process.poll() is not None:
                raise RuntimeError(f"turnserver exited with {process.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"turnserver not listening on {port}")
            time.sleep(0.05)
        yield Coturn(host, port, secret, log_path)
    finally:
        stop_process(process)
