"""Who hears what: socket.io channels per room, per member and for moderators.

Socket.IO rooms only fan messages out; the store stays the source of truth.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rooms.events import DomainEvent, MemberAdmitted, MemberSentBack
from rooms.roles import Capability, can
from rooms.room import Room
from signaling import codec
from signaling.connections import Connection, ConnectionRegistry
from signaling.events import ServerEvent
from signaling.socket_server import SignalingServer


def room_channel(room_id: str) -> str:
    """Admitted members of a room."""
    return f"room:{room_id}"


def member_channel(room_id: str, member_id: str) -> str:
    return f"member:{room_id}:{member_id}"


def moderators_channel(room_id: str) -> str:
    return f"moderators:{room_id}"


class SignalingObserver:
    """Hooks for metrics; the default does nothing."""

    def message_in(self, event: str) -> None: ...

    def message_out(self, event: str) -> None: ...

    def refused(self, reason: str) -> None: ...

    def join_connected(self, seconds: float) -> None: ...

    def malformed_frame(self, kind: str) -> None: ...


@dataclass(frozen=True)
class WireBatch:
    """What one batch of a room's domain events does on the wire, worked out once.

    Rendering needs the room; delivering needs only this, so a process that did not run
    the command (several processes) delivers it without the room.
    """

    room_id: str
    # (member id, True: into the room's channel / False: out of it), before any message.
    moves: tuple[tuple[str, bool], ...]
    messages: tuple[codec.Outgoing, ...]
    # The room ended: its channels close after the messages.
    over: bool


def render(room: Room, events: Sequence[DomainEvent], now: float) -> WireBatch:
    moves = tuple(
        (event.member.id, isinstance(event, MemberAdmitted))
        for event in events
        if isinstance(event, MemberAdmitted | MemberSentBack)
    )
    return WireBatch(room.id, moves, tuple(codec.to_wire(room, events, now)), room.is_over)


class Fanout:
    def __init__(
        self,
        sio: SignalingServer,
        connections: ConnectionRegistry,
        observer: SignalingObserver,
        clock: Callable[[], float],
    ) -> None:
        self._sio = sio
        self._connections = connections
        self._observer = observer
        self._clock = clock
        self._background: set[asyncio.Task[None]] = set()

    @property
    def connections(self) -> ConnectionRegistry:
        return self._connections

    @property
    def observer(self) -> SignalingObserver:
        return self._observer

    # --- seats and channels ------------------------------------------------------

    async def seat(self, connection: Connection, *, admitted: bool) -> None:
        """Make this connection the member's one voice in the room."""
        identity = connection.identity
        previous = self._connections.take_seat(connection)
        if previous is not None:
            await self._drop_stale(previous, identity.room, identity.member_id)
        await self._sio.enter_room(
            connection.sid, member_channel(identity.room, identity.member_id)
        )
        if admitted:
            await self._sio.enter_room(connection.sid, room_channel(identity.room))
        if can(identity.role, Capability.MODERATE):
            await self._sio.enter_room(connection.sid, moderators_channel(identity.room))

    async def _drop_stale(self, sid: str, room_id: str, member_id: str) -> None:
        """The seat moved to a new connection: the old one hears nothing more."""
        await self.leave_channels(sid, room_id, member_id)
        stale = self._connections.get(sid)
        if stale is not None:
            stale.joined = False
        await self._sio.disconnect(sid)

    async def leave_channels(self, sid: str, room_id: str, member_id: str) -> None:
        for channel in (
            room_channel(room_id),
            member_channel(room_id, member_id),
            moderators_channel(room_id),
        ):
            await self._sio.leave_room(sid, channel)

    # --- domain events to the wire -------------------------------------------------

    async def publish(self, room: Room, events: Sequence[DomainEvent]) -> None:
        """RoomService listener: turn domain events into wire messages."""
        await self.deliver_batch(render(room, events, self._clock()))

    async def deliver_batch(self, batch: WireBatch) -> None:
        """A rendered batch to this process's connections."""
        room_id = batch.room_id
        for member_id, into_room in batch.moves:
            await self._move_channel(room_id, member_id, into_room)
        for message in batch.messages:
            await self._send(room_id, message)
            if message.event in (ServerEvent.SESSION_REPLACED, ServerEvent.SESSION_REMOVED):
                assert message.member is not None
                await self._disconnect_member(room_id, message.member)
        if batch.over:
            await self._sio.close_room(room_channel(room_id))
            await self._sio.close_room(moderators_channel(room_id))

    async def _move_channel(self, room_id: str, member_id: str, into_room: bool) -> None:
        """Admission moves a member's connection in or out of the room's fan-out."""
        holder = self._connections.seat_holder(room_id, member_id)
        if holder is None:
            return
        if into_room:
            await self._sio.enter_room(holder.sid, room_channel(room_id))
        else:
            await self._sio.leave_room(holder.sid, room_channel(room_id))

    async def _send(self, room_id: str, message: codec.Outgoing) -> None:
        # Straight to this process's channels: `publish` is the whole of what a batch of
        # events says, and a subclass that shares pushes with other processes shares
        # the batch once, not each message again.
        if message.audience is codec.Audience.MEMBER:
            assert message.member is not None
            await self._emit(
                message.event, message.payload, member_channel(room_id, message.member)
            )
            return
        if message.audience is codec.Audience.MODERATORS:
            await self._emit(message.event, message.payload, moderators_channel(room_id))
            return
        skip = None
        if message.except_member is not None:
            holder = self._connections.seat_holder(room_id, message.except_member)
            skip = holder.sid if holder is not None else None
        await self._emit(message.event, message.payload, room_channel(room_id), skip_sid=skip)

    async def _disconnect_member(self, room_id: str, member_id: str) -> None:
        holder = self._connections.seat_holder(room_id, member_id)
        if holder is not None:
            self._connections.release_seat(holder)
            await self.leave_channels(holder.sid, room_id, member_id)
            await self._sio.disconnect(holder.sid)

    # --- pushes from the process ---------------------------------------------------

    async def send_to_member(
        self, room_id: str, member_id: str, event: str, payload: dict[str, Any]
    ) -> None:
        await self._emit(event, payload, member_channel(room_id, member_id))

    async def send_to_moderators(self, room_id: str, event: str, payload: dict[str, Any]) -> None:
        await self._emit(event, payload, moderators_channel(room_id))

    async def send_to_room(self, room_id: str, event: str, payload: dict[str, Any]) -> None:
        """Every admitted member of the room."""
        await self._emit(event, payload, room_channel(room_id))

    def announce_speaking(self, room_id: str, member_id: str, speaking: bool) -> None:
        """Active-speaker hint from the relay's voice activity (called from sync code)."""
        task = asyncio.get_running_loop().create_task(
            self._emit(
                ServerEvent.FLOOR_SPEAKING,
                {"id": member_id, "speaking": speaking},
                room_channel(room_id),
            )
        )
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def emit_to_sid(self, sid: str, event: str, payload: dict[str, Any]) -> None:
        self._observer.message_out(event)
        await self._sio.emit(event, payload, to=sid)

    async def _emit(
        self, event: str, payload: dict[str, Any], to: str, skip_sid: str | None = None
    ) -> None:
        self._observer.message_out(event)
        await self._sio.emit(event, payload, to=to, skip_sid=skip_sid)
