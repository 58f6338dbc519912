"""ICE servers for browsers: STUN as configured, TURN with time-limited credentials.

TURN credentials follow the TURN REST convention that coturn implements with
`use-auth-secret`: username `EXPIRY:ID`, password base64(HMAC-SHA1(secret, username)).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from server.settings import Settings


def turn_credentials(secret: str, member_id: str, expires_at: int) -> tuple[str, str]:
    username = f"{expires_at}:{member_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers_for(settings: Settings, member_id: str, now: float) -> list[dict[str, Any]]:
    servers: list[dict[str, Any]] = []
    if settings.stun_urls:
        servers.append({"urls": list(settings.stun_urls)})
    if settings.turn_urls and settings.turn_secret:
        username, credential = turn_credentials(
            settings.turn_secret, member_id, int(now + settings.turn_ttl_s)
        )
        servers.append(
            {"urls": list(settings.turn_urls), "username": username, "credential": credential}
        )
    return servers
