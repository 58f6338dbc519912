"""Roles and what each may do: one table, as Galène's permissions."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    THERAPIST = "therapist"
    PARTICIPANT = "participant"
    OPS = "ops"


class Capability(StrEnum):
    JOIN_ROOM = "join_room"
    PUBLISH_MEDIA = "publish_media"
    SIGNAL_PEER = "signal_peer"
    MODERATE = "moderate"
    CONTROL_FLOOR = "control_floor"
    RAISE_HAND = "raise_hand"
    VIEW_TALK_TIME = "view_talk_time"
    VIEW_EVERYONES_QUALITY = "view_everyones_quality"
    VIEW_OPS = "view_ops"


CAPABILITIES: dict[Role, frozenset[Capability]] = {
    Role.THERAPIST: frozenset(
        {
            Capability.JOIN_ROOM,
            Capability.PUBLISH_MEDIA,
            Capability.SIGNAL_PEER,
            Capability.MODERATE,
            Capability.CONTROL_FLOOR,
            Capability.VIEW_TALK_TIME,
            Capability.VIEW_EVERYONES_QUALITY,
        }
    ),
    Role.PARTICIPANT: frozenset(
        {
            Capability.JOIN_ROOM,
            Capability.PUBLISH_MEDIA,
            Capability.SIGNAL_PEER,
            Capability.RAISE_HAND,
        }
    ),
    # Ops staff watch health; they never join a session or see its media.
    Role.OPS: frozenset({Capability.VIEW_OPS}),
}


def can(role: Role, capability: Capability) -> bool:
    return capability in CAPABILITIES[role]
