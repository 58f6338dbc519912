"""Who may scrape GET /metrics.

One rule: with a metrics token (`--metrics-token` / `TELEHEALTH_METRICS_TOKEN`) every
scrape must send `Authorization: Bearer TOKEN`; without one, only this machine may
scrape: a loopback peer whose request no proxy forwarded. So a server listening on
0.0.0.0, or a loopback listener behind a reverse proxy, does not hand its metrics to
anyone who can reach it, and local use (tests, benchmarks, a Prometheus on the same
host) needs no extra step.
"""

from __future__ import annotations

import hmac
import ipaddress

from aiohttp import web

from rooms.errors import ErrorCode
from server.http.admin_api import json_error

# A request that passed through a proxy is not local, whatever its peer address.
FORWARDED_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Real-IP")


def is_local(request: web.BaseRequest) -> bool:
    if any(name in request.headers for name in FORWARDED_HEADERS):
        return False
    try:
        address = ipaddress.ip_address(request.remote or "")
    except ValueError:
        return False  # a Unix socket or an unknown peer: not provably this machine
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def metrics_refusal(request: web.BaseRequest, token: str | None) -> web.Response | None:
    """None when the scrape is allowed, else the JSON error to answer with."""
    if token is not None:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), token.encode()
        ):
            return None
        refusal = json_error(
            401,
            ErrorCode.UNAUTHORIZED,
            "/metrics needs Authorization: Bearer <the server's metrics token>.",
        )
        refusal.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return refusal
    if is_local(request):
        return None
    return json_error(403, ErrorCode.METRICS_TOKEN_REQUIRED)
