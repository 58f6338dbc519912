"""The room aggregate: its kind, lifecycle and seats. Pure state, time passed in."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

from rooms.errors import DomainError, ErrorCode
from rooms.floor.state import FloorState, new_floor
from rooms.member import Member, Presence
from rooms.roles import Role


class RoomKind(StrEnum):
    INDIVIDUAL = "individual"
    GROUP = "group"


class RoomState(StrEnum):
    CREATED = "created"
    ACTIVE = "active"
    ENDED = "ended"
    EXPIRED = "expired"


ALLOWED_TRANSITIONS: dict[RoomState, frozenset[RoomState]] = {
    RoomState.CREATED: frozenset({RoomState.ACTIVE, RoomState.ENDED, RoomState.EXPIRED}),
    RoomState.ACTIVE: frozenset({RoomState.ENDED, RoomState.EXPIRED}),
    RoomState.ENDED: frozenset(),
    RoomState.EXPIRED: frozenset(),
}

# An individual room seats exactly one of each.
INDIVIDUAL_SEATS: dict[Role, int] = {Role.THERAPIST: 1, Role.PARTICIPANT: 1}


class AdmitPolicy(StrEnum):
    MANUAL = "manual"
    AUTO = "auto"


@dataclass(frozen=True)
class RoomPolicy:
    # How long a dropped member's seat is held for them.
    grace_s: float = 30.0
    max_members: int = 16
    # An active room nobody is in expires after this long.
    idle_expiry_s: float = 30 * 60.0
    # A room nobody ever joined expires after this long.
    unused_expiry_s: float = 24 * 3600.0
    admit: AdmitPolicy = AdmitPolicy.MANUAL

    def __post_init__(self) -> None:
        if self.grace_s < 0:
            raise ValueError("grace_s must not be negative")
        if not 2 <= self.max_members <= 64:
            raise ValueError("max_members must be between 2 and 64")


@dataclass(frozen=True)
class Room:
    id: str
    kind: RoomKind
    created_at: float
    policy: RoomPolicy = field(default_factory=RoomPolicy)
    state: RoomState = RoomState.CREATED
    members: tuple[Member, ...] = ()
    # Subjects removed by a moderator: their links stop working for this session.
    revoked: frozenset[str] = frozenset()
    last_activity_at: float = 0.0
    # Group rooms: no new arrivals while locked (therapists excepted).
    locked: bool = False
    # Group rooms only: floor control and talk time.
    floor: FloorState | None = None
    # Members may write in the chat (therapists always may); a therapist turns it off.
    members_chat: bool = True
    # Who shares a screen now: at most one share per room (rooms/screen_share.py).
    screen_sharer: str | None = None
    # Participants a therapist allowed to share a screen (therapists always may).
    share_allowed: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("room id must not be empty")

    @property
    def is_over(self) -> bool:
        return self.state in (RoomState.ENDED, RoomState.EXPIRED)

    def admitted_participants(self) -> tuple[str, ...]:
        """Who can hold the floor: admitted, seated participants, in join order."""
        return tuple(m.id for m in self.members if m.admitted and m.role is Role.PARTICIPANT)

    def member(self, member_id: str) -> Member | None:
        for member in self.members:
            if member.id == member_id:
                return member
        return None

    def require_member(self, member_id: str) -> Member:
        member = self.member(member_id)
        if member is None or not member.seated:
            raise DomainError(ErrorCode.NOT_JOINED)
        return member

    def seated(self) -> tuple[Member, ...]:
        return tuple(m for m in self.members if m.seated)

    def connected(self) -> tuple[Member, ...]:
        return tuple(m for m in self.members if m.presence is Presence.CONNECTED)

    def with_member(self, updated: Member) -> Room:
        """Replace (or append) the member with updated's id, keeping join order."""
        if self.member(updated.id) is None:
            return replace(self, members=(*self.members, updated))
        return replace(
            self, members=tuple(updated if m.id == updated.id else m for m in self.members)
        )

    def with_state(self, new_state: RoomState) -> Room:
        if new_state == self.state:
            return self
        if new_state not in ALLOWED_TRANSITIONS[self.state]:
            raise DomainError(
                ErrorCode.ILLEGAL_TRANSITION, f"a room cannot go from {self.state} to {new_state}"
            )
        return replace(self, state=new_state)


def new_room(room_id: str, kind: RoomKind, now: float, policy: RoomPolicy | None = None) -> Room:
    return Room(
        id=room_id,
        kind=kind,
        created_at=now,
        policy=policy or RoomPolicy(),
        last_activity_at=now,
        floor=new_floor(now) if kind is RoomKind.GROUP else None,
    )
