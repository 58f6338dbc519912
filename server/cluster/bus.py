"""Messages between processes over Redis pub/sub: a channel per process, one per room.

- `rpc:NODE`: requests to that process (a command for a room it owns, a relay offer)
  and the replies to its own requests. Requests run in their own task; replies
  resolve the waiting caller.
- `fanout:ROOM`: what the room's members must hear (domain events, pushes). A process
  listens only while it holds connections in that room, so a message costs nothing to
  processes without members there (python-socketio's Redis manager, by contrast, has
  every process decode every message on one channel). Messages of one room are
  handled in order, one at a time, as they were published.

Messages are sealed with the deployment's storage key (the channel name is the
associated data): they carry display names and SDP, and Redis is shared
infrastructure. The sending process's id goes in clear before the sealed part (and
inside it), so a process skips its own room messages without opening them.

A request whose caller listens to the room's channel and needs no result (`perform`:
a media toggle, a hand raised) is answered by the owner's fan-out of that command's
events: the message carries `done` with the request's id, and the caller resolves
its call after delivering the events. One publish and one delivery fewer per command
than a separate reply, and the caller still hears the events before its caller goes on.
The owner publishes that fan-out inside its fenced save (`room_message`), so it goes
out only when the command's result is saved.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from rooms.errors import DomainError, ErrorCode
from server.stores.redis_store import KEY_PREFIX, answering
from server.stores.sealed import Sealer
from signaling.ports import Refusal

log = logging.getLogger(__name__)

RPC_CHANNEL = KEY_PREFIX + "rpc:{node}"
FANOUT_CHANNEL = KEY_PREFIX + "fanout:{room_id}"
# A request the owner has not answered in this long is refused with `unavailable`.
RPC_TIMEOUT_S = 2.5
READ_TIMEOUT_S = 1.0
RECONNECT_PAUSE_S = 0.2

_CODES = {code.value: code for code in ErrorCode}

Message = dict[str, Any]
RequestHandler = Callable[[str, str, Message], Awaitable[Any]]  # (kind, room, body) -> result
RoomHandler = Callable[[str, Message], Awaitable[None]]


class RemoteRefusal(DomainError):
    """The owner refused the request: its code and message, as the owner said them."""


class Unreachable(DomainError):
    """Nobody listens on that process's channel (it died, or its pub/sub connection is
    coming back): the request reached no one, so no answer will come."""

    def __init__(self) -> None:
        super().__init__(ErrorCode.UNAVAILABLE)


@dataclass
class _Answerable:
    """A request being run here whose answer may ride on the room's fan-out."""

    request_id: str
    room_id: str
    answered: bool = False


@dataclass(frozen=True)
class SealedRoomMessage:
    channel: str
    message: bytes
    _answers: _Answerable | None

    def published(self) -> None:
        if self._answers is not None:
            self._answers.answered = True


# Set in the task that runs such a request (a context variable: the command's listeners
# run in that same task, several requests run at once in others).
_answerable: ContextVar[_Answerable | None] = ContextVar("cluster_answerable", default=None)


