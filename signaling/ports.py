"""What signaling needs from the process, as interfaces the server implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from rooms.commands import AnyCommand
from rooms.errors import ErrorCode
from rooms.events import DomainEvent
from rooms.roles import Role
from rooms.room import Room, RoomKind


@dataclass(frozen=True)
class Identity:
    """Who a connection is: taken from its verified token, never from a payload."""

    room: str
    kind: RoomKind
    role: Role
    name: str
    member_id: str
    # This link asks for emergency information at check-in (signaling/checkin_routes.py).
    checkin: bool = False


class Refusal(Exception):
    """A refused request: `code` and `message` go to the client as they are."""

    def __init__(self, code: ErrorCode, message: str | None = None) -> None:
        message = code.message if message is None else message
        super().__init__(message)
        self.code = code
        self.message = message


class Authenticator(Protocol):
    def authenticate(self, token: object) -> Identity:
        """Raise Refusal with a token_* code when the token is not good."""

    def resume_token(self, identity: Identity) -> str: ...


class RoomGateway(Protocol):
    async def get(self, room_id: str) -> Room | None: ...

    async def execute(
        self, room_id: str, command: AnyCommand
    ) -> tuple[Room, tuple[DomainEvent, ...]]: ...

    async def perform(self, room_id: str, command: AnyCommand) -> None:
        """execute, when the caller needs no room back."""


class MediaProbe(Protocol):
    async def answer(self, key: str, offer_sdp: str) -> str:
        """The answer to the connection check's data-channel offer (server/media/probe.py)."""
        ...


class IceProvider(Protocol):
    def ice_servers(self, member_id: str) -> list[dict[str, Any]]: ...

    def ice_config(self, member_id: str) -> dict[str, Any]:
        """{"ice_servers", "ice_transport_policy"[, "ice_servers_ttl_s"]} for a page."""


class GroupMedia(Protocol):
    """The group relay, as signaling sees it."""

    async def offer(self, identity: Identity, sdp: str) -> dict[str, Any]:
        """Answer a member's offer: {"sdp": ..., "tracks": ...}."""

    async def answer(self, identity: Identity, sdp: str) -> None: ...

    async def has_leg(self, identity: Identity) -> bool:
        """Whether this process's relay holds a leg for the member (none after a restart)."""


class StatsSink(Protocol):
    """Where browsers' connection statistics go (quality levels, ops dashboard)."""

    async def report(self, identity: Identity, stats: dict[str, Any]) -> None: ...
