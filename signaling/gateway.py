"""Socket.IO handlers: authenticate, decode, dispatch, answer. The room logic is elsewhere."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rooms.commands import Disconnect
from rooms.errors import DomainError, ErrorCode
from rooms.room import RoomKind
from signaling import codec
from signaling.connections import Connection
from signaling.deadline import Deadlines
from signaling.dispatch import (
    Dispatcher,
    Reply,
    Route,
    connect_refusal,
    error_event,
    error_reply,
    flood_error,
)
from signaling.events import ClientEvent, ServerEvent
from signaling.fanout import Fanout
from signaling.origin import OriginPolicy
from signaling.ports import (
    Authenticator,
    GroupMedia,
    IceProvider,
    Identity,
    Refusal,
    RoomGateway,
    StatsSink,
)
from signaling.rate_limit import TokenBucket
from signaling.schemas import (
    CandidatePayload,
    DescriptionPayload,
    EmptyPayload,
    JoinPayload,
    MediaStatePayload,
    RelaySdpPayload,
    StatsPayload,
)
from signaling.socket_server import SignalingServer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    rate_per_s: float = 20.0
    burst: float = 60.0
    max_message_bytes: int = 64 * 1024
    # An authenticated connection must session.join within this (0: no deadline).
    join_timeout_s: float = 0.0


class Signaling:
    def __init__(
        self,
        sio: SignalingServer,
        *,
        auth: Authenticator,
        rooms: RoomGateway,
        ice: IceProvider,
        origin_policy: OriginPolicy,
        limits: Limits = Limits(),
        fanout: Fanout,
        group_media: GroupMedia | None = None,
        stats_sink: StatsSink | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sio = sio
        # Built first by the process, so the relay and quality can push through it too.
        self.fanout = fanout
        self.connections = fanout.connections
        self._auth = auth
        self.rooms = rooms
        self._ice = ice
        self._origin = origin_policy
        self._limits = limits
        self._group_media = group_media
        self._stats_sink = stats_sink
        self._observer = fanout.observer
        self.clock = clock
        self._monotonic = monotonic
        # The process pushes through these (RoomService listener, relay, quality, floor).
        self.publish = self.fanout.publish
        self.send_to_member = self.fanout.send_to_member
        self.send_to_moderators = self.fanout.send_to_moderators
        self.announce_speaking = self.fanout.announce_speaking
        self._dispatcher: Dispatcher[Connection] = Dispatcher(
            max_message_bytes=limits.max_message_bytes,
            monotonic=monotonic,
            on_flood=self._flooding,
            holds_seat=self.connections.holds_seat,
        )
        self._routes = self._dispatcher.routes
        self._routes |= {
            ClientEvent.SESSION_JOIN: Route(JoinPayload, self._join, needs_join=False),
            ClientEvent.SESSION_LEAVE: Route(EmptyPayload, self._leave),
            ClientEvent.MEDIA_STATE: Route(MediaStatePayload, self._media_state),
            ClientEvent.SIGNAL_DESCRIPTION: Route(DescriptionPayload, self._relay_description),
            ClientEvent.SIGNAL_CANDIDATE: Route(CandidatePayload, self._relay_candidate),
            ClientEvent.RELAY_OFFER: Route(RelaySdpPayload, self._relay_offer),
            ClientEvent.RELAY_ANSWER: Route(RelaySdpPayload, self._relay_answer),
            ClientEvent.MEDIA_CONNECTED: Route(EmptyPayload, self._media_connected),
            ClientEvent.STATS_REPORT: Route(StatsPayload, self._stats_report),
        }
        self._join_deadlines = Deadlines(limits.join_timeout_s)
        sio.frames.on_malformed = self._observer.malformed_frame
        sio.on("connect", self._on_connect)
        sio.on("disconnect", self._on_disconnect)
        sio.on("*", self._on_event)

    def add_route(self, event: str, route: Route[Connection]) -> None:
        """Later features (moderation, floor, stats) register their events here."""
        self._dispatcher.add_route(event, route)

    # --- connection lifecycle -------------------------------------------------

    async def _on_connect(self, sid: str, environ: Mapping[str, Any], auth: Any) -> None:
        if not self._origin.allows(environ):
            self._observer.refused(ErrorCode.ORIGIN_NOT_ALLOWED)
            raise connect_refusal(ErrorCode.ORIGIN_NOT_ALLOWED)
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            identity = self._auth.authenticate(token)
            await self._check_room_open(identity)
        except (Refusal, DomainError) as refusal:  # DomainError: `unavailable` (store down)
            self._observer.refused(refusal.code)
            raise connect_refusal(refusal.code, refusal.message) from None
        bucket = TokenBucket(
            self._limits.rate_per_s, self._limits.burst, updated_at=self._monotonic()
        )
        self.connections.add(Connection(sid=sid, identity=identity, bucket=bucket))
        self._join_deadlines.arm(sid, lambda: self._join_timed_out(sid))

    async def _check_room_open(self, identity: Identity) -> None:
        room = await self.rooms.get(identity.room)
        if room is None:
            raise Refusal(ErrorCode.ROOM_NOT_FOUND)
        if room.is_over:
            raise Refusal(ErrorCode.ROOM_ENDED)
        if identity.member_id in room.revoked:
            raise Refusal(ErrorCode.TOKEN_REVOKED)

    async def _join_timed_out(self, sid: str) -> None:
        code = ErrorCode.JOIN_TIMEOUT
        await self.fanout.emit_to_sid(
            sid,
            ServerEvent.ERROR,
            {"code": code, "event": ClientEvent.SESSION_JOIN.value, "message": code.message},
        )
        await self.sio.close_connection(sid)

    async def _on_disconnect(self, sid: str, reason: Any = None) -> None:
        self._join_deadlines.cancel(sid)
        connection = self.connections.get(sid)
        if connection is None:
            return
        holds_seat = self.connections.holds_seat(connection)
        self.connections.remove(sid)
        if holds_seat:
            identity = connection.identity
            with contextlib.suppress(DomainError):
                await self.rooms.perform(
                    identity.room, Disconnect(identity.member_id, self.clock())
                )

    # --- dispatch ---------------------------------------------------------------

    async def _on_event(self, event: str, sid: str, data: Any = None, *extra: Any) -> Reply | None:
        reply = await self._dispatch(event, sid, data, extra)
        error = error_event(reply, event)
        if error is not None:
            await self.fanout.emit_to_sid(sid, ServerEvent.ERROR, error)
        return reply

    async def _dispatch(self, event: str, sid: str, data: Any, extra: tuple[Any, ...]) -> Reply:
        connection = self.connections.get(sid)
        if connection is None:
            return error_reply(ErrorCode.NOT_CONNECTED)
        self._observer.message_in(event)
        return await self._dispatcher.dispatch(connection, connection.bucket, event, data, extra)

    async def _flooding(self, connection: Connection, event: str) -> None:
        log.warning("disconnecting a flooding connection", extra={"room": connection.identity.room})
        await self.fanout.emit_to_sid(connection.sid, ServerEvent.ERROR, flood_error(event))
        await self.sio.close_connection(connection.sid)

    # --- handlers ---------------------------------------------------------------

    async def _join(self, connection: Connection, payload: JoinPayload) -> Reply:
        identity = connection.identity
        command = codec.join_command(identity, payload, self.clock())
        room, events = await self.rooms.execute(identity.room, command)
        if self.connections.get(connection.sid) is not connection:
            # The connection closed while the join ran (its disconnect found no seat to
            # release): undo the seat, or the room would show a member nobody holds.
            with contextlib.suppress(DomainError):
                await self.rooms.perform(
                    identity.room, Disconnect(identity.member_id, self.clock())
                )
            return error_reply(ErrorCode.NOT_CONNECTED)
        member = room.require_member(identity.member_id)
        await self.fanout.seat(connection, admitted=member.admitted)
        self._join_deadlines.cancel(connection.sid)
        connection.joined_at = self._monotonic()
        relay: dict[str, Any] = {}
        if self._group_media is not None and identity.kind is RoomKind.GROUP and member.admitted:
            # After a restart the page's leg points at a relay that no longer exists: it
            # opens a fresh one at once instead of waiting for ICE to call the old one dead.
            relay["relay_leg"] = await self._group_media.has_leg(identity)
        return {
            "ok": True,
            "self": {"id": identity.member_id, "role": identity.role.value, "name": identity.name},
            "room": codec.room_view(room),
            **codec.session_view(room, member, self.clock()),
            # The participant yields in glare (W3C perfect negotiation).
            "polite": identity.role.value != "therapist",
            # ice_servers, ice_transport_policy and, with TURN, ice_servers_ttl_s.
            **self._ice.ice_config(identity.member_id),
            "resume_token": self._auth.resume_token(identity),
            "resumed": any(e.name == "member_reconnected" for e in events),
            **relay,
        }

    async def _leave(self, connection: Connection, payload: EmptyPayload) -> Reply:
        identity = connection.identity
        await self.rooms.perform(identity.room, codec.leave_command(identity, self.clock()))
        self.connections.release_seat(connection)
        await self.fanout.leave_channels(connection.sid, identity.room, identity.member_id)
        return {"ok": True}

    async def _media_connected(self, connection: Connection, payload: EmptyPayload) -> Reply:
        """The page's media reached "connected": join-to-connected time, once per join."""
        if connection.joined_at is not None:
            self._observer.join_connected(self._monotonic() - connection.joined_at)
            connection.joined_at = None
        return {"ok": True}

    async def _stats_report(self, connection: Connection, payload: StatsPayload) -> Reply:
        if self._stats_sink is not None:
            await self._stats_sink.report(connection.identity, payload.model_dump())
        return {"ok": True}

    async def _media_state(self, connection: Connection, payload: MediaStatePayload) -> Reply:
        identity = connection.identity
        command = codec.media_command(identity, payload, self.clock())
        await self.rooms.perform(identity.room, command)
        return {"ok": True}

    async def _relay_description(
        self, connection: Connection, payload: DescriptionPayload
    ) -> Reply:
        message = {
            "from": connection.identity.member_id,
            "description": payload.description.model_dump(),
        }
        return await self._to_peer(connection, payload.to, ServerEvent.SIGNAL_DESCRIPTION, message)

    async def _relay_candidate(self, connection: Connection, payload: CandidatePayload) -> Reply:
        candidate = None if payload.candidate is None else payload.candidate.model_dump()
        message = {"from": connection.identity.member_id, "candidate": candidate}
        return await self._to_peer(connection, payload.to, ServerEvent.SIGNAL_CANDIDATE, message)

    async def _to_peer(
        self, connection: Connection, to: str, event: ServerEvent, message: dict[str, Any]
    ) -> Reply:
        identity = connection.identity
        if identity.kind is not RoomKind.INDIVIDUAL:
            # Group media goes through the relay; members never signal each other.
            return error_reply(
                ErrorCode.NOT_ALLOWED, "Group sessions use the relay, not peer signaling."
            )
        if to == identity.member_id or not await self._is_seated(identity.room, to):
            return error_reply(ErrorCode.UNKNOWN_PEER)
        await self.fanout.send_to_member(identity.room, to, event, message)
        return {"ok": True}

    async def _is_seated(self, room_id: str, member_id: str) -> bool:
        # Hot path (every ICE candidate): a seat held on this node answers without the store.
        if self.connections.seat_holder(room_id, member_id) is not None:
            return True
        room = await self.rooms.get(room_id)
        peer = None if room is None else room.member(member_id)
        return peer is not None and peer.seated

    async def _relay_offer(self, connection: Connection, payload: RelaySdpPayload) -> Reply:
        media = self._require_group_media(connection)
        answer = await media.offer(connection.identity, payload.sdp)
        return {"ok": True, **answer}

    async def _relay_answer(self, connection: Connection, payload: RelaySdpPayload) -> Reply:
        media = self._require_group_media(connection)
        await media.answer(connection.identity, payload.sdp)
        return {"ok": True}

    def _require_group_media(self, connection: Connection) -> GroupMedia:
        if connection.identity.kind.value != "group" or self._group_media is None:
            raise Refusal(ErrorCode.NOT_ALLOWED, "This session does not use the group relay.")
        return self._group_media

    # --- what the process pushes through signaling --------------------------

    async def close_for_restart(self, message: str) -> int:
        """The process is stopping: tell every page why, then close its connection.

        Pages treat `server.restarting` as "reconnect with your resume token", not
        as the end of the session; each seat is held for the grace period as after
        any dropped transport. Returns how many connections were closed."""
        sids = self.connections.sids()
        payload = {"reason": "restart", "message": message}
        await asyncio.gather(*(self._close_for_restart(sid, payload) for sid in sids))
        return len(sids)

    async def _close_for_restart(self, sid: str, payload: dict[str, Any]) -> None:
        with contextlib.suppress(Exception):
            await self.fanout.emit_to_sid(sid, ServerEvent.SERVER_RESTARTING, payload)
        with contextlib.suppress(Exception):
            await self.sio.disconnect(sid)

    async def refresh_resume_tokens(self) -> None:
        """Links and resume tokens are short-lived: hand joined pages a fresh one."""
        for connection in self.connections.joined():
            token = self._auth.resume_token(connection.identity)
            await self.fanout.emit_to_sid(
                connection.sid, ServerEvent.SESSION_TOKEN, {"resume_token": token}
            )
