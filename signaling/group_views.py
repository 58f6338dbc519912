"""Wire views of a group room's floor, waiting room and talk time."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from rooms.floor import engine as floor
from rooms.floor.events import FloorEvent
from rooms.floor.state import FloorState
from rooms.member import Admission
from rooms.room import Room


def floor_view(state: FloorState, now: float) -> dict[str, Any]:
    turn = state.turn
    go_around = state.go_around
    return {
        "mode": state.mode.value,
        "holder": state.holder,
        "turn": None
        if turn is None
        else {
            "member": turn.member,
            "limit_s": turn.limit_s,
            "elapsed_s": max(0.0, now - turn.started_at),
            "remaining_s": None
            if turn.limit_s is None
            else max(0.0, turn.started_at + turn.limit_s - now),
            "warned": turn.warned,
        },
        # Policy order (least talk first, then earliest raise), head first.
        "queue": list(floor.queue_order(state, now)),
        "hands": [
            {"member": hand.member, "waited_s": round(max(0.0, now - hand.raised_at), 1)}
            for hand in floor.queued_hands(state, now)
        ],
        "go_around": None
        if go_around is None
        else {
            "order": list(go_around.order),
            "pending": list(go_around.pending()),
        },
        "settings": {
            "queue_policy": state.settings.queue_policy.value,
            "auto_advance": state.settings.auto_advance,
            "turn_limit_s": state.settings.turn_limit_s,
            "go_around_turn_s": state.settings.go_around_turn_s,
            "warn_at_fraction": state.settings.warn_at_fraction,
            "on_turn_limit": state.settings.on_turn_limit.value,
            "fair_share_limits": state.settings.fair_share_limits,
        },
    }


def floor_event_view(event: FloorEvent) -> dict[str, Any]:
    data = {k: (v.value if hasattr(v, "value") else v) for k, v in asdict(event).items()}
    data.pop("settings", None)
    for key in ("order",):
        if key in data:
            data[key] = list(data[key])
    data["name"] = event.name.value
    return data


def talk_report_view(room: Room, now: float) -> dict[str, Any]:
    if room.floor is None:
        return {"members": []}
    report = floor.report(room.floor, now)
    names = {m.id: m.name for m in room.members}
    return {
        "elapsed_s": report.elapsed_s,
        "total_speaking_s": report.total_speaking_s,
        "members": [
            {
                "id": row.member,
                "name": names.get(row.member, ""),
                "speaking_s": round(row.speaking_s, 1),
                "share": round(row.share, 4),
                "turns": row.turns,
                "longest_wait_s": round(row.longest_wait_s, 1),
                "has_spoken": row.has_spoken,
                "speaking_now": row.speaking_now,
            }
            for row in report.members
        ],
    }


def waiting_view(room: Room) -> list[dict[str, Any]]:
    return [
        {"id": m.id, "name": m.name, "since": m.joined_at}
        for m in room.seated()
        if m.admission is Admission.WAITING
    ]
