"""Same-origin by default: a page from another site must not open a session socket."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class OriginPolicy:
    def __init__(self, extra_allowed: tuple[str, ...] = (), *, trust_proxy: bool = False) -> None:
        self._extra = frozenset(o.rstrip("/").lower() for o in extra_allowed)
        self._trust_proxy = trust_proxy

    def allows(self, environ: Mapping[str, Any]) -> bool:
        origin = environ.get("HTTP_ORIGIN")
        if not origin:
            # Not a browser (browsers always send Origin on WebSocket and CORS
            # requests); a non-browser client can claim any origin anyway.
            return True
        origin = str(origin).rstrip("/").lower()
        return origin in self._extra or origin == self._own_origin(environ)

    def _own_origin(self, environ: Mapping[str, Any]) -> str:
        request = environ.get("aiohttp.request")
        scheme = getattr(request, "scheme", None) or "http"
        host = str(environ.get("HTTP_HOST", ""))
        if self._trust_proxy:
            scheme = _first(environ.get("HTTP_X_FORWARDED_PROTO")) or scheme
            host = _first(environ.get("HTTP_X_FORWARDED_HOST")) or host
        return f"{scheme}://{host}".lower()


def _first(value: object) -> str | None:
    if not value:
        return None
    return str(value).split(",")[0].strip() or None
