"""Alerts for the ops dashboard: a short in-memory list, newest first. Ids only."""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

MAX_ALERTS = 200


class AlertKind(StrEnum):
    MEMBER_LOST = "member_lost"
    ROOM_DEGRADED = "room_degraded"
    RELAY_OVERLOADED = "relay_overloaded"
    MEDIA_INCOMPLETE = "media_incomplete"


@dataclass(frozen=True)
class Alert:
    at: float
    kind: AlertKind
    room: str
    member: str | None
    detail: str
    # The other member an alert is about (media_incomplete: whose media is missing).
    source: str | None = None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind.value
        return data


class AlertLog:
    def __init__(self, limit: int = MAX_ALERTS) -> None:
        self._alerts: deque[Alert] = deque(maxlen=limit)
        self.raised = 0

    def raise_alert(self, alert: Alert) -> None:
        self._alerts.appendleft(alert)
        self.raised += 1

    def recent(self, count: int = 50) -> list[Alert]:
        return list(self._alerts)[:count]
