"""Which members' media the group relay forwards: the floor and moderators decide."""

from __future__ import annotations

from dataclasses import dataclass

from rooms.floor import engine as floor
from rooms.roles import Role
from rooms.room import Room


@dataclass(frozen=True)
class MediaGates:
    audio: bool
    video: bool


def media_gates(room: Room) -> dict[str, MediaGates]:
    """Gates for every admitted member; anyone not listed is forwarded nothing."""
    if room.floor is None:
        return {}
    admitted = [m for m in room.members if m.admitted]
    therapists = [m.id for m in admitted if m.role is Role.THERAPIST]
    audio = floor.audio_gates(room.floor, room.admitted_participants(), therapists)
    return {
        m.id: MediaGates(
            audio=audio.get(m.id, False) and not m.muted_by_moderator,
            # Audio only means no video either way: the member's own camera is not forwarded.
            video=not m.video_stopped_by_moderator and not m.media.audio_only,
        )
        for m in admitted
    }
