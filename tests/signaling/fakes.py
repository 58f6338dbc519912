"""Fakes for the ports signaling needs (signaling/ports.py) and for its transport.

Small real implementations, not mocks: the room gateway really applies
rooms.engine commands to rooms held in a dict, the socket server really keeps
channel membership and works out who an emit reaches. Tests assert on what
happened (messages delivered, commands run), not on which method was called how.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rooms.commands import AnyCommand
from rooms.engine import apply
from rooms.errors import DomainError, ErrorCode
from rooms.events import DomainEvent
from rooms.roles import Role
from rooms.room import Room, RoomKind, RoomPolicy, new_room
from signaling.frame_guard import FrameGuard
from signaling.ports import Identity, Refusal

T0 = 1_700_000_000.0

RoomListener = Callable[[Room, Sequence[DomainEvent]], Awaitable[None]]


class FakeClock:
    """Wall clock and monotonic clock in one, moved by hand."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


# --- Authenticator --------------------------------------------------------------------


class FakeAuthenticator:
    """Tokens are opaque strings issued here; each maps to one identity."""

    def __init__(self) -> None:
        self._identities: dict[str, Identity] = {}
        self._counter = itertools.count(1)
        self.resume_tokens_issued: list[Identity] = []

    def issue(self, identity: Identity) -> str:
        token = f"tok-{next(self._counter)}-{identity.member_id}"
        self._identities[token] = identity
        return token

    def authenticate(self, token: object) -> Identity:
        if not isinstance(token, str) or not token:
            raise Refusal(ErrorCode.TOKEN_MISSING, ErrorCode.TOKEN_MISSING.message)
        identity = self._identities.get(token)
        if identity is None:
            raise Refusal(ErrorCode.TOKEN_BAD_SIGNATURE, ErrorCode.TOKEN_BAD_SIGNATURE.message)
        return identity

    def resume_token(self, identity: Identity) -> str:
        self.resume_tokens_issued.append(identity)
        return self.issue(identity)


# --- RoomGateway ----------------------------------------------------------------------


class InMemoryRooms:
    """Rooms in a dict; commands really go through rooms.engine.apply, one at a time per
    room, then listeners (Signaling.publish, say) hear the events, as RoomService does."""

    def __init__(self) -> None:
        self.rooms: dict[str, Room] = {}
        self.executed: list[tuple[str, AnyCommand]] = []
        self._listeners: list[RoomListener] = []
        self._locks: dict[str, asyncio.Lock] = {}

    def subscribe(self, listener: RoomListener) -> None:
        self._listeners.append(listener)

    def create(
        self, room_id: str, kind: RoomKind, *, now: float = T0, policy: RoomPolicy | None = None
    ) -> Room:
        room = new_room(room_id, kind, now, policy)
        self.rooms[room_id] = room
        return room

    async def get(self, room_id: str) -> Room | None:
        return self.rooms.get(room_id)

    async def execute(
        self, room_id: str, command: AnyCommand
    ) -> tuple[Room, tuple[DomainEvent, ...]]:
        lock = self._locks.setdefault(room_id, asyncio.Lock())
        async with lock:
            self.executed.append((room_id, command))
            room = self.rooms.get(room_id)
            if room is None:
                raise DomainError(ErrorCode.ROOM_NOT_FOUND, "This session does not exist.")
            updated, events = apply(room, command)
            self.rooms[room_id] = updated
        if events:
            for listener in self._listeners:
                await listener(updated, events)
        return updated, events

    async def perform(self, room_id: str, command: AnyCommand) -> None:
        await self.execute(room_id, command)

    def commands(self, kind: type[Any]) -> list[Any]:
        return [command for _, command in self.executed if isinstance(command, kind)]


# --- IceProvider, GroupMedia, StatsSink ---------------------------------------------


class StaticIce:
    def __init__(self, servers: list[dict[str, Any]] | None = None) -> None:
        self.servers = servers if servers is not None else [{"urls": ["stun:stun.test:3478"]}]
        self.asked_for: list[str] = []

    def ice_servers(self, member_id: str) -> list[dict[str, Any]]:
        self.asked_for.append(member_id)
        return [dict(server) for server in self.servers]

    def ice_config(self, member_id: str) -> dict[str, Any]:
        return {"ice_servers": self.ice_servers(member_id), "ice_transport_policy": "all"}


class EchoGroupMedia:
    """A relay that answers every offer with a fixed answer and remembers who sent what."""

    def __init__(
        self, answer_sdp: str = "v=0\r\nanswer\r\n", refusal: Refusal | None = None
    ) -> None:
        self.answer_sdp = answer_sdp
        self.refusal = refusal
        self.offers: list[tuple[Identity, str]] = []
        self.answers: list[tuple[Identity, str]] = []
        self.legs: set[tuple[str, str]] = set()

    async def offer(self, identity: Identity, sdp: str) -> dict[str, Any]:
        if self.refusal is not None:
            raise self.refusal
        self.offers.append((identity, sdp))
        self.legs.add((identity.room, identity.member_id))
        return {"sdp": self.answer_sdp, "tracks": []}

    async def has_leg(self, identity: Identity) -> bool:
        return (identity.room, identity.member_id) in self.legs

    async def answer(self, identity: Identity, sdp: str) -> None:
        if self.refusal is not None:
            raise self.refusal
        self.answers.append((identity, sdp))


