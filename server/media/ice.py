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

# The relay's own TURN credentials never leave this process: they outlive any session,
# so its allocations are never refreshed with an expired username.
RELAY_TURN_TTL_S = 24 * 3600.0


def turn_credentials(secret: str, member_id: str, expires_at: int) -> tuple[str, str]:
    username = f"{expires_at}:{member_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_config_for(settings: Settings, member_id: str, now: float) -> dict[str, Any]:
    """What a page builds its peer connections with (the join ack and `net.ice` carry it).

    `ice_transport_policy` "relay": TURN candidates only. `ice_servers_ttl_s`: how long
    the TURN credentials last; the page fetches new ones (`net.ice`) before then, so a
    connection it opens late in a long session still gets a TURN allocation.
    """
    config: dict[str, Any] = {
        "ice_servers": ice_servers_for(settings, member_id, now),
        "ice_transport_policy": settings.ice_policy,
    }
    if settings.turn_urls:
        config["ice_servers_ttl_s"] = settings.turn_ttl_s
    return config


def relay_ice_servers(settings: Settings, room_id: str, now: float) -> list[dict[str, Any]]:
    """What the group relay's legs gather with: STUN (unless the public address is
    configured) and one TURN server, which aiortc takes as the first TURN URL: the
    relay's own link to it is best on UDP, so a UDP URL goes first."""
    servers: list[dict[str, Any]] = []
    if settings.stun_urls and settings.rtc_announce_ip is None:
        servers.append({"urls": [settings.stun_urls[0]]})
    if settings.turn_urls and settings.turn_secret:
        urls = sorted(settings.turn_urls, key=lambda url: not _is_udp_turn(url))
        username, credential = turn_credentials(
            settings.turn_secret,
            f"relay-{room_id}",
            int(now + max(settings.turn_ttl_s, RELAY_TURN_TTL_S)),
        )
        servers.append({"urls": urls, "username": username, "credential": credential})
    return servers


def _is_udp_turn(url: str) -> bool:
    return url.startswith("turn:") and "transport=tcp" not in url


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
