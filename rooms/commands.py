"""Commands the room accepts. Identity comes from the authenticated connection."""

from __future__ import annotations

from dataclasses import dataclass

from rooms.floor.state import FloorMode, FloorSettings
from rooms.roles import Role


@dataclass(frozen=True)
class Join:
    member_id: str
    role: Role
    name: str
    now: float
    # True when the same page comes back after a transport drop and still holds
    # its peer connection; False for a fresh page (or a second tab).
    resume: bool = False


@dataclass(frozen=True)
class Leave:
    member_id: str
    now: float


@dataclass(frozen=True)
class Disconnect:
    member_id: str
    now: float


@dataclass(frozen=True)
class SetMedia:
    member_id: str
    audio: bool
    video: bool
    now: float
    # None: unchanged. True turns the camera off with it; False leaves ``video`` as given.
    audio_only: bool | None = None


@dataclass(frozen=True)
class EndRoom:
    by: str
    now: float


@dataclass(frozen=True)
class Tick:
    """Time passes: grace periods and room expiry are enforced here."""

    now: float


Command = Join | Leave | Disconnect | SetMedia | EndRoom | Tick


# Waiting room and moderation: `by` is the member who asks (a therapist).


@dataclass(frozen=True)
class Admit:
    by: str
    member_id: str
    now: float


@dataclass(frozen=True)
class Deny:
    by: str
    member_id: str
    now: float


@dataclass(frozen=True)
class SendBack:
    by: str
    member_id: str
    now: float


@dataclass(frozen=True)
class Remove:
    by: str
    member_id: str
    now: float


@dataclass(frozen=True)
class Mute:
    by: str
    member_id: str
    now: float


@dataclass(frozen=True)
class MuteAllBut:
    by: str
    # The member who keeps their audio; None mutes every participant.
    keep: str | None
    now: float


@dataclass(frozen=True)
class StopVideo:
    by: str
    member_id: str
    now: float


@dataclass(frozen=True)
class LockRoom:
    by: str
    locked: bool
    now: float


# Floor control


@dataclass(frozen=True)
class SetFloorMode:
    by: str
    mode: FloorMode
    now: float


@dataclass(frozen=True)
class ChangeFloorSettings:
    by: str
    settings: FloorSettings
    now: float


@dataclass(frozen=True)
class RaiseHand:
    by: str
    now: float


@dataclass(frozen=True)
class LowerHand:
    by: str
    now: float


@dataclass(frozen=True)
class GrantNext:
    by: str
    now: float


@dataclass(frozen=True)
class GiveFloor:
    by: str
    member_id: str
    now: float


@dataclass(frozen=True)
class InviteToSpeak:
    """Therapist: offer a (usually quiet) member the free floor. The member takes it
    by speaking or passes (`PassTurn`); nobody is asked why, and nothing is kept."""

    by: str
    member_id: str
    now: float


@dataclass(frozen=True)
class YieldFloor:
    by: str
    now: float


@dataclass(frozen=True)
class PassTurn:
    by: str
    now: float


@dataclass(frozen=True)
class EndTurn:
    by: str
    now: float


@dataclass(frozen=True)
class SkipTurn:
    by: str
    member_id: str
    now: float


@dataclass(frozen=True)
class ExtendTurn:
    by: str
    extra_s: float
    now: float


@dataclass(frozen=True)
class Voice:
    """The relay's voice activity for a member (server-measured, not client-claimed)."""

    member_id: str
    speaking: bool
    now: float


# Screen share and chat settings (rooms/screen_share.py); any room kind.


@dataclass(frozen=True)
class StartScreenShare:
    by: str
    now: float


@dataclass(frozen=True)
class StopScreenShare:
    """The sharer stops their share; a therapist may stop anyone's."""

    by: str
    now: float


@dataclass(frozen=True)
class AllowScreenShare:
    """Therapist: a participant may (or may no longer) share a screen."""

    by: str
    member_id: str
    allowed: bool
    now: float


@dataclass(frozen=True)
class SetMembersChat:
    """Therapist: members may write in the chat, or not (therapists always may)."""

    by: str
    allowed: bool
    now: float


ModerationCommand = Admit | Deny | SendBack | Remove | Mute | MuteAllBut | StopVideo | LockRoom
FloorCommand = (
    SetFloorMode
    | ChangeFloorSettings
    | RaiseHand
    | LowerHand
    | GrantNext
    | GiveFloor
    | InviteToSpeak
    | YieldFloor
    | PassTurn
    | EndTurn
    | SkipTurn
    | ExtendTurn
    | Voice
)
SharingCommand = StartScreenShare | StopScreenShare | AllowScreenShare | SetMembersChat
AnyCommand = Command | ModerationCommand | FloorCommand | SharingCommand
