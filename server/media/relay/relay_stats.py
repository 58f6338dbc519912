"""Counters the relay exposes: per publisher, per subscriber, per member leg."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class PublisherStats:
    """One member's audio or video as it reached the relay.

    Units: an audio frame is one RTP packet; a video frame is one picture,
    usually several RTP packets.
    """

    rtp_packets_received: int
    frames_received: int
    bytes_received: int
    frames_dropped_by_gate: int
    keyframe_requests_sent: int
    keyframe_requests_held_back: int
    subscribers: int
    gate_open: bool


@dataclass(frozen=True)
class SubscriberStats:
    """What the relay forwarded to one member, summed over its slots."""

    frames_forwarded: int
    bytes_forwarded: int
    frames_dropped_overload: int
    frames_skipped_awaiting_keyframe: int
    slots: int
    packets_forwarded: int = 0
    packets_retransmitted: int = 0
    packets_not_sendable: int = 0  # libsrtp refused them (should stay 0)


@dataclass(frozen=True)
class LegStats:
    connection_state: str
    round_trip_time: float | None
    packets_lost_by_member: int
    jitter_to_relay: float | None
    packets_sent_to_member: int = 0
    packets_lost_from_member: int = 0
    packets_received_from_member: int = 0


@dataclass
class KindTotals:
    """Cumulative counts for one media kind across a relay (feeds Prometheus counters)."""

    frames_forwarded: int = 0
    bytes_forwarded: int = 0
    frames_dropped_overload: int = 0
    frames_skipped_awaiting_keyframe: int = 0
    frames_dropped_by_gate: int = 0


@dataclass(frozen=True)
class RelayStats:
    room_id: str
    publishers: dict[str, dict[str, PublisherStats]] = field(default_factory=dict)
    subscribers: dict[str, SubscriberStats] = field(default_factory=dict)
    legs: dict[str, LegStats] = field(default_factory=dict)

    @property
    def frames_forwarded(self) -> int:
        return sum(s.frames_forwarded for s in self.subscribers.values())

    @property
    def packets_forwarded(self) -> int:
        return sum(s.packets_forwarded for s in self.subscribers.values())

    @property
    def bytes_forwarded(self) -> int:
        return sum(s.bytes_forwarded for s in self.subscribers.values())

    @property
    def frames_dropped_overload(self) -> int:
        return sum(s.frames_dropped_overload for s in self.subscribers.values())

    @property
    def frames_dropped_by_gate(self) -> int:
        return sum(p.frames_dropped_by_gate for m in self.publishers.values() for p in m.values())
