"""Group media relay (SFU): forwards encoded Opus and VP8 between group members.

See docs/relay.md. Only ``aiortc_hooks`` touches aiortc internals.
"""

from server.media.relay.group_relay import (
    GroupRelay,
    NegotiationError,
    RelayClosedError,
    RelaySignals,
)
from server.media.relay.relay_stats import LegStats, PublisherStats, RelayStats, SubscriberStats
from server.media.relay.voice_activity import VoiceActivityConfig, VoiceActivityDetector

__all__ = [
    "GroupRelay",
    "LegStats",
    "NegotiationError",
    "PublisherStats",
    "RelayClosedError",
    "RelaySignals",
    "RelayStats",
    "SubscriberStats",
    "VoiceActivityConfig",
    "VoiceActivityDetector",
]
