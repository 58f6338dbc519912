"""The last packets of one publication, by sequence number, to answer subscribers' NACKs."""

from __future__ import annotations

from server.media.relay.relayed_packet import RelayedPacket

# About 4 s of 500 kbps video: longer than any NACK worth answering.
HISTORY_PACKETS = 512


class PacketHistory:
    """A ring of the publisher's recent packets, shared by all of its subscribers.

    One copy per publication instead of one per subscriber: each subscriber
    maps its own sequence number back to the publisher's (``ForwardingTrack``).
    """

    def __init__(self, size: int = HISTORY_PACKETS) -> None:
        self._size = size
        self._packets: list[RelayedPacket | None] = [None] * size

    def add(self, packet: RelayedPacket) -> None:
        self._packets[packet.sequence_number % self._size] = packet

    def get(self, sequence_number: int) -> RelayedPacket | None:
        packet = self._packets[sequence_number % self._size]
        if packet is None or packet.sequence_number != sequence_number:
            return None
        return packet

    def clear(self) -> None:
        self._packets = [None] * self._size
