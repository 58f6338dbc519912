"""Fan-out across processes: what one process pushes, the others deliver to their own.

Every process keeps the single-process `Fanout` for its own connections (channels,
seat holders, dropping a replaced connection), so all of signaling's rules hold as
they are. This subclass adds one thing: whatever it pushes is also published on the
room's cluster channel, and what other processes publish there is delivered here
through the plain `Fanout` methods, never shared again.

- Domain events: the room's owner renders the batch into wire messages once; its
  fenced save publishes them (`announcement`), and `publish` delivers them here; each
  other process delivers them to its own members, without the room. The owner
  publishes inside the room's lock, before it answers the command, so the process that
  asked has handled the events before its caller goes on (as when one process does it
  all).
- Pushes from anywhere (relay offers, quality, talk reports, speaking hints): sent
  here and published for the rest.

A process listens to a room's channel while it holds a connection seated there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Any

from rooms.errors import DomainError
from rooms.events import DomainEvent
from rooms.room import Room
from server.cluster.bus import ClusterBus, Message, SealedRoomMessage
from server.cluster.domain_codec import events_from_data
from server.cluster.leases import SeatNodes
from server.cluster.wire_batch import batch_from_data, batch_to_data
from server.stores.room_codec import room_from_json
from signaling.connections import Connection, ConnectionRegistry
from signaling.events import ServerEvent
from signaling.fanout import Fanout, SignalingObserver, WireBatch, render
from signaling.socket_server import SignalingServer

log = logging.getLogger(__name__)


class RoomConnections(ConnectionRegistry):
    """The registry, plus a call whenever a connection leaves (to stop listening)."""

    def __init__(self) -> None:
        super().__init__()
        self.on_gone: Callable[[str], None] = lambda room_id: None
        # Connections by room, so "does anyone here sit in this room" costs the room's
        # connections, not every connection of the process (checked every beat).
        self._by_room: dict[str, set[str]] = {}

    def add(self, connection: Connection) -> None:
        super().add(connection)
        self._by_room.setdefault(connection.identity.room, set()).add(connection.sid)

    def remove(self, sid: str) -> Connection | None:
        connection = super().remove(sid)
        if connection is not None:
            room_id = connection.identity.room
            sids = self._by_room.get(room_id)
            if sids is not None:
                sids.discard(sid)
                if not sids:
                    del self._by_room[room_id]
            self.on_gone(room_id)
        return connection

    def seated_here(self, room_id: str) -> bool:
        for sid in self._by_room.get(room_id, ()):
            connection = self.get(sid)
            if connection is not None and connection.joined and self.holds_seat(connection):
                return True
        return False

    def rooms(self) -> set[str]:
        return set(self._by_room)

    def has_room(self, room_id: str) -> bool:
        """Whether any connection here is for this room (joined or not yet)."""
        return room_id in self._by_room


class ClusterFanout(Fanout):
    def __init__(
        self,
        sio: SignalingServer,
        connections: RoomConnections,
        observer: SignalingObserver,
        clock: Callable[[], float],
        *,
        bus: ClusterBus,
        seats: SeatNodes,
    ) -> None:
        super().__init__(sio, connections, observer, clock)
        self._room_connections = connections
        self._bus = bus
        self._seats = seats
        self._watched: set[str] = set()
        self._watch_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        # Batches the owner's save published, by room, until `publish` delivers them here.
        self._announced: dict[str, tuple[Room, WireBatch]] = {}
        connections.on_gone = self._connection_gone

    # --- pushes: here, then to the other processes -------------------------------------

    def announcement(self, room: Room, events: Sequence[DomainEvent]) -> SealedRoomMessage:
        """The command's fan-out, for the owner's fenced save to publish; `publish`
        then only delivers it here."""
        batch = render(room, events, self._clock())
        self._announced[room.id] = (room, batch)
        return self._bus.room_message(room.id, {"kind": "wire", **batch_to_data(batch)})

    async def publish(self, room: Room, events: Sequence[DomainEvent]) -> None:
        announced = self._announced.pop(room.id, None)
        if announced is not None and announced[0] is room:
            await self.deliver_batch(announced[1])  # the save published it
            return
        batch = render(room, events, self._clock())
        await self.deliver_batch(batch)
        if events:
            await self._share(room.id, {"kind": "wire", **batch_to_data(batch)})

    async def send_to_member(
        self, room_id: str, member_id: str, event: str, payload: dict[str, Any]
    ) -> None:
        await super().send_to_member(room_id, member_id, event, payload)
        await self._share(
            room_id, {"kind": "member", "member": member_id, "event": event, "payload": payload}
        )

    async def send_to_moderators(self, room_id: str, event: str, payload: dict[str, Any]) -> None:
        await super().send_to_moderators(room_id, event, payload)
        await self._share(room_id, {"kind": "moderators", "event": event, "payload": payload})

    async def send_to_room(self, room_id: str, event: str, payload: dict[str, Any]) -> None:
        await super().send_to_room(room_id, event, payload)
        await self._share(room_id, {"kind": "room", "event": event, "payload": payload})

    def announce_speaking(self, room_id: str, member_id: str, speaking: bool) -> None:
        super().announce_speaking(room_id, member_id, speaking)
        message = {
            "kind": "room",
            "event": ServerEvent.FLOOR_SPEAKING.value,
            "payload": {"id": member_id, "speaking": speaking},
        }
        self._spawn(self._share(room_id, message))

    async def _share(self, room_id: str, message: Message) -> None:
        try:
            await self._bus.publish_room(room_id, message)
        except DomainError:
            # Redis is away: members here were told; the others hear the next change.
            log.warning("cluster: a push reached only this process", extra={"room": room_id})

    # --- what other processes pushed -----------------------------------------------------

    async def deliver(self, room_id: str, message: Message) -> None:
        kind = message.get("kind")
        if kind == "wire":
            await self.deliver_batch(batch_from_data(room_id, message))
        elif kind == "events":
            # From a process of the previous release during a rolling restart.
            room = room_from_json(message["room"])
            await Fanout.publish(self, room, events_from_data(message["events"]))
        elif kind == "member":
            await Fanout.send_to_member(
                self, room_id, message["member"], message["event"], message["payload"]
            )
        elif kind == "moderators":
            await Fanout.send_to_moderators(self, room_id, message["event"], message["payload"])
        elif kind == "room":
            await Fanout.send_to_room(self, room_id, message["event"], message["payload"])

    # --- which rooms this process listens to -------------------------------------------

    async def seat(self, connection: Connection, *, admitted: bool) -> None:
        await super().seat(connection, admitted=admitted)
        identity = connection.identity
        await self._seats.hold(identity.room, identity.member_id)
        await self._sync_watch(identity.room)

    async def resync(self) -> None:
        """Listen to exactly the rooms with connections here. A subscribe that met a
        Redis outage is not remembered by the pub/sub client: this mends it (every beat)."""
        for room_id in self._room_connections.rooms() | self._watched:
            await self._sync_watch(room_id)

    def _connection_gone(self, room_id: str) -> None:
        self._spawn(self._sync_watch(room_id))

    async def _sync_watch(self, room_id: str) -> None:
        async with self._watch_lock:
            wanted = self._room_connections.seated_here(room_id)
            with contextlib.suppress(DomainError):
                if wanted and room_id not in self._watched:
                    await self._bus.watch_room(room_id)
                    self._watched.add(room_id)
                elif not wanted and room_id in self._watched:
                    await self._bus.unwatch_room(room_id)
                    self._watched.discard(room_id)

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
