"""`telehealth` end to end: serve, room create and invite as separate processes in one cwd."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.http.tls import fingerprint

TELEHEALTH = Path(sys.executable).with_name("telehealth")
DEFAULT_DATA = "telehealth-data"


def clean_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("TELEHEALTH_DATA_DIR", "TELEHEALTH_REDIS_URL", "TELEHEALTH_TURN_SECRET")
    }
    env["PYTHONUNBUFFERED"] = "1"
    return env


def telehealth(cwd: Path, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(TELEHEALTH), *args],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class Served:
    def __init__(self, cwd: Path, *args: str) -> None:
        self.cwd = cwd
        self.log = cwd / "serve.log"
        self._log_handle = self.log.open("w")
        self.process = subprocess.Popen(
            [str(TELEHEALTH), "serve", "--port", "0", *args],
            cwd=cwd,
            env=clean_env(),
            stdout=self._log_handle,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.runtime = self._wait_for_runtime()

    def _wait_for_runtime(self, timeout: float = 20) -> dict[str, object]:
        path = self.cwd / DEFAULT_DATA / "server.json"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"serve exited early:\n{self.output()}")
            if path.exists():
                try:
                    data: dict[str, object] = json.loads(path.read_text())
                except ValueError:
                    pass
                else:
                    if "listening on" in self.output():  # announced after server.json
                        return data
            time.sleep(0.05)
        raise AssertionError(f"no server.json after {timeout}s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text()

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self._log_handle.close()
        return self.process.returncode


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[type[Served]]:
    started: list[Served] = []

    class Tracked(Served):
        def __init__(self, cwd: Path, *args: str) -> None:
            super().__init__(cwd, *args)
            started.append(self)

    yield Tracked
    for server in started:
        server.stop()


def test_serve_then_room_create_and_invite_with_no_extra_step(
    tmp_path: Path, serve: type[Served]
) -> None:
    server = serve(tmp_path)
    data_dir = tmp_path / DEFAULT_DATA
    assert (data_dir / "signing-key.pem").exists() and (data_dir / "admin.key").exists()
    port = int(str(server.runtime["admin_url"]).rsplit(":", 1)[1])
    assert port != 0
    assert f"listening on http://127.0.0.1:{port}" in server.output()

    created = telehealth(tmp_path, "room", "create", "--kind", "individual")
    assert created.returncode == 0, created.stderr
    room = json.loads(created.stdout)
    assert room["room"].startswith("r_") and room["kind"] == "individual"
    roles = [link["role"] for link in room["links"]]
    assert roles == ["therapist", "participant"]
    for link in room["links"]:
        assert re.fullmatch(
            rf"http://127\.0\.0\.1:{port}/join#t=[\w-]+\.[\w-]+\.[\w-]+", link["url"]
        ), link["url"]

    invited = telehealth(
        tmp_path, "invite", "--room", room["room"], "--role", "participant", "--name", "Sam"
    )
    assert invited.returncode == 0, invited.stderr
    invite = json.loads(invited.stdout)
    assert invite["room"] == room["room"] and invite["role"] == "participant"
    assert invite["name"] == "Sam" and invite["url"].startswith(f"http://127.0.0.1:{port}/join#t=")

    group = telehealth(
        tmp_path,
        "room",
        "create",
        "--kind",
        "group",
        "--participant",
        "Alex",
        "--participant",
        "Sam",
        "--admit",
        "auto",
    )
    assert group.returncode == 0, group.stderr
    links = json.loads(group.stdout)["links"]
    assert [(x["role"], x["name"]) for x in links] == [
        ("therapist", "Therapist"),
        ("participant", "Alex"),
        ("participant", "Sam"),
    ]

    unknown = telehealth(
        tmp_path, "invite", "--room", "r_nope", "--role", "participant", "--name", "Sam"
    )
    assert unknown.returncode == 2
    assert "room_not_found" in unknown.stderr

    assert server.stop() == 0
    assert not (data_dir / "server.json").exists(), "server.json left behind after a clean stop"


def test_room_create_without_a_server(tmp_path: Path) -> None:
    result = telehealth(tmp_path, "room", "create", "--kind", "individual")
    assert result.returncode == 2
    assert "No running server found" in result.stderr
    assert "telehealth serve" in result.stderr
    assert result.stdout == ""


def test_room_create_with_a_stale_server_file(tmp_path: Path) -> None:
    data_dir = tmp_path / DEFAULT_DATA
    data_dir.mkdir()
    (data_dir / "admin.key").write_text("k" * 43)
    # A port nothing listens on: bind then release it.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (data_dir / "server.json").write_text(
        json.dumps(
            {
                "admin_url": f"http://127.0.0.1:{port}",
                "public_url": f"http://127.0.0.1:{port}",
                "pid": 1,
            }
        )
    )
    result = telehealth(tmp_path, "room", "create", "--kind", "individual")
    assert result.returncode == 2
    assert "Cannot reach the server" in result.stderr


def test_self_signed_serves_https(tmp_path: Path, serve: type[Served]) -> None:
    server = serve(tmp_path, "--self-signed")
    base = str(server.runtime["admin_url"])
    assert base.startswith("https://127.0.0.1:")
    cert = tmp_path / DEFAULT_DATA / "tls" / "self-signed.crt"
    assert cert.exists()
    printed = re.search(r"TLS certificate SHA-256 fingerprint: ([0-9A-F:]{95})", server.output())
    assert printed, server.output()
    assert printed.group(1) == fingerprint(cert)

    context = ssl.create_default_context(cafile=str(cert))
    with urllib.request.urlopen(base + "/healthz", context=context, timeout=10) as response:
        assert response.status == 200
        assert json.loads(response.read()) == {"status": "ok"}
    # Without trusting the certificate, verification fails.
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(base + "/healthz", context=ssl.create_default_context(), timeout=10)
    # The CLI reaches the HTTPS server with no extra step, and links are https.
    created = telehealth(tmp_path, "room", "create", "--kind", "individual")
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["links"][0]["url"].startswith(base + "/join#t=")
