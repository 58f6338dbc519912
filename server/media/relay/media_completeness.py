"""Does each subscriber receive what the relay owes it? Its own receiver reports say.

The relay knows which tracks each subscriber should get: a slot bound to a
publisher that is sending, whose gate is open, negotiated on the subscriber's
leg. The subscriber's RTCP receiver reports (RFC 3550 6.4) say which SSRCs
actually arrive: the extended highest sequence number of a stream grows while
its packets come in. A slot owed media whose reports have not grown for a
while is a gap ("Sam is not receiving Alex's video"), whatever the relay
itself thinks it sent: a forwarding bug, a stalled wire or a lost path all
look the same from the subscriber's side, which is the side that matters.
"""

from __future__ import annotations

from dataclasses import dataclass

# How long a subscriber may go without reporting progress on a stream it is owed.
# Browsers send receiver reports about once a second for video and every ~5 s
# (randomised 0.5-1.5x) for audio (libwebrtc's defaults), so audio needs longer.
SILENCE_LIMIT_S = {"video": 4.0, "audio": 9.0}


@dataclass(frozen=True)
class MediaGap:
    """``subscriber`` is owed ``publisher``'s ``kind`` and has not received it since ``since``."""

    subscriber: str
    publisher: str
    kind: str
    since: float


class ReceptionWatch:
    """One slot: the last time its subscriber was fine (received it, or was owed nothing)."""

    def __init__(self) -> None:
        self._highest: int | None = None
        self._progressed = False
        self._fine_at: float | None = None  # set by the first check

    def on_report(self, highest_sequence: int) -> None:
        """A receiver report's highest sequence for this slot's stream (RTCP path)."""
        if highest_sequence != self._highest:
            self._highest = highest_sequence
            self._progressed = True

    def restart(self) -> None:
        """A new publisher on the slot: its stream owes from the next check on."""
        self._progressed = False
        self._fine_at = None

    def missing_since(self, *, owed: bool, now: float, limit_s: float) -> float | None:
        """Check once (about every second): when the missing media stopped, or None."""
        if not owed or self._progressed or self._fine_at is None:
            self._fine_at = now
        self._progressed = False
        return self._fine_at if now - self._fine_at > limit_s else None


class PublisherActivity:
    """Whether a publisher sent anything since the last check (a camera turned off owes nothing)."""

    def __init__(self) -> None:
        self._last_count: dict[tuple[str, str], int] = {}

    def active(self, key: tuple[str, str], packets_received: int) -> bool:
        previous = self._last_count.get(key)
        self._last_count[key] = packets_received
        return previous is not None and packets_received > previous

    def forget(self, keys: set[tuple[str, str]]) -> None:
        for key in [k for k in self._last_count if k not in keys]:
            del self._last_count[key]
