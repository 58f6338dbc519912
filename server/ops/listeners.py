"""Room events into the audit log, Prometheus counters and webhooks. Ids only, never names."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from rooms.errors import ErrorCode
from rooms.events import (
    DomainEvent,
    FloorChanged,
    LeaveReason,
    MemberAdmitted,
    MemberJoined,
    MemberLeft,
    MemberModerated,
    MemberSentBack,
    ModerationAction,
    RoomLockChanged,
    RoomStateChanged,
)
from rooms.floor.events import FloorGranted, ModeChanged
from rooms.room import Room, RoomState
from server.audit.log import AuditEvent, AuditLog
from server.ops import webhooks
from server.ops.metrics import Metrics
from signaling.fanout import SignalingObserver

log = logging.getLogger(__name__)

_LEAVE_AUDIT = {
    LeaveReason.DENIED: AuditEvent.DENY,
    LeaveReason.REMOVED: AuditEvent.REMOVE,
}


def _audit_refusal(audit: AuditLog | None, reason: str) -> None:
    log.info("connection refused", extra={"event": "refused", "reason": reason})
    if audit is not None and (
        reason.startswith("token_")
        or reason.startswith("room_")
        or reason == ErrorCode.ORIGIN_NOT_ALLOWED
    ):
        # The reason only: never the token, never the address.
        audit.append(
            AuditEvent.TOKEN_REFUSED, room=None, subject=None, role=None, details={"reason": reason}
        )


class OpsObserver(SignalingObserver):
    """Signaling's hooks: message counters, and refused connections into the audit log."""

    def __init__(self, metrics: Metrics, audit: AuditLog | None) -> None:
        self._metrics = metrics
        self._audit = audit

    def message_in(self, event: str) -> None:
        self._metrics.message_in(event)

    def message_out(self, event: str) -> None:
        self._metrics.message_out(event)

    def refused(self, reason: str) -> None:
        self._metrics.join_refused(reason)
        _audit_refusal(self._audit, reason)

    def join_connected(self, seconds: float) -> None:
        self._metrics.join_connected(seconds)

    def malformed_frame(self, kind: str) -> None:
        self._metrics.malformed_frame(kind)


class RefusalAuditObserver(SignalingObserver):
    """Refused connections into the audit log and no metrics (Settings.instrumentation off)."""

    def __init__(self, audit: AuditLog | None) -> None:
        self._audit = audit

    def refused(self, reason: str) -> None:
        _audit_refusal(self._audit, reason)


class AuditListener:
    def __init__(self, audit: AuditLog) -> None:
        self._audit = audit

    async def __call__(self, room: Room, events: Sequence[DomainEvent]) -> None:
        for event in events:
            self._record(room, event)

    def room_created(self, room: Room) -> None:
        admit = room.policy.admit.value if room.floor is not None else None
        self._append(AuditEvent.ROOM_CREATED, room, kind=room.kind.value, admit=admit)

    def _append(
        self,
        event: AuditEvent,
        room: Room,
        subject: str | None = None,
        role: str | None = None,
        **details: str | int | float | bool | None,
    ) -> None:
        self._audit.append(event, room=room.id, subject=subject, role=role, details=details)

    def _record(self, room: Room, event: DomainEvent) -> None:
        match event:
            case MemberJoined(member=m):
                self._append(
                    AuditEvent.JOIN,
                    room,
                    m.id,
                    m.role.value,
                    kind=room.kind.value,
                    admission=m.admission.value,
                    epoch=m.epoch,
                )
            case MemberAdmitted(member=m, by=by):
                self._append(AuditEvent.ADMIT, room, m.id, m.role.value, by=by)
            case MemberSentBack(member=m, by=by):
                self._append(AuditEvent.SEND_BACK, room, m.id, m.role.value, by=by)
            case MemberLeft(member=m, reason=reason):
                self._append(
                    _LEAVE_AUDIT.get(reason, AuditEvent.LEAVE),
                    room,
                    m.id,
                    m.role.value,
                    reason=reason.value,
                )
            case MemberModerated(member=m, action=action, by=by):
                muted = action is ModerationAction.MUTED
                name = AuditEvent.MUTE if muted else AuditEvent.STOP_VIDEO
                self._append(name, room, m.id, m.role.value, by=by)
            case RoomLockChanged(locked=locked, by=by):
                self._append(AuditEvent.LOCK, room, by, None, locked=locked)
            case FloorChanged(events=floor_events):
                for floor_event in floor_events:
                    if isinstance(floor_event, ModeChanged):
                        self._append(
                            AuditEvent.FLOOR,
                            room,
                            None,
                            None,
                            change="mode",
                            mode=floor_event.new.value,
                        )
                    elif isinstance(floor_event, FloorGranted):
                        self._append(
                            AuditEvent.FLOOR,
                            room,
                            floor_event.member,
                            None,
                            change="granted",
                            reason=floor_event.reason.value,
                        )
            case RoomStateChanged(new=RoomState.ENDED | RoomState.EXPIRED as new):
                self._append(AuditEvent.ROOM_END, room, None, None, state=new.value)
            case _:
                pass


class MetricsListener:
    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    async def __call__(self, room: Room, events: Sequence[DomainEvent]) -> None:
        for event in events:
            match event:
                case MemberJoined(member=m):
                    self._metrics.participant_joined(room.kind.value, m.role.value)
                case MemberLeft(member=m):
                    self._metrics.participant_left(m.role.value)
                case _:
                    pass


class WebhookListener:
    def __init__(self, dispatcher: webhooks.WebhookDispatcher) -> None:
        self._dispatcher = dispatcher

    async def __call__(self, room: Room, events: Sequence[DomainEvent]) -> None:
        kind = room.kind.value
        for event in events:
            match event:
                case RoomStateChanged(new=RoomState.ACTIVE):
                    self._dispatcher.emit(
                        webhooks.WebhookEvent.ROOM_STARTED, webhooks.room_started(room.id, kind)
                    )
                case RoomStateChanged(new=RoomState.ENDED | RoomState.EXPIRED as new):
                    self._dispatcher.emit(
                        webhooks.WebhookEvent.ROOM_ENDED,
                        webhooks.room_ended(room.id, kind, new.value),
                    )
                case MemberJoined(member=m):
                    self._dispatcher.emit(
                        webhooks.WebhookEvent.PARTICIPANT_JOINED,
                        webhooks.participant_joined(room.id, m.id, m.role.value, kind),
                    )
                case MemberLeft(member=m, reason=reason):
                    self._dispatcher.emit(
                        webhooks.WebhookEvent.PARTICIPANT_LEFT,
                        webhooks.participant_left(room.id, m.id, m.role.value, kind, reason.value),
                    )
                case _:
                    pass


class LogListener:
    """One structured log line per membership change: ids and reasons, never names."""

    async def __call__(self, room: Room, events: Sequence[DomainEvent]) -> None:
        for event in events:
            match event:
                case MemberJoined(member=m) | MemberAdmitted(member=m) | MemberLeft(member=m):
                    extra: dict[str, str] = {
                        "room": room.id,
                        "participant": m.id,
                        "role": m.role.value,
                        "event": event.name.value,
                    }
                    if isinstance(event, MemberLeft):
                        extra["reason"] = event.reason.value
                    log.info(event.name.value.replace("_", " "), extra=extra)
                case RoomStateChanged(old=old, new=new):
                    log.info(
                        "room state changed",
                        extra={
                            "room": room.id,
                            "event": "room_state_changed",
                            "from_state": old.value,
                            "to_state": new.value,
                        },
                    )
                case _:
                    pass
