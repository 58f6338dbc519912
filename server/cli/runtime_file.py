"""`server.json` in the data directory: how the CLI finds the running server."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

RUNTIME_FILE = "server.json"


@dataclass(frozen=True)
class RuntimeInfo:
    # Where the CLI reaches the server (loopback when it listens on all addresses).
    admin_url: str
    # The base of join links.
    public_url: str
    pid: int
    ca_file: str | None = None


def write_runtime(data_dir: Path, info: RuntimeInfo) -> None:
    path = data_dir / RUNTIME_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(info), indent=2))
    os.replace(tmp, path)


def read_runtime(data_dir: Path) -> RuntimeInfo | None:
    path = data_dir / RUNTIME_FILE
    try:
        data = json.loads(path.read_text())
        return RuntimeInfo(**data)
    except (OSError, ValueError, TypeError):
        return None


def remove_runtime(data_dir: Path, pid: int) -> None:
    info = read_runtime(data_dir)
    if info is not None and info.pid == pid:
        (data_dir / RUNTIME_FILE).unlink(missing_ok=True)
