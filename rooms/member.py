"""A seat in a room: who holds it and whether they are here right now."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from rooms.roles import Role


class Presence(StrEnum):
    CONNECTED = "connected"
    # Transport dropped; the seat is held until the grace period ends.
    DISCONNECTED = "disconnected"
    LEFT = "left"


class Admission(StrEnum):
    # In a group room's waiting room until a therapist admits them.
    WAITING = "waiting"
    ADMITTED = "admitted"


@dataclass(frozen=True)
class MediaState:
    audio: bool = True
    video: bool = True
    # The member chose audio only: it sends no camera and the relay sends it none.
    audio_only: bool = False

    def __post_init__(self) -> None:
        if self.audio_only and self.video:
            raise ValueError("an audio-only member has its camera off")


@dataclass(frozen=True)
class Member:
    id: str
    role: Role
    name: str
    presence: Presence = Presence.CONNECTED
    # Bumped on every fresh join (a new page), not on a resume: peers use it to
    # know that the old peer connection to this member is dead.
    epoch: int = 1
    disconnected_at: float | None = None
    joined_at: float = 0.0
    media: MediaState = MediaState()
    admission: Admission = Admission.ADMITTED
    # A moderator closed this member's audio (video) gate; only the member's own
    # unmute (camera on) reopens it: moderators never unmute anyone.
    muted_by_moderator: bool = False
    video_stopped_by_moderator: bool = False

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("member id must not be empty")
        if not self.name.strip():
            raise ValueError("member name must not be blank")

    @property
    def seated(self) -> bool:
        return self.presence is not Presence.LEFT

    @property
    def admitted(self) -> bool:
        return self.seated and self.admission is Admission.ADMITTED

    def with_presence(self, presence: Presence, *, at: float | None = None) -> Member:
        return replace(
            self,
            presence=presence,
            disconnected_at=at if presence is Presence.DISCONNECTED else None,
        )
