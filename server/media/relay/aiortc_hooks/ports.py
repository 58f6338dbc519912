"""The relay's ICE sockets: UDP ports from a configured range, a public address announced.

A relay behind a firewall and a 1:1 NAT (a cloud VM) needs two things aioice
(pinned through aiortc) does not offer:

* **ports a firewall rule can name**: ``Connection.get_component_candidates``
  binds each host candidate's socket to port 0, any ephemeral port;
* **the public address in the candidates**: the host's own (private) address
  is what the relay would announce, and members outside cannot reach it.

``bind_host_candidates`` replaces that one method on each ICE connection of a
leg (never on the class: aiortc members in the same process, as in tests, keep
aioice's own) with ``component_candidates``, which does what aioice 0.13.0's
does, except that host sockets take a free port of the range and IPv4 host
candidates carry the announced address (as pion's NAT 1:1 host mapping, used by
LiveKit's ``node_ip``, does). Connectivity checks need nothing more: the member
sends to the public address, the NAT delivers to the socket, and aioice answers
from it. Server-reflexive (STUN) and relayed (TURN) candidates are gathered as
aioice gathers them. The TURN client's own socket is an outgoing connection to
the TURN server from an ephemeral port (its replies pass a stateful firewall).

``tests/relay/test_aiortc_hooks_ports.py`` fails when aioice's gathering moves.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import random
import socket
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import aioice
from aioice import Candidate, TransportPolicy
from aioice.candidate import candidate_foundation, candidate_priority
from aioice.ice import StunProtocol, relayed_candidate, server_reflexive_candidate
from aioice.turn import UDP_SOCKET_BUFFER_SIZE
from aiortc import RTCPeerConnection

from server.media.relay.aiortc_hooks.names import ICE_PROTOCOLS, AiortcHookError
from server.media.relay.aiortc_hooks.udp_mux import UdpMux

logger = logging.getLogger(__name__)

PINNED_AIOICE_VERSION = "0.13.0"
# The method replaced per connection, and what aioice's Connection keeps that it uses.
GATHER_METHOD = "get_component_candidates"
GATHERER_CONNECTION = "_connection"
ICE_TRANSPORT_POLICY = "_transport_policy"
# aioice's own wait for STUN and TURN answers while gathering (its default argument).
GATHER_TIMEOUT_S = 5

ComponentCandidates = Callable[..., Awaitable[list[Candidate]]]


@dataclass(frozen=True)
class HostCandidatePolicy:
    """Where the relay's host candidates bind and what address they announce.

    A range of one port (``ports=(p, p)``) is shared by every leg (``udp_mux``).
    """

    ports: tuple[int, int] | None = None
    announce_ip: str | None = None
    mux: UdpMux | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.ports is not None and self.ports[0] == self.ports[1] and self.mux is None:
            object.__setattr__(self, "mux", UdpMux(self.ports[0]))

    @property
    def changes_gathering(self) -> bool:
        return self.ports is not None or self.announce_ip is not None

    def announced(self, bound_address: str) -> str:
        """The address a candidate bound to ``bound_address`` announces."""
        if self.announce_ip is None:
            return bound_address
        same_family = (
            ipaddress.ip_address(self.announce_ip).version
            == ipaddress.ip_address(bound_address).version
        )
        return self.announce_ip if same_family else bound_address

    def port_order(self) -> list[int]:
        """The range's ports from a random one on, so legs do not all probe from the bottom."""
        if self.ports is None:
            return [0]
        first, last = self.ports
        ports = list(range(first, last + 1))
        start = random.randrange(len(ports))
        return ports[start:] + ports[:start]


def check_aioice_version() -> None:
    if aioice.__version__ != PINNED_AIOICE_VERSION:
        raise AiortcHookError(
            f"aiortc_hooks/ports.py mirrors aioice {PINNED_AIOICE_VERSION}'s gathering, "
            f"found {aioice.__version__}: re-check it before changing the pin"
        )


def ice_connections(pc: RTCPeerConnection) -> Iterator[aioice.Connection]:
    """The aioice connection of each of ``pc``'s ICE transports, once each."""
    seen: set[int] = set()
    transports = [transceiver.receiver.transport for transceiver in pc.getTransceivers()]
    if pc.sctp is not None:  # a data channel's (the connection check's media probe)
        transports.append(pc.sctp.transport)
    for dtls in transports:
        if dtls is None:
            continue
        connection = getattr(dtls.transport.iceGatherer, GATHERER_CONNECTION)
        if id(connection) not in seen:
            seen.add(id(connection))
            yield connection