class CollectingStats:
    def __init__(self) -> None:
        self.reports: list[tuple[Identity, dict[str, Any]]] = []

    async def report(self, identity: Identity, stats: dict[str, Any]) -> None:
        self.reports.append((identity, stats))


# --- the transport: SignalingServer ---------------------------------------------------


@dataclass
class Delivered:
    event: str
    payload: Any


@dataclass
class FakeSignalingServer:
    """What signaling uses of python-socketio's AsyncServer, with channels kept for real.

    `calls` records every transport call in order; `inbox[sid]` holds what each
    connection would have received. Every sid is implicitly a channel of its own,
    as in socket.io, so `emit(to=sid)` reaches that connection."""

    frames: FrameGuard = field(default_factory=FrameGuard)
    handlers: dict[str, Callable[..., Awaitable[Any]]] = field(default_factory=dict)
    channels: dict[str, set[str]] = field(default_factory=dict)
    calls: list[tuple[Any, ...]] = field(default_factory=list)
    inbox: dict[str, list[Delivered]] = field(default_factory=dict)
    connected: set[str] = field(default_factory=set)

    def on(self, event: str, handler: Callable[..., Awaitable[Any]]) -> None:
        self.handlers[event] = handler

    async def enter_room(self, sid: str, room: str, namespace: str | None = None) -> None:
        self.calls.append(("enter_room", sid, room))
        self.channels.setdefault(room, set()).add(sid)

    async def leave_room(self, sid: str, room: str, namespace: str | None = None) -> None:
        self.calls.append(("leave_room", sid, room))
        self.channels.get(room, set()).discard(sid)

    async def close_room(self, room: str, namespace: str | None = None) -> None:
        self.calls.append(("close_room", room))
        self.channels.pop(room, None)

    async def emit(
        self,
        event: str,
        data: Any = None,
        to: str | None = None,
        skip_sid: str | None = None,
        **_: Any,
    ) -> None:
        self.calls.append(("emit", event, data, to, skip_sid))
        targets = self.channels.get(to, {to} if to in self.connected else set())
        for sid in sorted(targets):
            if sid != skip_sid:
                self.inbox.setdefault(sid, []).append(Delivered(event, data))

    async def disconnect(self, sid: str, namespace: str | None = None, **_: Any) -> None:
        """Server-side disconnect: the connection leaves every channel and, as in
        python-socketio, the disconnect handler runs."""
        self.calls.append(("disconnect", sid))
        if sid not in self.connected:
            return
        self.connected.discard(sid)
        for members in self.channels.values():
            members.discard(sid)
        handler = self.handlers.get("disconnect")
        if handler is not None:
            await handler(sid, "server disconnect")

    async def close_connection(self, sid: str, namespace: str = "/") -> None:
        self.calls.append(("close_connection", sid))
        await self.disconnect(sid)

    # --- what a client would do --------------------------------------------------------

    async def connect(self, sid: str, auth: Any, environ: dict[str, Any] | None = None) -> None:
        """A client connects: the connect handler may raise to refuse it."""
        self.connected.add(sid)
        try:
            await self.handlers["connect"](sid, environ or {}, auth)
        except BaseException:
            self.connected.discard(sid)
            raise

    async def send(self, sid: str, event: str, data: Any = None, *extra: Any) -> Any:
        """A client event, through the catch-all handler signaling registers."""
        return await self.handlers["*"](event, sid, data, *extra)

    async def drop(self, sid: str) -> None:
        """The transport goes away (the client closed the tab)."""
        self.connected.discard(sid)
        for members in self.channels.values():
            members.discard(sid)
        await self.handlers["disconnect"](sid, "transport close")

    # --- what tests read ----------------------------------------------------------------

    def received(self, sid: str, event: str | None = None) -> list[Any]:
        return [d.payload for d in self.inbox.get(sid, []) if event is None or d.event == event]

    def events_to(self, sid: str) -> list[str]:
        return [d.event for d in self.inbox.get(sid, [])]

    def calls_named(self, name: str) -> list[tuple[Any, ...]]:
        return [call[1:] for call in self.calls if call[0] == name]

    def clear(self) -> None:
        self.calls.clear()
        self.inbox.clear()


def identity(
    room: str,
    member_id: str,
    *,
    role: Role = Role.PARTICIPANT,
    kind: RoomKind = RoomKind.GROUP,
    name: str | None = None,
) -> Identity:
    return Identity(
        room=room, kind=kind, role=role, name=name or member_id.title(), member_id=member_id
    )
