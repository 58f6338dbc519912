"""The discipline every client event goes through, on any namespace: rate limit, route,
one payload, size, schema, then the handler; every refusal an `{ok: false, error}` reply.

The session gateway ("/") and the ops feed ("/ops") each keep a `Dispatcher` of their own
routes; what a caller is (a seat's Connection, an ops connection) is theirs to say.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError
from socketio.exceptions import ConnectionRefusedError as SocketRefused

from rooms.errors import DomainError, ErrorCode
from signaling.ports import Refusal
from signaling.rate_limit import TokenBucket
from signaling.socket_server import ack_requested, wire_size

log = logging.getLogger(__name__)

Reply = dict[str, Any]
Caller = TypeVar("Caller")


@dataclass(frozen=True)
class Route(Generic[Caller]):
    schema: type[BaseModel]
    handler: Callable[[Caller, Any], Awaitable[Reply]]
    # Refused `not_joined` until the caller holds a seat (the session namespace's rule).
    needs_join: bool = True


def error_reply(code: ErrorCode, message: str | None = None) -> Reply:
    return {
        "ok": False,
        "error": {"code": code, "message": code.message if message is None else message},
    }


def connect_refusal(code: ErrorCode, message: str | None = None) -> SocketRefused:
    """A connect refusal whose `err.data` is {code, message}: python-socketio puts its
    first argument in the packet's `message` and the second in `data`."""
    message = code.message if message is None else message
    return SocketRefused(message, {"code": code, "message": message})


def error_event(reply: Reply, event: str) -> dict[str, Any] | None:
    """The `error` event's body for a refusal the client asked no ack for, else None."""
    if reply.get("ok") is False and not ack_requested.get():
        return dict(reply["error"], event=event)
    return None


def flood_error(event: str) -> dict[str, Any]:
    """The `error` event's body sent just before a flooding connection is closed."""
    return {"code": ErrorCode.FLOODING, "event": event, "message": ErrorCode.FLOODING.message}


class Dispatcher(Generic[Caller]):
    def __init__(
        self,
        *,
        max_message_bytes: int,
        monotonic: Callable[[], float],
        on_flood: Callable[[Caller, str], Awaitable[None]],
        holds_seat: Callable[[Caller], bool] = lambda caller: True,
    ) -> None:
        self.routes: dict[str, Route[Caller]] = {}
        self._max_message_bytes = max_message_bytes
        self._monotonic = monotonic
        self._on_flood = on_flood
        self._holds_seat = holds_seat

    def add_route(self, event: str, route: Route[Caller]) -> None:
        self.routes[event] = route

    async def dispatch(
        self, caller: Caller, bucket: TokenBucket, event: str, data: Any, extra: tuple[Any, ...]
    ) -> Reply:
        now = self._monotonic()
        if not bucket.take(now):
            if bucket.is_flooding(now):
                await self._on_flood(caller, event)
            return error_reply(ErrorCode.RATE_LIMITED)
        route = self.routes.get(event)
        if route is None:
            return error_reply(ErrorCode.UNKNOWN_EVENT, f"There is no event called {event[:64]!r}.")
        if extra:
            return error_reply(ErrorCode.INVALID_PAYLOAD)
        if wire_size.get() > self._max_message_bytes:
            return error_reply(
                ErrorCode.MESSAGE_TOO_LARGE,
                f"Messages are limited to {self._max_message_bytes} bytes.",
            )
        try:
            payload = route.schema.model_validate({} if data is None else data)
        except ValidationError as error:
            return error_reply(ErrorCode.INVALID_PAYLOAD, describe(error))
        if route.needs_join and not self._holds_seat(caller):
            return error_reply(ErrorCode.NOT_JOINED, "Join the session first.")
        try:
            return await route.handler(caller, payload)
        except (DomainError, Refusal) as refusal:
            return error_reply(refusal.code, refusal.message)


def describe(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "payload"
    return f"{where}: {first['msg']}"
