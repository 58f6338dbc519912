"""One UDP port for every relay leg (``--rtc-ports 50000``): ICE muxed on a shared socket.

aioice gives each ICE connection sockets of its own. With one port, every leg's
host candidate is the same socket (one per host address), and datagrams are
handed to the leg they belong to, as LiveKit's and Jitsi's single-port muxes do:

* a STUN Binding request names its leg: its USERNAME is ``RELAY_UFRAG:MEMBER_UFRAG``
  and the relay's ufrag is unique per leg; the sender's address is then routed to
  that leg (a member that reconnects from the same address is re-routed by its
  new leg's first check);
* everything else (STUN responses, DTLS, SRTP) goes by source address, learnt from
  those checks and from the leg's own sends (the relay's checks to the member).

Each leg gets an ``aioice.ice.StunProtocol`` as usual, connected to a
``MuxedTransport`` that sends on the shared socket and exposes it as asyncio's
transport does (``_sock``, which ``SenderWire`` sends on). Closing a leg's
protocol drops its routes; the shared socket stays open for the next legs.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any, cast

import aioice
from aioice import stun
from aioice.ice import StunProtocol

from server.media.relay.aiortc_hooks.names import ASYNCIO_TRANSPORT_SOCKET

logger = logging.getLogger(__name__)

# Every leg's media shares these buffers.
MUX_SOCKET_BUFFER_BYTES = 4 * 1024 * 1024
# RFC 7983: a first byte of 0-3 is STUN.
STUN_FIRST_BYTE_MAX = 3

Address = tuple[str, int]


class MuxSocket(asyncio.DatagramProtocol):
    """The shared socket on one host address, and who gets what arrives on it."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.routes: dict[Address, StunProtocol] = {}
        self.by_ufrag: dict[str, StunProtocol] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # asyncio's selector transport is not a DatagramTransport subclass, but is one.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        source = (addr[0], addr[1])
        protocol = None
        if data and data[0] <= STUN_FIRST_BYTE_MAX:
            protocol = self._leg_named_in(data)
            if protocol is not None:
                self.routes[source] = protocol
        if protocol is None:
            protocol = self.routes.get(source)
        if protocol is not None:
            protocol.datagram_received(data, source)

    def _leg_named_in(self, data: bytes) -> StunProtocol | None:
        try:
            message = stun.parse_message(data)
        except ValueError:
            return None
        username = message.attributes.get("USERNAME")
        if message.message_class != stun.Class.REQUEST or not isinstance(username, str):
            return None
        return self.by_ufrag.get(username.split(":", 1)[0])

    def error_received(self, exc: Exception) -> None:
        logger.debug("relay mux socket: %s", exc)

    def forget(self, protocol: StunProtocol) -> None:
        for address in [a for a, p in self.routes.items() if p is protocol]:
            del self.routes[address]
        for ufrag in [u for u, p in self.by_ufrag.items() if p is protocol]:
            del self.by_ufrag[ufrag]


class MuxedTransport(asyncio.DatagramTransport):
    """One leg's view of the shared socket: what ``StunProtocol`` and ``SenderWire`` use."""

    def __init__(self, mux: MuxSocket, protocol: StunProtocol) -> None:
        super().__init__()
        assert mux.transport is not None
        self._mux = mux
        self._shared = mux.transport
        self._protocol = protocol
        self._closing = False
        self._loop = asyncio.get_running_loop()
        # SenderWire sends straight on the socket, as on asyncio's own transports.
        raw_socket = getattr(mux.transport, ASYNCIO_TRANSPORT_SOCKET, None)
        if raw_socket is not None:
            setattr(self, ASYNCIO_TRANSPORT_SOCKET, raw_socket)

    def sendto(self, data: Any, addr: Any = None) -> None:
        if self._closing:
            return
        # Replies to the relay's own checks come back from where they were sent.
        self._mux.routes.setdefault((addr[0], addr[1]), self._protocol)
        self._shared.sendto(data, addr)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._shared.get_extra_info(name, default)

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        self._mux.forget(self._protocol)
        self._loop.call_soon(self._protocol.connection_lost, None)

    def abort(self) -> None:
        self.close()


class UdpMux:
    """The shared sockets of one port, one per host address, opened on first use."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._sockets: dict[str, MuxSocket] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    async def protocol_for(self, connection: aioice.Connection, address: str) -> StunProtocol:
        """A ``StunProtocol`` of ``connection`` on the shared socket of ``address``."""
        mux = await self._socket_on(address)
        protocol = StunProtocol(connection)
        protocol.connection_made(MuxedTransport(mux, protocol))
        mux.by_ufrag[connection.local_username] = protocol
        return protocol

    async def _socket_on(self, address: str) -> MuxSocket:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new event loop (tests): the old sockets are gone
            self._sockets = {}
            self._loop = loop
        mux = self._sockets.get(address)
        if mux is not None and mux.transport is not None and not mux.transport.is_closing():
            return mux
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.bind((address, self.port))
            for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
                sock.setsockopt(socket.SOL_SOCKET, option, MUX_SOCKET_BUFFER_BYTES)
            sock.setblocking(False)
            _, mux = await loop.create_datagram_endpoint(MuxSocket, sock=sock)
        except OSError:
            sock.close()
            raise
        self._sockets[address] = mux
        return mux

    def close(self) -> None:
        for mux in self._sockets.values():
            if mux.transport is not None:
                mux.transport.close()
        self._sockets = {}
