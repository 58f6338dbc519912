"""`GET /probe/bytes`: a fixed block of incompressible bytes for the pre-join connection
check's rough download measure (ui/connection-check.js). Fixed size and no input, so it
is no more of a lever for load than any static file; never cached, so each check
measures the network."""

from __future__ import annotations

import os

from aiohttp import web

PROBE_BYTES = 256 * 1024
PROBE_PATH = "/probe/bytes"


def probe_routes() -> list[web.AbstractRouteDef]:
    # Random, so no compression on the way makes the link look faster than it is.
    block = os.urandom(PROBE_BYTES)

    async def probe(request: web.Request) -> web.Response:
        return web.Response(
            body=block,
            content_type="application/octet-stream",
            headers={"Cache-Control": "no-store"},
        )

    return [web.get(PROBE_PATH, probe)]
