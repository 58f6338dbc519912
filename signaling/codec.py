"""The one place where wire messages meet the domain, in both directions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rooms.commands import Join, Leave, SetMedia
from rooms.events import (
    DomainEvent,
    MediaChanged,
    MemberDisconnected,
    MemberJoined,
    MemberLeft,
    MemberReconnected,
    MemberReplaced,
    RoomStateChanged,
)
from rooms.member import Member, Presence
from rooms.room import Room, RoomState
from signaling.events import ServerEvent
from signaling.ports import Identity
from signaling.schemas import JoinPayload, MediaStatePayload


@dataclass(frozen=True)
class Outgoing:
    """A message for every joined member of the room, or for one member only."""

    event: ServerEvent
    payload: dict[str, Any]
    only_member: str | None = None
    # Not sent to this member (the subject of the event already knows).
    except_member: str | None = None


# Wire -> domain


def join_command(identity: Identity, payload: JoinPayload, now: float) -> Join:
    return Join(
        member_id=identity.member_id,
        role=identity.role,
        name=identity.name,
        now=now,
        resume=payload.resume,
    )


def leave_command(identity: Identity, now: float) -> Leave:
    return Leave(member_id=identity.member_id, now=now)


def media_command(identity: Identity, payload: MediaStatePayload, now: float) -> SetMedia:
    return SetMedia(member_id=identity.member_id, audio=payload.audio, video=payload.video, now=now)


# Domain -> wire


def peer_view(member: Member) -> dict[str, Any]:
    return {
        "id": member.id,
        "role": member.role.value,
        "name": member.name,
        "connected": member.presence is Presence.CONNECTED,
        "epoch": member.epoch,
        "media": {"audio": member.media.audio, "video": member.media.video},
    }


def room_view(room: Room) -> dict[str, Any]:
    return {"id": room.id, "kind": room.kind.value, "state": room.state.value}


def peers_of(room: Room, member_id: str) -> list[dict[str, Any]]:
    return [peer_view(m) for m in room.seated() if m.id != member_id]


def to_wire(events: Sequence[DomainEvent]) -> list[Outgoing]:
    messages: list[Outgoing] = []
    for event in events:
        match event:
            case MemberJoined(member=member):
                messages.append(
                    Outgoing(ServerEvent.PEER_JOINED, {"peer": peer_view(member)},
                             except_member=member.id)
                )
            case MemberReconnected(member=member):
                messages.append(
                    Outgoing(ServerEvent.PEER_RECONNECTED, {"id": member.id},
                             except_member=member.id)
                )
            case MemberDisconnected(member=member):
                messages.append(
                    Outgoing(ServerEvent.PEER_DISCONNECTED, {"id": member.id},
                             except_member=member.id)
                )
            case MemberLeft(member=member, reason=reason):
                messages.append(
                    Outgoing(ServerEvent.PEER_LEFT, {"id": member.id, "reason": reason.value},
                             except_member=member.id)
                )
            case MediaChanged(member=member):
                media = {"id": member.id, "audio": member.media.audio, "video": member.media.video}
                messages.append(
                    Outgoing(ServerEvent.PEER_MEDIA, media, except_member=member.id)
                )
            case MemberReplaced(member=member):
                messages.append(Outgoing(ServerEvent.SESSION_REPLACED, {}, only_member=member.id))
            case RoomStateChanged(new=RoomState.ENDED | RoomState.EXPIRED as new):
                messages.append(Outgoing(ServerEvent.SESSION_ENDED, {"reason": new.value}))
            case _:
                pass
    return messages