class ClusterBus:
    def __init__(self, redis: aioredis.Redis, node_id: str, sealer: Sealer) -> None:
        self._redis = redis
        self.node_id = node_id
        self._sealer = sealer
        self._pubsub = redis.pubsub()
        self._rpc_channel = RPC_CHANNEL.format(node=node_id)
        self._pending: dict[str, asyncio.Future[Message]] = {}
        self._watching: set[str] = set()
        self._node_prefix = node_id.encode() + b"|"  # node ids hold no "|"
        self._requests: set[asyncio.Task[None]] = set()
        self._reader: asyncio.Task[None] | None = None
        self._on_request: RequestHandler | None = None
        self._on_room: RoomHandler | None = None
        self.handled = 0  # messages read, for the benchmark's cost per message
        # False from a failed read until a read succeeds again, which means the pub/sub
        # connection is back and resubscribed. A message published in between is lost
        # to this process, so readiness waits for this (docs/operations.md).
        self.listening = False

    def serve(self, on_request: RequestHandler, on_room: RoomHandler) -> None:
        self._on_request = on_request
        self._on_room = on_room

    async def start(self) -> None:
        await self._pubsub.subscribe(self._rpc_channel)
        self._reader = asyncio.create_task(self._read(), name="cluster-bus")

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        for task in list(self._requests):
            task.cancel()
        with contextlib.suppress(RedisError, OSError):
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]

    # --- rooms this process listens to ---------------------------------------------

    async def watch_room(self, room_id: str) -> None:
        with answering("watch room"):
            await self._pubsub.subscribe(FANOUT_CHANNEL.format(room_id=room_id))
        self._watching.add(room_id)

    async def unwatch_room(self, room_id: str) -> None:
        self._watching.discard(room_id)
        with answering("unwatch room"):
            await self._pubsub.unsubscribe(FANOUT_CHANNEL.format(room_id=room_id))

    def hears(self, room_id: str) -> bool:
        """Whether a message on the room's channel reaches this process now."""
        return self.listening and room_id in self._watching

    async def publish_room(self, room_id: str, message: Message) -> None:
        await self._publish(FANOUT_CHANNEL.format(room_id=room_id), message)

    def room_message(self, room_id: str, message: Message) -> SealedRoomMessage:
        """A room message for someone else to publish (the owner's fenced save), which
        may also answer the request being run here (see above): call `published()`
        once it is out."""
        answerable = _answerable.get()
        if answerable is not None and (answerable.answered or answerable.room_id != room_id):
            answerable = None
        if answerable is not None:
            message["done"] = answerable.request_id
        channel = FANOUT_CHANNEL.format(room_id=room_id)
        return SealedRoomMessage(channel, self._sealed(channel, message), answerable)

    # --- requests --------------------------------------------------------------------

    async def call(
        self, node: str, kind: str, room_id: str, body: Message, timeout_s: float = RPC_TIMEOUT_S
    ) -> Any:
        """Ask `node` to run a request for a room; its result, or its refusal raised."""
        request_id = secrets.token_hex(8)
        reply: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = reply
        request = {"kind": kind, "id": request_id, "from": self.node_id, "room": room_id, **body}
        try:
            if await self._publish(RPC_CHANNEL.format(node=node), request) == 0:
                raise Unreachable
            answer = await asyncio.wait_for(reply, timeout_s)
        except TimeoutError:
            log.warning("cluster bus: a request went unanswered", extra={"room": room_id})
            raise DomainError(ErrorCode.UNAVAILABLE) from None
        finally:
            self._pending.pop(request_id, None)
        if "refusal" in answer:
            refused = answer["refusal"]
            code = _CODES.get(str(refused["code"]), ErrorCode.UNAVAILABLE)
            raise RemoteRefusal(code, str(refused["message"]))
        return answer.get("result")

    # --- wire ------------------------------------------------------------------------

    async def _publish(self, channel: str, message: Message) -> int:
        """How many processes heard it."""
        sealed = self._sealed(channel, message)
        with answering("publish"):
            return int(await self._redis.publish(channel, sealed))

    def _sealed(self, channel: str, message: Message) -> bytes:
        message["sender"] = self.node_id
        text = json.dumps(message, separators=(",", ":"))
        return self._node_prefix + self._sealer.seal(channel, text)

    async def _read(self) -> None:
        while True:
            try:
                raw = await self._pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=READ_TIMEOUT_S
                )
            except (RedisError, OSError):
                # Redis is away: the pub/sub connection resubscribes when it returns.
                self.listening = False
                await asyncio.sleep(RECONNECT_PAUSE_S)
                continue
            self.listening = True
            if raw is None or raw.get("type") != "message":
                continue
            channel = raw["channel"]
            channel = channel.decode() if isinstance(channel, bytes) else str(channel)
            data = raw["data"]
            data = data if isinstance(data, bytes) else str(data).encode()
            sender_bytes, _, sealed = data.partition(b"|")
            sender = sender_bytes.decode(errors="replace")
            if sender == self.node_id and channel != self._rpc_channel:
                continue  # our own room message, back from Redis: delivered here already
            try:
                message = json.loads(self._sealer.open(channel, sealed))
            except Exception:
                log.warning("cluster bus: a message that does not open", extra={"c": channel})
                continue
            if message.get("sender") != sender:
                log.warning("cluster bus: a message from a spoofed sender", extra={"c": channel})
                continue
            self.handled += 1
            await self._dispatch(channel, message)

    async def _dispatch(self, channel: str, message: Message) -> None:
        if channel == self._rpc_channel:
            if "reply_to" in message:
                waiting = self._pending.get(message["reply_to"])
                if waiting is not None and not waiting.done():
                    waiting.set_result(message)
                return
            task = asyncio.create_task(self._answer(message))
            self._requests.add(task)
            task.add_done_callback(self._requests.discard)
            return
        if self._on_room is None:
            return
        room_id = channel[len(FANOUT_CHANNEL.format(room_id="")) :]
        try:
            await self._on_room(room_id, message)
        except Exception:
            log.exception("cluster bus: a room message failed", extra={"room": room_id})
        done = message.get("done")
        if isinstance(done, str):
            waiting = self._pending.get(done)
            if waiting is not None and not waiting.done():
                waiting.set_result({"result": None})

    async def _answer(self, request: Message) -> None:
        assert self._on_request is not None
        reply: Message = {"reply_to": request["id"]}
        answerable = None
        if request.get("answer_on_room") is True:
            answerable = _Answerable(str(request["id"]), str(request["room"]))
            _answerable.set(answerable)
        try:
            result = await self._on_request(request["kind"], request["room"], request)
            if answerable is not None and answerable.answered and result is None:
                return  # the room's fan-out carried the answer
            reply["result"] = result
        except (DomainError, Refusal) as refusal:
            reply["refusal"] = {"code": refusal.code.value, "message": refusal.message}
        except Exception:
            log.exception("cluster bus: a request failed", extra={"kind": request.get("kind")})
            reply["refusal"] = {"code": ErrorCode.UNAVAILABLE.value, "message": "Internal error."}
        with contextlib.suppress(DomainError):
            await self._publish(RPC_CHANNEL.format(node=request["from"]), reply)
