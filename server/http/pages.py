"""The browser client's pages and files, and the liveness/readiness probes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from pathlib import Path

from aiohttp import web

from rooms.errors import ErrorCode
from server.http.admin_api import json_error
from server.stores.base import RoomStore, StoreUnavailable

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parents[2] / "static"
# Instead of aiohttp's "Python/3.x aiohttp/3.x": no versions for scanners to match.
SERVER_HEADER = "telehealth"

# The join page reads its token from the fragment; nothing here may leak it
# onwards (no third-party requests, no referrer).
SECURITY_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(self), microphone=(self), display-capture=(self)",
    "Content-Security-Policy": (
        # CSP Level 3: 'self' also matches ws:/wss: to the page's own host (Chromium,
        # Firefox, Safari); no other host may be reached, WebSockets included.
        "default-src 'self'; connect-src 'self'; img-src 'self' data: blob:; "
        "media-src 'self' blob: mediastream:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
}


# Settings.test_hooks: the join page carries this, and only then does the client install
# its fault injectors (static/ui/test-faults.js).
TEST_HOOKS_META = '<meta name="telehealth-test-hooks" content="on">'


def page_routes(
    store: RoomStore,
    *,
    test_hooks: bool = False,
    listening: Callable[[], bool] = lambda: True,
) -> list[web.AbstractRouteDef]:
    """`listening`: with several processes, whether this one hears the others (its
    cluster bus is subscribed); not ready until it does."""
    test_join_page = _join_page_with_test_hooks() if test_hooks else None

    async def join_page(request: web.Request) -> web.StreamResponse:
        if test_join_page is not None:
            return web.Response(
                text=test_join_page, content_type="text/html", headers=SECURITY_HEADERS
            )
        return web.FileResponse(STATIC_DIR / "join.html", headers=SECURITY_HEADERS)

    async def ops_page(request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC_DIR / "ops.html", headers=SECURITY_HEADERS)

    async def index(request: web.Request) -> web.Response:
        return web.Response(
            text="Telehealth session server. Open the join link your clinic sent you.\n",
            content_type="text/plain",
        )

    async def static_file(request: web.Request) -> web.FileResponse:
        # aiohttp's own static route answers a missing file with an empty 404 decided
        # while sending; raising here lets error_pages answer it like any other 404.
        path = await asyncio.to_thread(_static_path, request.match_info["path"])
        if path is None:
            raise web.HTTPNotFound()
        return web.FileResponse(path)

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(request: web.Request) -> web.Response:
        ready = await store.ping() and listening()
        return web.json_response(
            {"ready": ready, "store": store.backend}, status=200 if ready else 503
        )

    return [
        web.get("/", index),
        web.get("/join", join_page),
        web.get("/ops", ops_page),
        web.get("/healthz", healthz),
        web.get("/readyz", readyz),
        web.get("/static/{path:.+}", static_file),
    ]


def _join_page_with_test_hooks() -> str:
    page = (STATIC_DIR / "join.html").read_text(encoding="utf-8")
    if "</head>" not in page:
        raise RuntimeError("static/join.html has no </head> to put the test-hooks tag before")
    return page.replace("</head>", f"  {TEST_HOOKS_META}\n</head>", 1)


def _static_path(relative: str) -> Path | None:
    """The file under STATIC_DIR that `relative` names, or None (missing, or outside)."""
    path = (STATIC_DIR / relative).resolve()
    if not path.is_relative_to(STATIC_DIR) or not path.is_file():
        return None
    return path


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# What a person reading an error page can do about it (no request data is echoed).
_PAGE_HINTS = {
    404: "There is nothing at this address. Open the join link your clinic sent you.",
    405: "This address does not accept that kind of request.",
    503: ErrorCode.UNAVAILABLE.message,
}
_DEFAULT_HINT = "The server could not answer this request."


def _is_socketio(request: web.BaseRequest) -> bool:
    return request.path.startswith("/socket.io")


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def error_response(request: web.BaseRequest, status: int) -> web.Response:
    """JSON `{"error": {"code", "message"}}` under /api/, a small HTML page elsewhere."""
    reason = _reason(status)
    if request.path.startswith("/api/"):
        if status == 404:
            return json_error(404, ErrorCode.NOT_FOUND)
        if status == 405:
            return json_error(
                405, ErrorCode.METHOD_NOT_ALLOWED, f"{request.method} is not allowed here."
            )
        if status >= 500:
            return json_error(status, ErrorCode.INTERNAL_ERROR)
        return json_error(status, ErrorCode.HTTP_ERROR, reason)
    hint = _PAGE_HINTS.get(status, _DEFAULT_HINT)
    body = (
        '<!doctype html>\n<html lang="en">\n<meta charset="utf-8">\n'
        f"<title>{status} {reason}</title>\n<h1>{reason}</h1>\n<p>{hint}</p>\n</html>\n"
    )
    return web.Response(text=body, status=status, content_type="text/html")


@web.middleware
async def error_pages(request: web.Request, handler: Handler) -> web.StreamResponse:
    """aiohttp's own errors (404, 405, 500...) are plain text: answer them like ours."""
    if _is_socketio(request):
        return await handler(request)
    try:
        return await handler(request)
    except web.HTTPException as error:
        if error.status < 400 or error.content_type == "application/json":
            raise  # redirects, and errors our handlers already wrote as JSON
        response = error_response(request, error.status)
        if "Allow" in error.headers:
            response.headers["Allow"] = error.headers["Allow"]
        return response
    except StoreUnavailable:
        # The store is down (logged there): a retryable 503, not a bug's traceback.
        if request.path.startswith("/api/"):
            return json_error(503, ErrorCode.UNAVAILABLE)
        return error_response(request, 503)
    except Exception:
        log.exception("unhandled error answering an HTTP request")
        return error_response(request, 500)


async def stamp_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: every response (errors, files, JSON) gets the same headers."""
    response.headers["Server"] = SERVER_HEADER
    if not _is_socketio(request):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
