"""Group media relay (SFU): forwards encoded Opus and VP8 between group members.

See docs/relay.md. Only ``aiortc_hooks`` touches aiortc internals.
"""

from server.relay.group_relay import (
    EVENT_OFFER,
    EVENT_TRACKS,
    GroupRelay,
    NegotiationError,
    RelayClosedError,
)
from server.relay.relay_stats import LegStats, PublisherStats, RelayStats, SubscriberStats
from server.relay.voice_activity import VoiceActivityConfig, VoiceActivityDetector

__all__ = [
    "EVENT_OFFER",
    "EVENT_TRACKS",
    "GroupRelay",
    "LegStats",
    "NegotiationError",
    "PublisherStats",
    "RelayClosedError",
    "RelayStats",
    "SubscriberStats",
    "VoiceActivityConfig",
    "VoiceActivityDetector",
]
