"""In-session chat on the wire: `chat.send`, `chat.members` (therapists turn members'
chat off and on) and `chat.state`. Ephemeral by design: a message goes straight out
through the fan-out and is kept nowhere, neither stored nor logged; only whether
members may write is kept, in the room's stored state (`Room.members_chat`), so it
holds after a restart and on every process.

Messages go out through the fan-out's `send_to_room` / `send_to_member`, which a
cluster fan-out shares with the other processes, so chat reaches members connected
anywhere.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from rooms.chat import check_text, route_message
from rooms.errors import DomainError, ErrorCode
from rooms.room import Room
from signaling import codec
from signaling import schemas as s
from signaling.connections import Connection
from signaling.dispatch import Reply, Route, error_reply
from signaling.events import ClientEvent, ServerEvent
from signaling.gateway import Signaling
from signaling.rate_limit import TokenBucket

# Chat is for people typing: a burst of 5, then one message a second.
CHAT_RATE_PER_S = 1.0
CHAT_BURST = 5.0
# Buckets are per seat; the oldest are dropped beyond this many (a bounded memory).
MAX_BUCKETS = 10_000


class ChatLimiter:
    """A token bucket per seat, on top of the connection's own message rate."""

    def __init__(self, monotonic: Callable[[], float]) -> None:
        self._monotonic = monotonic
        self._buckets: OrderedDict[tuple[str, str], TokenBucket] = OrderedDict()

    def allow(self, room_id: str, member_id: str) -> bool:
        now = self._monotonic()
        key = (room_id, member_id)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = TokenBucket(CHAT_RATE_PER_S, CHAT_BURST, updated_at=now)
            self._buckets[key] = bucket
            while len(self._buckets) > MAX_BUCKETS:
                self._buckets.popitem(last=False)
        return bucket.take(now)


def register_chat_routes(
    signaling: Signaling, monotonic: Callable[[], float] = time.monotonic
) -> None:
    limiter = ChatLimiter(monotonic)
    signaling.add_route(ClientEvent.CHAT_SEND, Route(s.ChatSendPayload, _send(signaling, limiter)))
    signaling.add_route(ClientEvent.CHAT_MEMBERS, Route(s.ChatMembersPayload, _members(signaling)))
    signaling.add_route(ClientEvent.CHAT_STATE, Route(s.EmptyPayload, _state(signaling)))


async def _room(signaling: Signaling, connection: Connection) -> Room:
    room = await signaling.rooms.get(connection.identity.room)
    if room is None:
        raise DomainError(ErrorCode.ROOM_NOT_FOUND)
    return room


def _send(signaling: Signaling, limiter: ChatLimiter) -> Any:
    async def handle(connection: Connection, payload: BaseModel) -> Reply:
        assert isinstance(payload, s.ChatSendPayload)
        identity = connection.identity
        room = await _room(signaling, connection)
        text = check_text(payload.text)
        route = route_message(room, identity.member_id, payload.to)
        if not limiter.allow(room.id, identity.member_id):
            return error_reply(ErrorCode.RATE_LIMITED, "Chat messages are limited; wait a moment.")
        sender = room.require_member(identity.member_id)
        message: dict[str, Any] = {
            "id": secrets.token_urlsafe(8),
            "from": sender.id,
            "name": sender.name,
            "role": sender.role.value,
            "to": route.to,
            "private": route.private,
            "text": text,
            "at": signaling.clock(),
        }
        fanout = signaling.fanout
        if route.to is None:
            await fanout.send_to_room(room.id, ServerEvent.CHAT_MESSAGE, message)
        else:
            # The sender's own pages show it too, in the order the server sent it.
            await fanout.send_to_member(room.id, route.to, ServerEvent.CHAT_MESSAGE, message)
            await fanout.send_to_member(room.id, sender.id, ServerEvent.CHAT_MESSAGE, message)
        return {"ok": True, "id": message["id"]}

    return handle


def _members(signaling: Signaling) -> Any:
    async def handle(connection: Connection, payload: BaseModel) -> Reply:
        assert isinstance(payload, s.ChatMembersPayload)
        identity = connection.identity
        command = codec.members_chat_command(identity, payload.allowed, signaling.clock())
        # `chat.state` reaches the room from the command's event (codec.to_wire).
        room, _ = await signaling.rooms.execute(identity.room, command)
        return {"ok": True, "members_allowed": room.members_chat}

    return handle


def _state(signaling: Signaling) -> Any:
    async def handle(connection: Connection, payload: BaseModel) -> Reply:
        room = await _room(signaling, connection)
        return {"ok": True, "members_allowed": room.members_chat}

    return handle
