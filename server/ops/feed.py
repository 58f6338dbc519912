"""The ops dashboard's live feed: a socket.io namespace only ops tokens can join."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rooms.errors import ErrorCode
from rooms.member import Presence
from rooms.room import Room
from server.auth.tokens import TokenRefused, TokenVerifier
from server.ops.alerts import Alert, AlertLog
from server.ops.quality_service import QualityService
from server.room_service import RoomService
from signaling.dispatch import (
    Dispatcher,
    Reply,
    Route,
    connect_refusal,
    error_event,
    error_reply,
    flood_error,
)
from signaling.events import OpsEvent, ServerEvent
from signaling.gateway import Limits
from signaling.origin import OriginPolicy
from signaling.rate_limit import TokenBucket
from signaling.schemas import OpsWatchPayload
from signaling.socket_server import SignalingServer

log = logging.getLogger(__name__)

NAMESPACE = "/ops"
PUSH_INTERVAL_S = 2.0
ALERT_CHECK_S = 0.25
HISTORY_POINTS = 150


def pseudonym(room_id: str, member_id: str) -> str:
    """Stable within a room, meaningless outside it: ops see who struggles, not who it is."""
    return "m-" + hashlib.sha256(f"{room_id}/{member_id}".encode()).hexdigest()[:8]


@dataclass(eq=False)
class OpsConnection:
    sid: str
    bucket: TokenBucket
    # The room it drilled into (ops.watch), if any.
    room: str | None = None


class OpsFeed:
    def __init__(
        self,
        sio: SignalingServer,
        verifier: TokenVerifier,
        rooms: RoomService,
        quality: QualityService,
        alerts: AlertLog,
        *,
        origin_policy: OriginPolicy,
        limits: Limits,
        show_names: bool = False,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sio = sio
        self._verifier = verifier
        self._rooms = rooms
        self._quality = quality
        self._alerts = alerts
        self._show_names = show_names
        self._clock = clock
        self._origin = origin_policy
        self._limits = limits
        self._monotonic = monotonic
        self._watching: dict[str, OpsConnection] = {}
        # The session gateway's discipline: rate limit, size, schema, error replies.
        self._dispatcher: Dispatcher[OpsConnection] = Dispatcher(
            max_message_bytes=limits.max_message_bytes, monotonic=monotonic, on_flood=self._flooding
        )
        self._dispatcher.add_route(
            OpsEvent.WATCH, Route(OpsWatchPayload, self._watch, needs_join=False)
        )
        sio.on("connect", self._on_connect, namespace=NAMESPACE)
        sio.on("disconnect", self._on_disconnect, namespace=NAMESPACE)
        sio.on("*", self._on_event, namespace=NAMESPACE)

    async def _on_connect(self, sid: str, environ: Mapping[str, Any], auth: Any) -> None:
        if not self._origin.allows(environ):
            raise connect_refusal(ErrorCode.ORIGIN_NOT_ALLOWED)
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            self._verifier.verify_ops(token)
        except TokenRefused as refused:
            raise connect_refusal(refused.code, refused.message) from None
        bucket = TokenBucket(
            self._limits.rate_per_s, self._limits.burst, updated_at=self._monotonic()
        )
        self._watching[sid] = OpsConnection(sid, bucket)
        await self._push(sid)

    async def _on_disconnect(self, sid: str, reason: Any = None) -> None:
        self._watching.pop(sid, None)

    async def _on_event(self, event: str, sid: str, data: Any = None, *extra: Any) -> Reply:
        connection = self._watching.get(sid)
        if connection is None:
            reply = error_reply(ErrorCode.NOT_CONNECTED, "Reconnect.")
        else:
            reply = await self._dispatcher.dispatch(
                connection, connection.bucket, event, data, extra
            )
        error = error_event(reply, event)
        if error is not None:
            await self._sio.emit(ServerEvent.ERROR, error, to=sid, namespace=NAMESPACE)
        return reply

    async def _flooding(self, connection: OpsConnection, event: str) -> None:
        log.warning("disconnecting a flooding ops connection")
        await self._sio.emit(
            ServerEvent.ERROR, flood_error(event), to=connection.sid, namespace=NAMESPACE
        )
        await self._sio.close_connection(connection.sid, NAMESPACE)

    async def _watch(self, connection: OpsConnection, payload: OpsWatchPayload) -> Reply:
        connection.room = payload.room
        await self._push(connection.sid)
        return {"ok": True}

    async def run(self) -> None:
        """Push every PUSH_INTERVAL_S, and within ALERT_CHECK_S of a new alert: ops must
        not wait out the interval to see that a member lost media."""
        next_push = 0.0
        alerts_seen = self._alerts.raised
        while True:
            await asyncio.sleep(ALERT_CHECK_S)
            now = time.monotonic()
            if now < next_push and self._alerts.raised == alerts_seen:
                continue
            next_push, alerts_seen = now + PUSH_INTERVAL_S, self._alerts.raised
            for sid in list(self._watching):
                with contextlib.suppress(Exception):
                    await self._push(sid)

    async def _push(self, sid: str) -> None:
        rooms = await self._rooms.live_rooms()
        connection = self._watching.get(sid)
        watched_id = None if connection is None else connection.room
        watched = next((r for r in rooms if r.id == watched_id), None)
        snapshot = {
            "at": self._clock(),
            "rooms": [self._room_row(r) for r in rooms],
            "alerts": [self._alert_row(a, rooms) for a in self._alerts.recent()],
            "room": None if watched is None else self._room_detail(watched),
        }
        await self._sio.emit(OpsEvent.SNAPSHOT, snapshot, to=sid, namespace=NAMESPACE)

    def _alert_row(self, alert: Alert, rooms: list[Room]) -> dict[str, Any]:
        """Alerts name members by the same pseudonym as the drill-down, never the raw id
        (by name too when names are shown): "Sam is not receiving video from Alex"."""
        row = alert.as_json()
        if alert.member is not None:
            row["member"] = pseudonym(alert.room, alert.member)
        if alert.source is not None:
            row["source"] = pseudonym(alert.room, alert.source)
            room = next((r for r in rooms if r.id == alert.room), None)
            member = self._display(room, alert.room, alert.member or "")
            source = self._display(room, alert.room, alert.source)
            row["detail"] = f"{member} is {alert.detail} from {source}"
        return row

    def _display(self, room: Room | None, room_id: str, member_id: str) -> str:
        seat = None if room is None else room.member(member_id)
        if self._show_names and seat is not None:
            return seat.name
        return pseudonym(room_id, member_id)

    def _room_row(self, room: Room) -> dict[str, Any]:
        seated = room.seated()
        return {
            "id": room.id,
            "kind": room.kind.value,
            "state": room.state.value,
            "age_s": round(self._clock() - room.created_at),
            "members": sum(1 for m in seated if m.presence is Presence.CONNECTED),
            "seated": len(seated),
            "waiting": sum(1 for m in seated if not m.admitted),
            "health": self._quality.room_health(room.id).value,
        }

    def _room_detail(self, room: Room) -> dict[str, Any]:
        members = []
        gaps = self._quality.media_gaps(room.id)
        for member in room.seated():
            history = self._quality.tracker.history(room.id, member.id)[-HISTORY_POINTS:]
            level = self._quality.tracker.level(room.id, member.id)
            members.append(
                {
                    "id": pseudonym(room.id, member.id),
                    "name": member.name if self._show_names else None,
                    "role": member.role.value,
                    "presence": member.presence.value,
                    "admitted": member.admitted,
                    "quality": None if level is None else level.value,
                    # Tracks the relay owes this member that its receiver reports say never come.
                    "not_receiving": [
                        {"from": self._display(room, room.id, source), "kind": kind}
                        for subscriber, source, kind in sorted(gaps)
                        if subscriber == member.id
                    ],
                    "history": [
                        {
                            "at": at,
                            "rtt_ms": s.rtt_ms,
                            "loss_pct": s.loss_pct,
                            "jitter_ms": s.jitter_ms,
                            "level": q.value,
                        }
                        for at, s, q in history
                    ],
                }
            )
        return {**self._room_row(room), "members": members}
