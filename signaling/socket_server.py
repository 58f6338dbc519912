"""python-socketio's server, plus two things it does not tell handlers: was an ack asked
for, and how big the message was on the wire.

This reaches into `AsyncServer._handle_event_internal` and `_handle_eio_message` (tested
in tests/signaling/test_socket_server.py so an upgrade that moves them fails loudly).
Both values travel in context variables: python-socketio runs each event in a task of
its own, which copies the context of the message that started it.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

import socketio

ack_requested: ContextVar[bool] = ContextVar("ack_requested", default=False)
# Characters of the Engine.IO message that carried the event: our size limit is checked
# against this instead of serializing every payload again.
wire_size: ContextVar[int] = ContextVar("wire_size", default=0)


class SignalingServer(socketio.AsyncServer):  # type: ignore[misc]
    async def _handle_event_internal(
        self, server: Any, sid: str, eio_sid: str, data: Any, namespace: str, id: int | None
    ) -> None:
        ack_requested.set(id is not None)
        await super()._handle_event_internal(server, sid, eio_sid, data, namespace, id)

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        wire_size.set(len(data) if isinstance(data, str | bytes) else 0)
        await super()._handle_eio_message(eio_sid, data)
