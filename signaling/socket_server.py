"""python-socketio's server, hardened against hostile clients, plus two things it does not
tell handlers: was an ack asked for, and how big the message was on the wire.

What python-socketio does not do for us, and this class does before any handler runs:
* Only the transport raises `connect` and `disconnect`: python-socketio dispatches a
  client EVENT to any handler of the same name, so `42["disconnect"]` ran our disconnect
  handler (the connection stayed up, untracked) and `42["connect", environ, auth]`
  re-authenticated with a client-made environ. Reserved names, and names a namespace
  has no handler for, are answered `unknown_event` and go nowhere.
* Frames it cannot decode (bad type, header or JSON, an EVENT that is not
  ["name", ...], JSON nested too deep: see wire_json) are answered `malformed_frame` or
  `nesting_too_deep`, counted and logged once per connection (FrameGuard): no traceback.
* Binary packets and attachments are refused (`binary_not_allowed`): no client event
  takes binary, so nothing is buffered.
* Engine.IO frames that are not Engine.IO (over WebSocket, or in a long-polling POST
  body) are dropped and counted instead of ending the request with a traceback.
* An Engine.IO connection that does not authenticate (Socket.IO CONNECT) within
  `auth_timeout_s` is closed with a connect_error `auth_timeout`; an address holding
  `AddressCap.limit` connections gets HTTP 401 `too_many_connections`.

This reaches into `AsyncServer._handle_eio_message` (replaced: it is the parser's
dispatch), `_handle_event_internal`, `_handle_connect`, `_handle_eio_connect`,
`_handle_eio_disconnect` and Engine.IO's WebSocket driver (tested in
tests/signaling/test_socket_server.py and test_hostile_frames.py so an upgrade that
moves them fails loudly). The ack flag and the wire size travel in context variables:
python-socketio runs each event in a task of its own, which copies the context of the
message that started it.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import Any

import engineio
import socketio
from socketio import packet

from rooms.errors import ErrorCode
from signaling import wire_json
from signaling.address_cap import AddressCap
from signaling.deadline import Deadlines
from signaling.events import ServerEvent
from signaling.frame_guard import FrameGuard, FrameKind

log = logging.getLogger(__name__)

ack_requested: ContextVar[bool] = ContextVar("ack_requested", default=False)
# Characters of the Engine.IO message that carried the event: our size limit is checked
# against this instead of serializing every payload again.
wire_size: ContextVar[int] = ContextVar("wire_size", default=0)

# Event names only the transport may raise (Socket.IO's reserved names, both sides), and
# "*": python-socketio keys catch-all handlers by it and would call ours without the name.
RESERVED_EVENTS = frozenset(
    {
        "connect",
        "connect_error",
        "disconnect",
        "disconnecting",
        "newListener",
        "removeListener",
        "*",
    }
)
ENGINEIO_TYPES = frozenset("0123456")


class WirePacket(socketio.packet.Packet):  # type: ignore[misc]
    """Socket.IO packets decoded with the depth-bounded JSON (a subclass, so that
    python-socketio's own Packet class, which clients in this process use, is untouched)."""

    json = wire_json


class SignalingServer(socketio.AsyncServer):  # type: ignore[misc]
    def __init__(
        self,
        *args: Any,
        auth_timeout_s: float = 0.0,
        address_cap: AddressCap | None = None,
        **kwargs: Any,
    ) -> None:
        # Engine.IO's Packet takes the json module globally (engineio has no subclass hook).
        super().__init__(*args, serializer=WirePacket, json=wire_json, **kwargs)
        self.frames = FrameGuard()
        self._address_cap = address_cap or AddressCap(0)
        self._auth_deadlines = Deadlines(auth_timeout_s)
        websocket = self.eio._async["websocket"]
        self.eio._async = {**self.eio._async, "websocket": _guarded_websocket(websocket, self)}

    async def close_connection(self, sid: str, namespace: str = "/") -> None:
        """Disconnect `sid` and close its Engine.IO connection: python-socketio's
        disconnect() leaves the transport open, for a client to keep or reuse."""
        eio_sid = self.manager.eio_sid_from_sid(sid, namespace)
        await self.disconnect(sid, namespace)
        if eio_sid is not None:
            await self.eio.disconnect(eio_sid)

    # --- hooks on python-socketio ------------------------------------------------------

    async def _handle_event_internal(
        self, server: Any, sid: str, eio_sid: str, data: Any, namespace: str, id: int | None
    ) -> None:
        ack_requested.set(id is not None)
        await super()._handle_event_internal(server, sid, eio_sid, data, namespace, id)

    async def _handle_eio_connect(self, eio_sid: str, environ: Any) -> Any:
        if not self._address_cap.admit(eio_sid, environ):
            # Engine.IO answers HTTP 401 with this as its JSON body.
            code = ErrorCode.TOO_MANY_CONNECTIONS
            return {"code": code, "message": code.message}
        await super()._handle_eio_connect(eio_sid, environ)
        self._auth_deadlines.arm(eio_sid, lambda: self._auth_timed_out(eio_sid))
        socket = self.eio.sockets.get(eio_sid)
        if socket is not None:  # it exists while Engine.IO runs this handler
            socket.handle_post_request = _guarded_post(socket, eio_sid, self)
        return None

    async def _handle_eio_disconnect(self, eio_sid: str, reason: Any = None) -> None:
        self._address_cap.release(eio_sid)
        self._auth_deadlines.cancel(eio_sid)
        self.frames.forget(eio_sid)
        await super()._handle_eio_disconnect(eio_sid, reason)

    async def _handle_connect(self, eio_sid: str, namespace: str | None, data: Any) -> None:
        await super()._handle_connect(eio_sid, namespace, data)
        if self._connected_sid(eio_sid, namespace) is not None:
            self._auth_deadlines.cancel(eio_sid)

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        wire_size.set(len(data) if isinstance(data, str | bytes) else 0)
        try:
            await self._dispatch_frame(eio_sid, data)
        except Exception as error:  # a server bug: one traceback per connection, not per frame
            await self.bad_frame(eio_sid, FrameKind.INTERNAL, repr(error)[:200], error=error)

    # --- the parser's dispatch, with the checks ----------------------------------------

    async def _dispatch_frame(self, eio_sid: str, data: Any) -> None:
        if not isinstance(data, str):
            # A binary attachment: its packet was refused, or there was none.
            await self.bad_frame(
                eio_sid, FrameKind.BINARY, f"{len(data)} binary bytes", reply=False
            )
            return
        pkt = self.packet_class()
        try:
            pkt.attachment_count = pkt.decode(data) or 0
        except wire_json.NestingTooDeep:
            await self.bad_frame(
                eio_sid,
                FrameKind.NESTING,
                data[:16],
                pkt=pkt,
                code=ErrorCode.NESTING_TOO_DEEP,
                message=f"JSON nested deeper than {wire_json.MAX_DEPTH} levels.",
            )
            return
        except Exception as error:
            await self.bad_frame(eio_sid, FrameKind.PACKET, f"{data[:16]!r}: {error}", pkt=pkt)
            return
        kind = pkt.packet_type
        if kind == packet.CONNECT:
            await self._handle_connect(eio_sid, pkt.namespace, pkt.data)
        elif kind == packet.DISCONNECT:
            await self._handle_disconnect(eio_sid, pkt.namespace, self.reason.CLIENT_DISCONNECT)
        elif kind == packet.EVENT:
            await self._checked_event(eio_sid, pkt)
        elif kind == packet.ACK:
            await self._handle_ack(eio_sid, pkt.namespace, pkt.id, pkt.data)
        elif kind in (packet.BINARY_EVENT, packet.BINARY_ACK):
            await self.bad_frame(
                eio_sid, FrameKind.BINARY, data[:16], pkt=pkt, code=ErrorCode.BINARY_NOT_ALLOWED
            )
        else:
            await self.bad_frame(eio_sid, FrameKind.PACKET, f"packet type {kind!r}", pkt=pkt)

    async def _checked_event(self, eio_sid: str, pkt: Any) -> None:
        data = pkt.data
        if not (isinstance(data, list) and data and isinstance(data[0], str)):
            await self.bad_frame(
                eio_sid,
                FrameKind.EVENT_SHAPE,
                repr(data)[:40],
                pkt=pkt,
                message='An event is ["name", payload].',
            )
            return
        name: str = data[0]
        namespace = pkt.namespace or "/"
        if self._connected_sid(eio_sid, namespace) is None:
            # python-socketio drops these silently; say why (a connect_error for it).
            await self.bad_frame(
                eio_sid,
                FrameKind.NOT_CONNECTED,
                namespace[:64],
                pkt=pkt,
                code=ErrorCode.NOT_CONNECTED,
                message=f"Not connected to namespace {namespace[:64]!r}.",
            )
            return
        if name in RESERVED_EVENTS or not self._has_handler(namespace, name):
            kind = FrameKind.RESERVED_EVENT if name in RESERVED_EVENTS else FrameKind.UNKNOWN_EVENT
            await self.bad_frame(
                eio_sid,
                kind,
                name[:64],
                pkt=pkt,
                code=ErrorCode.UNKNOWN_EVENT,
                message=f"There is no event called {name[:64]!r}.",
                event=name,
            )
            return
        await self._handle_event(eio_sid, pkt.namespace, pkt.id, data)

    def _has_handler(self, namespace: str, name: str) -> bool:
        handlers = self.handlers.get(namespace, {})
        return name in handlers or "*" in handlers or namespace in self.namespace_handlers

    # --- refusals ---------------------------------------------------------------------

    async def bad_frame(
        self,
        eio_sid: str,
        kind: FrameKind,
        detail: str,
        *,
        pkt: Any = None,
        code: ErrorCode = ErrorCode.MALFORMED_FRAME,
        message: str = "",
        event: str | None = None,
        reply: bool = True,
        error: BaseException | None = None,
    ) -> None:
        """Count and answer one unusable frame; close the connection if they flood in."""
        flooding = self.frames.malformed(eio_sid, kind, detail, error)
        namespace = (getattr(pkt, "namespace", None) or "/") if pkt is not None else "/"
        ack_id = getattr(pkt, "id", None) if pkt is not None else None
        if flooding:
            await self._refuse(
                eio_sid,
                namespace,
                None,
                ErrorCode.FLOODING,
                "Disconnected: far too many bad frames.",
                event,
            )
            await self.eio.disconnect(eio_sid)
        elif reply and kind is not FrameKind.INTERNAL:
            await self._refuse(eio_sid, namespace, ack_id, code, message or code.message, event)

    async def _refuse(
        self,
        eio_sid: str,
        namespace: str,
        ack_id: Any,
        code: ErrorCode,
        message: str,
        event: str | None,
    ) -> None:
        """`{ok: false, error}` in an ack if one was asked for, else an `error` event; on a
        namespace the connection has not joined (not authenticated yet), a connect_error."""
        error: dict[str, Any] = {"code": code, "message": message}
        if self._connected_sid(eio_sid, namespace) is None:
            reply = self.packet_class(
                packet.CONNECT_ERROR, namespace=namespace, data={"message": message, "data": error}
            )
        elif isinstance(ack_id, int):
            reply = self.packet_class(
                packet.ACK, namespace=namespace, id=ack_id, data=[{"ok": False, "error": error}]
            )
        else:
            body = error if event is None else {**error, "event": event}
            reply = self.packet_class(
                packet.EVENT, namespace=namespace, data=[ServerEvent.ERROR, body]
            )
        await self._send_packet(eio_sid, reply)

    async def _auth_timed_out(self, eio_sid: str) -> None:
        code = ErrorCode.AUTH_TIMEOUT
        await self._send_packet(
            eio_sid,
            self.packet_class(
                packet.CONNECT_ERROR,
                namespace="/",
                data={"message": code.message, "data": {"code": code, "message": code.message}},
            ),
        )
        await self.eio.disconnect(eio_sid)

    def _connected_sid(self, eio_sid: str, namespace: str | None) -> str | None:
        namespace = namespace or "/"
        sid: str | None = self.manager.sid_from_eio_sid(eio_sid, namespace)
        if sid is None or not self.manager.is_connected(sid, namespace):
            return None
        return sid


def _guarded_websocket(base: type, server: SignalingServer) -> type:
    """Engine.IO's WebSocket driver, dropping (and counting) frames that are not Engine.IO
    packets (engineio would raise on them outside any handler and end the connection
    with an ERROR traceback in the log), and ending at once once the session is closed."""

    class GuardedWebSocket(base):  # type: ignore[misc]
        async def wait(self) -> Any:
            while True:
                socket = getattr(self.handler, "__self__", None)
                if getattr(socket, "closed", False):
                    # The client sent Engine.IO CLOSE: engineio would keep reading this
                    # WebSocket for up to ping_interval + ping_timeout (45 s) after the
                    # session is gone, outside the per-address cap. End it now.
                    return None
                frame = await super().wait()
                if not isinstance(frame, str) or (frame and frame[0] in ENGINEIO_TYPES):
                    return frame
                eio_sid = getattr(getattr(self.handler, "__self__", None), "sid", "?")
                await server.bad_frame(eio_sid, FrameKind.ENGINEIO, repr(frame[:16]))
                if eio_sid not in server.eio.sockets:
                    return None  # closed for flooding

    return GuardedWebSocket


# Engine.IO's own bound on packets per long-polling POST body.
MAX_PACKETS_PER_POST = engineio.payload.Payload.max_decode_packets
PACKET_SEPARATOR = "\x1e"


def _guarded_post(socket: Any, eio_sid: str, server: SignalingServer) -> Any:
    """Engine.IO's long-polling POST handler, decoding each packet on its own: a bad one
    is counted and dropped (engineio's raised for the whole body, and its request
    handler logged a traceback for every such POST)."""

    async def handle_post_request(environ: dict[str, Any]) -> None:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= server.eio.max_http_buffer_size:
            raise engineio.exceptions.ContentTooLongError()
        body = (await environ["wsgi.input"].read(length)).decode("utf-8", errors="replace")
        encoded = body.split(PACKET_SEPARATOR) if body else []
        if len(encoded) > MAX_PACKETS_PER_POST:
            await server.bad_frame(
                eio_sid, FrameKind.ENGINEIO, f"{len(encoded)} packets in one POST"
            )
            return
        for one in encoded:
            try:
                pkt = engineio.packet.Packet(encoded_packet=one)
                if not 0 <= pkt.packet_type < len(engineio.packet.packet_names):
                    raise ValueError("unknown packet type")
            except Exception:
                await server.bad_frame(eio_sid, FrameKind.ENGINEIO, repr(one[:16]))
                if eio_sid not in server.eio.sockets:
                    return  # closed for flooding
                continue
            await socket.receive(pkt)

    return handle_post_request
