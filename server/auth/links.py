"""Join links: the token rides in the fragment, which browsers never send to a server."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rooms.roles import Role
from rooms.room import Room
from server.auth.tokens import TokenIssuer


@dataclass(frozen=True)
class JoinLink:
    role: Role
    name: str
    url: str

    def as_json(self) -> dict[str, Any]:
        return {"role": self.role.value, "name": self.name, "url": self.url}


def join_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/join#t={token}"


def make_link(
    issuer: TokenIssuer,
    base_url: str,
    room: Room,
    role: Role,
    name: str,
    ttl_s: float,
    *,
    checkin: bool = False,
) -> JoinLink:
    """`checkin`: the patient confirms location and an emergency contact before joining."""
    token = issuer.issue(
        room=room.id, kind=room.kind, role=role, name=name, ttl_s=ttl_s, checkin=checkin
    )
    return JoinLink(role=role, name=name, url=join_url(base_url, token))
