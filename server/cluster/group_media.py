"""The group relay across processes: each room's relay lives in the room's owner.

A member's relay offer or answer may arrive at any process; it is answered by the
owner's relay (its ICE candidates are the owner's addresses, so the member's media
goes straight there). Requests travel with the member's identity as the token gave it.
"""

from __future__ import annotations

from typing import Any

from rooms.roles import Role
from rooms.room import RoomKind
from server.cluster.bus import Message
from server.cluster.router import ClusteredRooms
from server.media.group_media import RelayRegistry
from signaling.ports import Identity

OFFER = "relay_offer"
ANSWER = "relay_answer"
HAS_LEG = "relay_has_leg"
# Answering an offer builds an aiortc peer connection (ICE gathering included): on a
# loaded host that takes longer than a room command, so it gets more time.
OFFER_TIMEOUT_S = 8.0


def _identity_data(identity: Identity) -> Message:
    return {
        "room": identity.room,
        "kind": identity.kind.value,
        "role": identity.role.value,
        "name": identity.name,
        "member_id": identity.member_id,
    }


def _identity(body: Message) -> Identity:
    data = body["identity"]
    return Identity(
        room=data["room"],
        kind=RoomKind(data["kind"]),
        role=Role(data["role"]),
        name=data["name"],
        member_id=data["member_id"],
    )


class ClusteredGroupMedia:
    """The GroupMedia port: the owner's RelayRegistry, asked from any process."""

    def __init__(self, rooms: ClusteredRooms, relays: RelayRegistry) -> None:
        self._rooms = rooms
        self._relays = relays
        rooms.serve_request(OFFER, self._offer_here)
        rooms.serve_request(ANSWER, self._answer_here)
        rooms.serve_request(HAS_LEG, self._has_leg_here)

    async def offer(self, identity: Identity, sdp: str) -> dict[str, Any]:
        body = {"identity": _identity_data(identity), "sdp": sdp}
        answer: dict[str, Any] = await self._rooms.on_owner(
            identity.room, OFFER, body, OFFER_TIMEOUT_S
        )
        return answer

    async def answer(self, identity: Identity, sdp: str) -> None:
        body = {"identity": _identity_data(identity), "sdp": sdp}
        await self._rooms.on_owner(identity.room, ANSWER, body)

    async def has_leg(self, identity: Identity) -> bool:
        body = {"identity": _identity_data(identity)}
        return bool(await self._rooms.on_owner(identity.room, HAS_LEG, body))

    async def _offer_here(self, room_id: str, body: Message) -> Any:
        return await self._relays.offer(_identity(body), body["sdp"])

    async def _answer_here(self, room_id: str, body: Message) -> Any:
        await self._relays.answer(_identity(body), body["sdp"])
        return {"ok": True}

    async def _has_leg_here(self, room_id: str, body: Message) -> Any:
        return await self._relays.has_leg(_identity(body))
