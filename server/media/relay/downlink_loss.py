"""What a subscriber loses on its downlink of what the relay sends it, from its
receiver reports as they arrive: the congestion signal for last-N
(``last_n.LastNPolicy``).

Each RTCP receiver report block (RFC 3550 6.4.1) carries the extended highest
sequence number received and the cumulative number of packets lost; libwebrtc
reports a video stream about every second and an audio stream about every five.
Between two reports of a stream, the subscriber lost ``lost`` of ``expected``
numbers. Some of those numbers the relay never sent: within an epoch it forwards with
the publisher's numbering (so NACKs map), and packets lost on the publisher's uplink
leave gaps there. The forwarding track counts its own gaps (``skipped_through``), and
only the rest is the downlink's loss: a member on a clear link is not told its link
is congested because another member's uplink is weak.

Reading reports as they come answers within a second or two of a link starting to
overflow, where the leg's periodic ``getStats`` (every 5 s) answered only after
several seconds of lost audio. Pure (no clock): the relay calls ``take`` once per
last-N tick.
"""

from __future__ import annotations

from dataclasses import dataclass

SEQUENCE_MODULUS = 1 << 32  # extended highest sequence numbers (RFC 3550 A.1)


@dataclass(frozen=True)
class _Mark:
    highest: int
    lost: int
    skipped: int | None  # of our numbers through `highest`, never sent; None: unknown


class DownlinkLoss:
    """Downlink loss over the reports that arrived since the previous ``take``, over
    every stream (each weighed by the packets it was sent: a paused camera's stream
    counts for nothing). Nothing new reported is None, not the last value again: the
    policy counts a loss that lasts by decisions in a row, and one report counted
    twice would make a burst look lasting."""

    def __init__(self) -> None:
        self._marks: dict[int, _Mark] = {}
        self._lost = 0
        self._sent = 0

    def on_report(
        self, stream: int, highest_sequence: int, cumulative_lost: int, skipped: int | None
    ) -> None:
        """One report block: ``skipped`` is how many numbers through ``highest_sequence``
        the relay never sent on this stream (``ForwardingTrack.skipped_through``)."""
        previous = self._marks.get(stream)
        expected = 0
        if previous is not None:
            expected = (highest_sequence - previous.highest) % SEQUENCE_MODULUS
            if expected > SEQUENCE_MODULUS // 2:
                return  # older than the previous report (reordered): not a span
        self._marks[stream] = _Mark(highest_sequence, cumulative_lost, skipped)
        if previous is None or expected == 0:
            return
        never_sent = 0
        if skipped is not None and previous.skipped is not None:
            never_sent = max(0, skipped - previous.skipped)
        sent = expected - never_sent
        if sent <= 0:
            return
        # Duplicates and late arrivals can make the cumulative count go down.
        lost = min(sent, max(0, cumulative_lost - previous.lost - never_sent))
        self._lost += lost
        self._sent += sent

    def forget(self, stream: int) -> None:
        """A stream that resumes after a pause: its next report spans the pause and the
        losses just before it (a paused stream gets no reports), which are not news.
        The report after that is the first span counted."""
        self._marks.pop(stream, None)

    def take(self) -> float | None:
        """The fraction lost since the previous call, or None when nothing was reported."""
        fraction = self._lost / self._sent if self._sent else None
        self._lost, self._sent = 0, 0
        return fraction
