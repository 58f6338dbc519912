"""Frames the server cannot use: counted by kind, logged once per connection, no traceback.

A hostile client could otherwise fill the log (each malformed packet used to write a
2 KB ERROR traceback). The first bad frame of a connection is logged at WARNING in one
line; the rest are only counted (Prometheus: telehealth_malformed_frames_total{kind}).
Bad frames also draw on a token bucket of their own, so a connection that keeps
sending them far faster than any client sends anything is closed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from enum import StrEnum

from signaling.rate_limit import TokenBucket

log = logging.getLogger(__name__)


class FrameKind(StrEnum):
    """Why a frame was unusable (the metric's label values). Two are spelled like the
    error code the client is answered with (`unknown_event`, `not_connected`)."""

    ENGINEIO = "engineio"  # not an Engine.IO packet (empty, unknown type, base64)
    PACKET = "packet"  # not a Socket.IO packet (bad type, header or JSON)
    NESTING = "nesting"  # JSON nested deeper than signaling.wire_json.MAX_DEPTH
    EVENT_SHAPE = "event_shape"  # an EVENT whose data is not ["name", ...]
    RESERVED_EVENT = "reserved_event"  # connect, disconnect, ...: only the transport raises those
    UNKNOWN_EVENT = "unknown_event"  # no handler in the namespace (namespaces without "*")
    NOT_CONNECTED = "not_connected"  # on a namespace the connection has not joined (or left)
    BINARY = "binary"  # binary packets or attachments: no event takes binary
    INTERNAL = "internal"  # the server failed on the frame (a bug: with traceback)


FRAME_KINDS = tuple(kind.value for kind in FrameKind)
LOG_DETAIL_CHARS = 80


class FrameGuard:
    def __init__(
        self,
        *,
        rate_per_s: float = 20.0,
        burst: float = 60.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.on_malformed: Callable[[str], None] = lambda kind: None
        self._rate_per_s = rate_per_s
        self._burst = burst
        self._monotonic = monotonic
        # Engine.IO session -> its bucket of bad frames (present once it sent one).
        self._buckets: dict[str, TokenBucket] = {}

    def malformed(
        self, eio_sid: str, kind: FrameKind, detail: str, error: BaseException | None = None
    ) -> bool:
        """Count one bad frame; True when the connection floods us with them."""
        self.on_malformed(kind)
        now = self._monotonic()
        bucket = self._buckets.get(eio_sid)
        if bucket is None:
            bucket = TokenBucket(self._rate_per_s, self._burst, updated_at=now)
            self._buckets[eio_sid] = bucket
            log.log(
                logging.ERROR if kind is FrameKind.INTERNAL else logging.WARNING,
                "bad frame (%s) from connection %s: %s; further ones on it are only counted",
                kind,
                eio_sid,
                detail[:LOG_DETAIL_CHARS],
                exc_info=error if kind is FrameKind.INTERNAL else None,
            )
        return not bucket.take(now) and bucket.is_flooding(now)

    def forget(self, eio_sid: str) -> None:
        self._buckets.pop(eio_sid, None)

    def __len__(self) -> int:
        return len(self._buckets)
