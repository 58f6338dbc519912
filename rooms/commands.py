"""Commands the room accepts. Identity comes from the authenticated connection."""

from __future__ import annotations

from dataclasses import dataclass

from rooms.roles import Role


@dataclass(frozen=True)
class Join:
    member_id: str
    role: Role
    name: str
    now: float
    # True when the same page comes back after a transport drop and still holds
    # its peer connection; False for a fresh page (or a second tab).
    resume: bool = False


@dataclass(frozen=True)
class Leave:
    member_id: str
    now: float


@dataclass(frozen=True)
class Disconnect:
    member_id: str
    now: float


@dataclass(frozen=True)
class SetMedia:
    member_id: str
    audio: bool
    video: bool
    now: float


@dataclass(frozen=True)
class EndRoom:
    by: str
    now: float


@dataclass(frozen=True)
class Tick:
    """Time passes: grace periods and room expiry are enforced here."""

    now: float


Command = Join | Leave | Disconnect | SetMedia | EndRoom | Tick
