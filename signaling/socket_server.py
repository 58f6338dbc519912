"""python-socketio's server, plus the one thing it does not tell handlers: was an ack asked for.

This reaches into `AsyncServer._handle_event_internal` (tested in
tests/signaling/test_socket_server.py so an upgrade that moves it fails loudly).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

import socketio

ack_requested: ContextVar[bool] = ContextVar("ack_requested", default=False)


class SignalingServer(socketio.AsyncServer):  # type: ignore[misc]
    async def _handle_event_internal(
        self, server: Any, sid: str, eio_sid: str, data: Any, namespace: str, id: int | None
    ) -> None:
        ack_requested.set(id is not None)
        await super()._handle_event_internal(server, sid, eio_sid, data, namespace, id)
