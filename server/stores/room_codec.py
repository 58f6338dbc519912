"""Room <-> JSON for stores that keep bytes. Versioned so a format change is explicit."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from rooms.member import MediaState, Member, Presence
from rooms.roles import Role
from rooms.room import AdmitPolicy, Room, RoomKind, RoomPolicy, RoomState

FORMAT_VERSION = 1


def room_to_json(room: Room) -> str:
    data: dict[str, Any] = asdict(room)
    data["revoked"] = sorted(room.revoked)
    data["v"] = FORMAT_VERSION
    return json.dumps(data, separators=(",", ":"))


def room_from_json(text: str | bytes) -> Room:
    data = json.loads(text)
    if data.get("v") != FORMAT_VERSION:
        raise ValueError(f"unsupported room format {data.get('v')!r}")
    policy = data["policy"]
    return Room(
        id=data["id"],
        kind=RoomKind(data["kind"]),
        created_at=float(data["created_at"]),
        policy=RoomPolicy(
            grace_s=float(policy["grace_s"]),
            max_members=int(policy["max_members"]),
            idle_expiry_s=float(policy["idle_expiry_s"]),
            unused_expiry_s=float(policy["unused_expiry_s"]),
            admit=AdmitPolicy(policy["admit"]),
        ),
        state=RoomState(data["state"]),
        members=tuple(_member(m) for m in data["members"]),
        revoked=frozenset(data["revoked"]),
        last_activity_at=float(data["last_activity_at"]),
    )


def _member(data: dict[str, Any]) -> Member:
    return Member(
        id=data["id"],
        role=Role(data["role"]),
        name=data["name"],
        presence=Presence(data["presence"]),
        epoch=int(data["epoch"]),
        disconnected_at=data["disconnected_at"],
        joined_at=float(data["joined_at"]),
        media=MediaState(**data["media"]),
    )
