"""Payload schemas of client events: anything else is refused with `invalid_payload`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from rooms.chat import MAX_CHAT_CHARS

MAX_SDP_CHARS = 60_000
MAX_ID_CHARS = 64
MAX_CHECKIN_CHARS = 300


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class JoinPayload(Payload):
    resume: bool = False


class EmptyPayload(Payload):
    pass


class MediaStatePayload(Payload):
    audio: bool
    video: bool
    audio_only: bool | None = None  # absent: unchanged


class SessionDescription(Payload):
    type: Literal["offer", "answer", "pranswer", "rollback"]
    sdp: str = Field(default="", max_length=MAX_SDP_CHARS)


class DescriptionPayload(Payload):
    to: str = Field(min_length=1, max_length=MAX_ID_CHARS)
    description: SessionDescription


class IceCandidate(Payload):
    candidate: str = Field(max_length=1024)
    sdpMid: str | None = Field(default=None, max_length=64)
    sdpMLineIndex: int | None = Field(default=None, ge=0, le=1024)
    usernameFragment: str | None = Field(default=None, max_length=256)


class CandidatePayload(Payload):
    to: str = Field(min_length=1, max_length=MAX_ID_CHARS)
    candidate: IceCandidate | None


class RelaySdpPayload(Payload):
    sdp: str = Field(min_length=1, max_length=MAX_SDP_CHARS)


class MemberTargetPayload(Payload):
    member: str = Field(min_length=1, max_length=MAX_ID_CHARS)


class MuteAllPayload(Payload):
    # The member who keeps their audio (usually the floor holder); None mutes all.
    keep: str | None = Field(default=None, min_length=1, max_length=MAX_ID_CHARS)


class LockPayload(Payload):
    locked: bool


class FloorModePayload(Payload):
    mode: Literal["open", "hand_queue", "go_around", "directed"]


class FloorSettingsPayload(Payload):
    queue_policy: Literal["least_talk_first", "first_come"] = "least_talk_first"
    auto_advance: bool = False
    turn_limit_s: float | None = Field(default=180.0, gt=0, le=3600)
    go_around_turn_s: float = Field(default=120.0, gt=0, le=3600)
    warn_at_fraction: float = Field(default=0.8, gt=0, lt=1)
    on_turn_limit: Literal["advance", "notify_therapist"] = "notify_therapist"
    fair_share_limits: bool = True


class ChatSendPayload(Payload):
    """A chat message: text only, to the room (`to` null) or to one member."""

    text: str = Field(min_length=1, max_length=MAX_CHAT_CHARS)
    to: str | None = Field(default=None, min_length=1, max_length=MAX_ID_CHARS)


class ChatMembersPayload(Payload):
    """Therapist: whether members may write in the chat."""

    allowed: bool


class ScreenAllowPayload(Payload):
    """A therapist lets a participant share a screen, or no longer."""

    member: str = Field(min_length=1, max_length=MAX_ID_CHARS)
    allowed: bool


class CheckinPayload(Payload):
    """Emergency information a patient confirms at check-in (individual rooms)."""

    location: str = Field(min_length=1, max_length=MAX_CHECKIN_CHARS)
    contact: str = Field(min_length=1, max_length=MAX_CHECKIN_CHARS)


class ExtendPayload(Payload):
    seconds: float = Field(gt=0, le=1800)


class OpsWatchPayload(Payload):
    """The ops dashboard drills into one room (None: none)."""

    room: str | None = Field(default=None, max_length=MAX_ID_CHARS)


class StatsPayload(Payload):
    """What a browser measured with getStats() since its last report (individual rooms)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)
    rtt_ms: float | None = Field(default=None, ge=0, le=60_000)
    loss_pct: float | None = Field(default=None, ge=0, le=100)
    jitter_ms: float | None = Field(default=None, ge=0, le=60_000)
    bitrate_kbps: float | None = Field(default=None, ge=0, le=1_000_000)
    frames_decoded: int | None = Field(default=None, ge=0)
    connected: bool = True