def bind_host_candidates(pc: RTCPeerConnection, policy: HostCandidatePolicy) -> None:
    """Make ``pc``'s gathering follow ``policy``; call before setLocalDescription.

    Connections that already gathered are left as they are (gathering happens once).
    """
    if not policy.changes_gathering:
        return
    check_aioice_version()
    for connection in ice_connections(pc):
        if connection.local_candidates:
            continue

        # aioice's own signature, timeout included.
        async def gather(
            component: int,
            addresses: list[str],
            timeout: int = GATHER_TIMEOUT_S,  # noqa: ASYNC109
            connection: aioice.Connection = connection,
        ) -> list[Candidate]:
            return await component_candidates(connection, policy, component, addresses, timeout)

        setattr(connection, GATHER_METHOD, gather)


async def component_candidates(
    connection: aioice.Connection,
    policy: HostCandidatePolicy,
    component: int,
    addresses: list[str],
    timeout: int = GATHER_TIMEOUT_S,  # noqa: ASYNC109 (aioice's signature)
) -> list[Candidate]:
    """aioice 0.13.0's ``Connection.get_component_candidates`` with ``policy``'s sockets."""
    candidates: list[Candidate] = []
    host_protocols: list[StunProtocol] = []
    for address in addresses:
        try:
            if policy.mux is not None:
                protocol = await policy.mux.protocol_for(connection, address)
            else:
                protocol = await bind_host_socket(connection, address, policy)
        except OSError as error:
            logger.warning("relay: no UDP socket on %s for a leg: %s", address, error)
            continue
        bound = protocol.transport.get_extra_info("sockname")
        protocol.local_candidate = Candidate(
            foundation=candidate_foundation("host", "udp", bound[0]),
            component=component,
            transport="udp",
            priority=candidate_priority(component, "host"),
            host=policy.announced(bound[0]),
            port=bound[1],
            type="host",
        )
        host_protocols.append(protocol)
        candidates.append(protocol.local_candidate)
    protocols: list[StunProtocol] = getattr(connection, ICE_PROTOCOLS)
    protocols += host_protocols

    tasks: list[asyncio.Task[tuple[Candidate, StunProtocol | None]]] = []
    if connection.stun_server:
        for protocol in host_protocols:
            if ipaddress.ip_address(protocol.local_candidate.host).version == 4:
                reflexive = server_reflexive_candidate(protocol, connection.stun_server)
                tasks.append(asyncio.create_task(reflexive))
    if connection.turn_server:
        tasks.append(
            asyncio.create_task(
                relayed_candidate(
                    component=component,
                    hide_related_address=(
                        getattr(connection, ICE_TRANSPORT_POLICY) == TransportPolicy.RELAY
                    ),
                    protocol_factory=lambda: StunProtocol(connection),
                    turn_server=connection.turn_server,
                    turn_username=connection.turn_username,
                    turn_password=connection.turn_password,
                    turn_ssl=connection.turn_ssl,
                    turn_transport=connection.turn_transport,
                )
            )
        )
    if tasks:
        done, pending = await asyncio.wait(tasks, timeout=timeout)
        for task in done:
            failure = task.exception()
            if failure is not None:
                logger.info("relay: a STUN or TURN candidate was not gathered: %r", failure)
                continue
            candidate, extra_protocol = task.result()
            candidates.append(candidate)
            if extra_protocol is not None:
                protocols.append(extra_protocol)
        for task in pending:
            task.cancel()
    return candidates


async def bind_host_socket(
    connection: aioice.Connection, address: str, policy: HostCandidatePolicy
) -> StunProtocol:
    """A UDP socket on ``address`` at the first free port of the policy's order."""
    family = socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
    last_error: OSError | None = None
    for port in policy.port_order():
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.bind((address, port))
        except OSError as error:
            sock.close()
            last_error = error
            continue
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_SOCKET_BUFFER_SIZE)
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_datagram_endpoint(
            lambda: StunProtocol(connection), sock=sock
        )
        return protocol
    first, last = policy.ports or (0, 0)
    raise OSError(f"every UDP port of {first}-{last} is taken ({last_error})")


def host_sockets(pc: RTCPeerConnection) -> list[tuple[str, int]]:
    """Where ``pc``'s host candidate sockets are bound (tests and diagnostics)."""
    bound: list[tuple[str, int]] = []
    for connection in ice_connections(pc):
        for protocol in getattr(connection, ICE_PROTOCOLS):
            candidate: Any = getattr(protocol, "local_candidate", None)
            if candidate is not None and candidate.type == "host":
                name = protocol.transport.get_extra_info("sockname")
                bound.append((name[0], int(name[1])))
    return bound
