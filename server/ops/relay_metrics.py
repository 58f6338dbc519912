"""Relay counters into Prometheus: cumulative totals per room, turned into deltas."""

from __future__ import annotations

from collections.abc import Mapping

from server.media.relay import GroupRelay
from server.media.relay.relay_stats import KindTotals
from server.ops.metrics import Metrics

# (our field, Prometheus outcome: "forwarded" or a drop reason)
FIELDS = (
    ("frames_forwarded", "bytes_forwarded", None),
    ("frames_dropped_by_gate", None, "gate"),
    ("frames_dropped_overload", None, "overload"),
    ("frames_skipped_awaiting_keyframe", None, "awaiting_keyframe"),
)


class RelayMetricsSampler:
    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        self._last: dict[tuple[str, str], KindTotals] = {}

    def sample(self, relays: Mapping[str, GroupRelay]) -> None:
        for room_id, relay in relays.items():
            for kind, totals in relay.totals_by_kind().items():
                last = self._last.get((room_id, kind), KindTotals())
                self._last[room_id, kind] = totals
                for frames_field, bytes_field, reason in FIELDS:
                    # A leg that closed takes its counters with it: never count backwards.
                    frames = max(0, getattr(totals, frames_field) - getattr(last, frames_field))
                    nbytes = 0
                    if bytes_field is not None:
                        nbytes = max(0, getattr(totals, bytes_field) - getattr(last, bytes_field))
                    if frames == 0 and nbytes == 0:
                        continue
                    if reason is None:
                        self._metrics.relay_forwarded(kind, nbytes, frames)
                    else:
                        self._metrics.relay_dropped(kind, reason, nbytes, frames)
        for key in [k for k in self._last if k[0] not in relays]:
            del self._last[key]
