"""Rate limit for keyframe requests sent to one publisher."""

from __future__ import annotations

KEYFRAME_REQUEST_INTERVAL = 0.5


class KeyframeLimiter:
    """Allows one keyframe request per ``interval`` seconds; remembers the ones it held back.

    Keyframes are large: answering every subscriber's PLI separately would
    flood the publisher's uplink when several subscribers lose a picture at
    once. A request inside the interval is not lost: ``pending_delay`` tells
    the caller when to send the one request that covers it.
    """

    def __init__(self, interval: float = KEYFRAME_REQUEST_INTERVAL) -> None:
        self._interval = interval
        self._last_sent: float | None = None
        self._pending = False

    def request(self, now: float) -> bool:
        """True if a request may be sent now; otherwise it is held back as pending."""
        if self._last_sent is None or now - self._last_sent >= self._interval:
            self._last_sent = now
            self._pending = False
            return True
        self._pending = True
        return False

    def pending_delay(self, now: float) -> float | None:
        """Seconds until the held-back request may be sent, or None if none is held back."""
        if not self._pending or self._last_sent is None:
            return None
        return max(0.0, self._last_sent + self._interval - now)
