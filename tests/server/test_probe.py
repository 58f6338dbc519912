"""The connection check's download block: fixed, incompressible, never cached, with the
same security headers as every answer."""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

from server.http.probe import PROBE_BYTES, PROBE_PATH

if TYPE_CHECKING:
    from tests.conftest import LiveServer


async def test_probe_bytes_are_fixed_random_and_not_cached(live_server: LiveServer) -> None:
    async with live_server.http.get(live_server.base_url + PROBE_PATH) as first:
        body = await first.read()
        assert first.status == 200 and len(body) == PROBE_BYTES
        assert first.headers["Cache-Control"] == "no-store"
        assert first.headers["X-Content-Type-Options"] == "nosniff"
    # Random bytes: a compressing proxy cannot make the link look faster.
    assert len(set(body)) > 250
    assert zlib_ratio(body) > 0.99


def zlib_ratio(data: bytes) -> float:
    return len(zlib.compress(data)) / len(data)
