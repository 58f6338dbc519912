"""What `room create` and `invite` use: the running server's admin API, found via server.json."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from server.auth.keys import ADMIN_KEY_FILE
from server.cli.runtime_file import read_runtime


class AdminClientError(Exception):
    pass


def call_admin_api(
    data_dir: Path,
    path: str,
    body: dict[str, Any],
    server_url: str | None = None,
    timeout_s: float = 10.0,
) -> dict[str, Any]:
    info = read_runtime(data_dir)
    base = server_url or (info.admin_url if info else None)
    if base is None:
        raise AdminClientError(
            f"No running server found for data directory {data_dir.resolve()}.\n"
            "Start one with `telehealth serve` in this directory (or pass --data-dir/--server)."
        )
    try:
        admin_key = (data_dir / ADMIN_KEY_FILE).read_text().strip()
    except OSError:
        raise AdminClientError(f"Cannot read the admin key in {data_dir.resolve()}.") from None
    context = None
    if base.startswith("https://"):
        context = ssl.create_default_context()
        if info is not None and info.ca_file:
            # Our own self-signed certificate: trust exactly it, on loopback.
            context.load_verify_locations(info.ca_file)
            context.check_hostname = False
    request = urllib.request.Request(
        base.rstrip("/") + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {admin_key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s, context=context) as response:
            result: dict[str, Any] = json.loads(response.read())
            return result
    except urllib.error.HTTPError as error:
        raise AdminClientError(_describe_http_error(error)) from None
    except (urllib.error.URLError, OSError) as error:
        raise AdminClientError(
            f"Cannot reach the server at {base} ({error}). Is `telehealth serve` running?"
        ) from None


def _describe_http_error(error: urllib.error.HTTPError) -> str:
    try:
        detail = json.loads(error.read())["error"]
        return f"{detail['message']} ({detail['code']})"
    except (ValueError, KeyError, TypeError):
        return f"the server answered HTTP {error.code}"
