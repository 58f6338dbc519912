"""Each room's commands run on the process that owns it; any process may be asked.

`ClusteredRooms` is what signaling, the relay and the admin API see as "the rooms"
when several processes share one Redis. A command for a room this process owns runs
here, under the room's lock, and is saved with a fenced write before anyone hears of
it. A command for a room another process owns travels there over the cluster bus,
and the answer (the saved room and its events) travels back: a command is answered
only after its result is saved. A room nobody owns (its owner died, or it is new) is
taken by whichever process needs it first, including the housekeeping beat of every
process, which claims the ownerless rooms so that timers never stop.

A room follows its first member: an owner asked to seat someone in a room where nobody
is seated (a room housekeeping claimed before anyone came, or one its members all left),
and with no connection of that room of its own, hands the room to the asking process
instead, which takes it and seats the member. The balancer sends a room's members to
one process (docs/operations.md), so the room's commands and fan-out then stay in that
process; nothing is lost in the move, as no one holds a seat, a relay leg or a timer
there.

Taking a room over: seats held by connections of a process that is gone start their
grace period (their pages reconnect elsewhere and resume), and members still
connected elsewhere are told to open a fresh relay leg, because the relay lived in
the old owner.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from rooms.commands import AnyCommand, Disconnect, Join, Tick
from rooms.errors import DomainError, ErrorCode
from rooms.events import DomainEvent
from rooms.room import Room
from server.cluster.bus import RPC_TIMEOUT_S, ClusterBus, Message, SealedRoomMessage, Unreachable
from server.cluster.domain_codec import (
    command_from_json,
    command_to_json,
    events_from_data,
    events_to_data,
)
from server.cluster.late_disconnects import LateDisconnects
from server.cluster.leases import LEASE_TTL_S, RENEW_EVERY_S, Lease, Leases, Nodes, SeatNodes
from server.room_service import RoomService
from server.stores.redis_store import Announcement, LeaseLost, RedisRoomStore
from server.stores.room_codec import room_from_json, room_to_json

log = logging.getLogger(__name__)

# A request that meets a moved room follows it at most this many times.
MAX_HOPS = 3
# How long a process trusts what it last read of another process owning a room, so a
# busy room's commands do not each cost a read of the lease. Short: a process that
# hands its rooms over and exits is asked for no longer than this (a room that moved
# while its owner lives answers MOVED, which forgets the entry at once).
OWNER_CACHE_S = 0.5
MOVED = {"moved": True}
# How often a request for a room whose owner is unreachable looks whether it let go.
LEASE_POLL_S = 0.1
# How long housekeeping leaves a room alone after handing it to its first member's
# process, which takes it within a round trip.
HANDED_OVER_QUIET_S = 5.0

# Called with a room this process just took from another owner (the relay restart push).
TakeoverHook = Callable[[Room], Awaitable[None]]
# Called with the id of a room this process no longer owns (close its relay here).
LostHook = Callable[[str], Awaitable[None]]
# Requests other processes may send this one about a room it owns: (room, body) -> result.
LocalRequest = Callable[[str, Message], Awaitable[Any]]
# A command's fan-out message, for the fenced save to publish (the process's fan-out).
Announcer = Callable[[Room, Sequence[DomainEvent]], SealedRoomMessage]


class ClusteredRooms(RoomService):
    """RoomService whose `execute` and `tick` run on the room's owner."""

    def __init__(
        self,
        store: RedisRoomStore,
        *,
        leases: Leases,
        nodes: Nodes,
        seats: SeatNodes,
        bus: ClusterBus,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(store, clock)
        # Every save is fenced by the lease this process holds for the room.
        store.fence = self.fence
        self.node_id = leases.node_id
        self._leases = leases
        self._nodes = nodes
        self._seats = seats
        self._bus = bus
        self._owned: dict[str, Lease] = {}
        # The owner's rooms as it last saved them: its fenced writes are the only
        # writes, so reading them back from Redis on every command is wasted work.
        self._rooms: dict[str, Room] = {}
        self._taking: dict[str, asyncio.Lock] = {}
        # Rooms owned elsewhere: (node, monotonic time until which it is trusted).
        self._owners: dict[str, tuple[str, float]] = {}
        # Rooms handed to their first member's process: monotonic time until which
        # housekeeping here leaves them alone.
        self._handed_over: dict[str, float] = {}
        self._on_takeover: list[TakeoverHook] = []
        self._on_lost: list[LostHook] = []
        self._requests: dict[str, LocalRequest] = {
            "execute": self._execute_request,
            "perform": self._perform_request,
            "adopt": self._adopt_request,
        }
        self._draining = False
        self._announcer: Announcer | None = None
        self._redis_store = store
        # Who holds a seat on this process: set by the process's fan-out.
        self.late_disconnects = LateDisconnects(seats, holds_here=lambda room, member: False)
        # Whether any connection of the room is on this process (set likewise).
        self.connected_here: Callable[[str], bool] = lambda room_id: False

    # --- ownership ---------------------------------------------------------------------

    def on_takeover(self, hook: TakeoverHook) -> None:
        self._on_takeover.append(hook)

    def on_lost(self, hook: LostHook) -> None:
        self._on_lost.append(hook)

    def announce_with_saves(self, announcer: Announcer) -> None:
        """Each command's events go out with its fenced save, in one round trip."""
        self._announcer = announcer

    async def _save(self, room: Room, events: Sequence[DomainEvent]) -> None:
        if self._announcer is None or not events:
            await self._redis_store.save(room)
            return
        sealed = self._announcer(room, events)
        await self._redis_store.save(room, Announcement(sealed.channel, sealed.message))
        sealed.published()

    def serve_request(self, kind: str, handler: LocalRequest) -> None:
        """Other processes may ask this one `kind` about a room it owns (relay offers)."""
        self._requests[kind] = handler

    async def _load(self, room_id: str) -> Room | None:
        room = self._rooms.get(room_id) if room_id in self._owned else None
        return room if room is not None else await self.store.get(room_id)

    def _applied(self, room: Room) -> None:
        if room.id in self._owned:
            self._rooms[room.id] = room

    def fence(self, room_id: str) -> str | None:
        """The lease value this process writes the room under (the store's fence)."""
        lease = self._owned.get(room_id)
        return None if lease is None else lease.value

    def owns(self, room_id: str) -> bool:
        return room_id in self._owned

    def owned(self) -> list[str]:
        return list(self._owned)

    async def owner(self, room_id: str, *, fresh: bool = False) -> str:
        """The node that runs this room now; takes it when nobody does. `fresh`: read
        the lease, not what another request here cached (a request that was just told
        the room moved: a read begun before the move may have cached the old owner)."""
        if room_id in self._owned:
            return self.node_id
        known = self._owners.get(room_id)
        if not fresh and known is not None and known[1] > time.monotonic():
            return known[0]
        lease = await self._leases.holder(room_id)
        if lease is not None:
            if lease.node != self.node_id:  # ours, yet not taken: a take is under way
                self._owners[room_id] = (lease.node, time.monotonic() + OWNER_CACHE_S)
            return lease.node
        return await self._take(room_id)

    def _forget_owner(self, room_id: str) -> None:
        self._owners.pop(room_id, None)

    def _forget_stale_hand_overs(self) -> None:
        now = time.monotonic()
        for room_id in [r for r, until in self._handed_over.items() if until <= now]:
            del self._handed_over[room_id]

    def _forget_stale_owners(self) -> None:
        now = time.monotonic()
        for room_id in [r for r, (_, until) in self._owners.items() if until <= now]:
            del self._owners[room_id]

    async def _take(self, room_id: str) -> str:
        lock = self._taking.setdefault(room_id, asyncio.Lock())
        settled: Room | None = None
        try:
            async with lock:
                if room_id in self._owned:
                    return self.node_id
                lease = await self._acquire(room_id)
                if isinstance(lease, str):
                    return lease  # another process holds it
                self._rooms.pop(room_id, None)  # load afresh: others wrote it meanwhile
                # No command of ours runs on the room before it is settled: a member
                # who comes back here during the takeover sits down after the settle's
                # "your process is gone", not before it (which would leave a member
                # who is here marked as away, and out of the room once grace ends).
                async with self._lock(room_id):
                    self._owned[room_id] = lease
                    log.info("room taken", extra={"room": room_id, "epoch": lease.epoch})
                    if lease.epoch > 1:
                        settled = await self._settle(room_id)
        finally:
            if not lock.locked():
                self._taking.pop(room_id, None)
        if settled is not None:
            for hook in self._on_takeover:
                await hook(settled)
        return self.node_id

    async def _acquire(self, room_id: str) -> Lease | str:
        """Our new lease on the room, or the node that holds it."""
        if self._draining:
            raise DomainError(ErrorCode.UNAVAILABLE)
        if await self.get(room_id) is None:
            raise DomainError(ErrorCode.ROOM_NOT_FOUND, "This session does not exist.")
        # Twice: a holder may let go between our try and our read (a room handed to
        # its first member's process, a lease that lapsed).
        for _ in range(2):
            lease = await self._leases.acquire(room_id)
            if lease is not None:
                return lease
            holder = await self._leases.holder(room_id)
            if holder is not None:
                return holder.node
        log.warning("cluster: the room's lease came and went twice", extra={"room": room_id})
        raise DomainError(ErrorCode.UNAVAILABLE)

    async def _settle(self, room_id: str) -> Room | None:
        """After a takeover, under the room's lock: seats of dead processes into grace.
        The room then, for the takeover hooks (members re-open their relay legs)."""
        alive = await self._nodes.alive()
        holders = await self._seats.all(room_id)
        room = await self._load(room_id)
        if room is None:
            return None
        now = self.clock()
        for member in room.connected():
            if holders.get(member.id) not in alive:
                with contextlib.suppress(DomainError):
                    room, _ = await self._execute_locked(room_id, Disconnect(member.id, now))
        return room

    async def _lose(self, room_id: str) -> None:
        self._rooms.pop(room_id, None)
        self._forget_owner(room_id)
        if self._owned.pop(room_id, None) is None:
            return
        log.info("room lease lost", extra={"room": room_id})
        await self._closed_here(room_id)

    async def _closed_here(self, room_id: str) -> None:
        """This process no longer owns the room: its relay here closes (the lost hooks)."""
        for hook in self._on_lost:
            with contextlib.suppress(Exception):
                await hook(room_id)

    async def renew(self) -> None:
        """Every RENEW_EVERY_S: say this process is alive, keep the leases it holds."""
        await self._nodes.heartbeat()
        self._forget_stale_owners()
        owned = list(self._owned.items())
        kept = await self._leases.renew([lease for _, lease in owned])
        for (room_id, lease), still_ours in zip(owned, kept, strict=True):
            if not still_ours and self._owned.get(room_id) is lease:
                await self._lose(room_id)

    async def renew_forever(self) -> None:
        while True:
            with contextlib.suppress(DomainError):  # Redis away: fences keep writes safe
                await self.renew()
            await asyncio.sleep(RENEW_EVERY_S)

    # --- commands ------------------------------------------------------------------------

    async def execute(
        self, room_id: str, command: AnyCommand
    ) -> tuple[Room, tuple[DomainEvent, ...]]:
        result = await self._run_on_owner(room_id, command, answer_wanted=True)
        assert result is not None
        return result

    async def perform(self, room_id: str, command: AnyCommand) -> None:
        await self._run_on_owner(room_id, command, answer_wanted=False)

    async def _run_on_owner(
        self, room_id: str, command: AnyCommand, *, answer_wanted: bool
    ) -> tuple[Room, tuple[DomainEvent, ...]] | None:
        try:
            return await self._execute_on_owner(room_id, command, answer_wanted)
        except DomainError as refusal:
            if isinstance(command, Disconnect) and refusal.code is ErrorCode.UNAVAILABLE:
                self.late_disconnects.add(room_id, command.member_id, command.now)
            raise

    async def _execute_on_owner(
        self, room_id: str, command: AnyCommand, answer_wanted: bool
    ) -> tuple[Room, tuple[DomainEvent, ...]] | None:
        for hop in range(MAX_HOPS):
            owner = await self.owner(room_id, fresh=hop > 0)
            if owner == self.node_id:
                try:
                    return await super().execute(room_id, command)
                except LeaseLost:
                    await self._lose(room_id)
                    continue
            if answer_wanted:
                result = await self._ask(owner, "execute", room_id, self._request(command))
                if result == MOVED:
                    continue
                return room_from_json(result["room"]), events_from_data(result["events"])
            # No room travels back; when this process hears the room's channel, the
            # owner's fan-out of the events is the answer (bus.py).
            body = {**self._request(command), "answer_on_room": self._bus.hears(room_id)}
            if await self._ask(owner, "perform", room_id, body) == MOVED:
                continue
            return None
        log.warning("cluster: the room's owner could not be reached", extra={"room": room_id})
        raise DomainError(ErrorCode.UNAVAILABLE)

    def _request(self, command: AnyCommand) -> Message:
        """A command for the owner; `can_own`: the owner may hand an empty room to us."""
        return {"command": command_to_json(command), "can_own": not self._draining}

    async def _ask(
        self, owner: str, kind: str, room_id: str, body: Message, timeout_s: float = RPC_TIMEOUT_S
    ) -> Any:
        """A request to the room's owner; an owner that moved the room or did not
        answer is not asked again before the lease is read afresh."""
        try:
            result = await self._bus.call(owner, kind, room_id, body, timeout_s)
        except Unreachable:
            # The owner is most likely dead (kill -9): its lease lapses within the TTL,
            # and then this process takes the room. Waiting here answers a member who
            # came back from the dead process as soon as that happens, where a refusal
            # would have the page retry on a growing delay.
            self._forget_owner(room_id)
            await self._until_released_by(owner, room_id)
            return MOVED
        except DomainError as refusal:
            if refusal.code is ErrorCode.UNAVAILABLE:
                self._forget_owner(room_id)
            raise
        if result == MOVED:
            self._forget_owner(room_id)
        return result

    async def _until_released_by(self, node: str, room_id: str) -> None:
        """Until `node` no longer holds the room; `unavailable` if it still does after a
        lease's lifetime (it is alive after all, and renewing)."""
        deadline = time.monotonic() + LEASE_TTL_S + LEASE_POLL_S
        while time.monotonic() < deadline:
            holder = await self._leases.holder(room_id)
            if holder is None or holder.node != node:
                return
            await asyncio.sleep(LEASE_POLL_S)
        log.warning("cluster: an owner nobody hears still holds its room", extra={"room": room_id})
        raise DomainError(ErrorCode.UNAVAILABLE)

    async def on_owner(
        self, room_id: str, kind: str, body: Message, timeout_s: float = RPC_TIMEOUT_S
    ) -> Any:
        """Run request `kind` (served with serve_request) on the room's owner."""
        for hop in range(MAX_HOPS):
            owner = await self.owner(room_id, fresh=hop > 0)
            if owner == self.node_id:
                return await self._requests[kind](room_id, body)
            result = await self._ask(owner, kind, room_id, body, timeout_s)
            if result != MOVED:
                return result
        raise DomainError(ErrorCode.UNAVAILABLE)

    async def handle_request(self, kind: str, room_id: str, body: Message) -> Any:
        handler = self._requests.get(kind)
        if handler is None:
            raise DomainError(ErrorCode.UNAVAILABLE, f"unknown request {kind!r}")
        if kind != "adopt" and room_id not in self._owned:
            return MOVED
        return await handler(room_id, body)

    async def _hand_to_first_member(self, room_id: str, command: AnyCommand, body: Message) -> bool:
        """Whether this request seats the first member of an empty room from another
        process that can own it: then the room is released here for that process to
        take (see the module's docstring), and the request answers MOVED."""
        if not isinstance(command, Join) or body.get("can_own") is not True:
            return False
        if body.get("from") == self.node_id or self.connected_here(room_id):
            # Someone here is about to sit down too (two first members at once on two
            # processes): the room stays, or the two would pass it back and forth.
            return False
        async with self._lock(room_id):
            room = await self._load(room_id)
            if room is None or room.seated() or room_id not in self._owned:
                return False
            await self._release(room_id)
        # Not claimed back by this process's housekeeping before the other takes it.
        self._handed_over[room_id] = time.monotonic() + HANDED_OVER_QUIET_S
        log.info("room handed to its first member's process", extra={"room": room_id})
        await self._closed_here(room_id)
        return True

    async def _execute_request(self, room_id: str, body: Message) -> Any:
        command = command_from_json(body["command"])
        if await self._hand_to_first_member(room_id, command, body):
            return MOVED
        try:
            room, events = await super().execute(room_id, command)
        except LeaseLost:
            await self._lose(room_id)
            return MOVED
        return {"room": room_to_json(room), "events": events_to_data(events)}

    async def _perform_request(self, room_id: str, body: Message) -> Any:
        command = command_from_json(body["command"])
        if await self._hand_to_first_member(room_id, command, body):
            return MOVED
        try:
            await super().execute(room_id, command)
        except LeaseLost:
            await self._lose(room_id)
            return MOVED
        return None

    async def _adopt_request(self, room_id: str, body: Message) -> Any:
        """A draining process handed this room over: take it now."""
        return {"owner": await self.owner(room_id)}

    # --- housekeeping and shutdown ---------------------------------------------------

    async def tick(self, room_ids: Sequence[str]) -> None:
        """Claim the live rooms nobody owns, then tick those this process owns."""
        now = self.clock()
        holders = await self._leases.holders(list(room_ids))
        self._forget_stale_hand_overs()
        for room_id, lease in holders.items():
            if lease is None and not self._draining and room_id not in self._handed_over:
                with contextlib.suppress(DomainError):
                    await self._take(room_id)
        for room_id in list(self._owned):
            try:
                room, _ = await super().execute(room_id, Tick(now))
            except LeaseLost:
                await self._lose(room_id)
                continue
            except DomainError:
                continue
            if room.is_over:
                await self._release(room_id)

    async def _release(self, room_id: str) -> None:
        # Ours until Redis has let go: a request that met the room meanwhile and was
        # answered MOVED would read the lease still there, come back, and use up its
        # hops; while we hold the lease, requests run here.
        lease = self._owned.get(room_id)
        if lease is not None:
            with contextlib.suppress(DomainError):
                await self._leases.release(lease)
        self._rooms.pop(room_id, None)
        if self._owned.get(room_id) is lease:
            self._owned.pop(room_id, None)

    async def hand_over(self) -> int:
        """SIGTERM: stop taking rooms; give each owned room to another live process."""
        self._draining = True
        others = sorted((await self._nodes.alive()) - {self.node_id})
        with contextlib.suppress(DomainError):
            await self._nodes.leave()
        rooms = list(self._owned)
        for room_id in rooms:
            await self._release(room_id)
            await self._closed_here(room_id)
        if not others:
            return 0
        # Spread the rooms; each adopter takes its room at once instead of at its
        # next beat, so members re-open their relay legs within a second.
        await asyncio.gather(
            *(self._adopt(others[i % len(others)], room_id) for i, room_id in enumerate(rooms)),
            return_exceptions=True,
        )
        return len(rooms)

    async def _adopt(self, node: str, room_id: str) -> None:
        await self._bus.call(node, "adopt", room_id, {})
