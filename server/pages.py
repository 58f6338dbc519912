"""The browser client's pages and files, and the liveness/readiness probes."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from server.stores.base import RoomStore

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

# The join page reads its token from the fragment; nothing here may leak it
# onwards (no third-party requests, no referrer).
SECURITY_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(self), microphone=(self), display-capture=()",
    "Content-Security-Policy": (
        "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data: blob:; "
        "media-src 'self' blob: mediastream:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
}


def page_routes(store: RoomStore) -> list[web.AbstractRouteDef]:
    async def join_page(request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC_DIR / "join.html", headers=SECURITY_HEADERS)

    async def ops_page(request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC_DIR / "ops.html", headers=SECURITY_HEADERS)

    async def index(request: web.Request) -> web.Response:
        return web.Response(
            text="Telehealth session server. Open the join link your clinic sent you.\n",
            content_type="text/plain",
        )

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(request: web.Request) -> web.Response:
        ready = await store.ping()
        return web.json_response(
            {"ready": ready, "store": store.backend}, status=200 if ready else 503
        )

    return [
        web.get("/", index),
        web.get("/join", join_page),
        web.get("/ops", ops_page),
        web.get("/healthz", healthz),
        web.get("/readyz", readyz),
        web.static("/static", STATIC_DIR, append_version=False),
    ]
