"""Last-N for weak subscribers: which cameras a subscriber's downlink can carry.

Pure (time is passed in): the relay feeds it each subscriber's bandwidth estimate
(REMB from the subscriber's browser) and the bitrate of every forwarded track as
measured at the relay, once a second; it answers which publishers' cameras to pause
for that subscriber. When the estimate cannot carry every camera, only the *kept*
ones flow (the current speaker and the therapist: the relay decides who they are).
Audio is never paused and its bitrate is reserved first (a screen share's too: it is
the session's content, never paused by last-N).

Hysteresis, so a subscriber near the line does not flap between the two:

* **Pause** when the video budget (estimate minus audio) stays below what every
  camera needs (``pause_below`` x the measured rates) for ``pause_after_s`` in a
  row, and only once the leg's estimate has had ``startup_grace_s`` to ramp up
  (browsers start low and climb).
* **Resume** when the budget covers everything with room to spare
  (``resume_above``), or as a **probe** after ``probe_after_s``: a browser's
  REMB follows what it receives (libwebrtc caps it near 1.5x the incoming rate),
  so with cameras paused it may never show room for them. A probe that ends in a
  pause within ``failed_probe_s`` doubles the next wait, up to ``max_probe_after_s``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class LastNConfig:
    pause_below: float = 1.0  # budget / needed below this: the link cannot carry it
    resume_above: float = 1.3  # budget / needed at or above this: room for everything
    pause_after_s: float = 3.0
    startup_grace_s: float = 10.0
    probe_after_s: float = 30.0
    max_probe_after_s: float = 240.0
    failed_probe_s: float = 10.0
    settle_s: float = 4.0  # after a resume, the estimate gets this long to catch up

    def __post_init__(self) -> None:
        if not 0 < self.pause_below < self.resume_above:
            raise ValueError("need 0 < pause_below < resume_above (hysteresis)")
        if self.probe_after_s <= 0 or self.max_probe_after_s < self.probe_after_s:
            raise ValueError("need 0 < probe_after_s <= max_probe_after_s")


class BitrateMeter:
    """Bits per second of cumulative byte counters, one rate per key, smoothed.

    ``update`` is called about once a second with each counter's running total;
    the rate is an exponential average (``smoothing`` of the newest interval) so a
    keyframe burst does not decide on its own.
    """

    def __init__(self, smoothing: float = 0.5) -> None:
        self._smoothing = smoothing
        self._last: dict[str, tuple[int, float]] = {}
        self._rates: dict[str, float] = {}

    def update(self, key: str, total_bytes: int, now: float) -> None:
        last = self._last.get(key)
        self._last[key] = (total_bytes, now)
        if last is None or now <= last[1]:
            return
        sample = max(0, total_bytes - last[0]) * 8 / (now - last[1])
        previous = self._rates.get(key)
        self._rates[key] = (
            sample if previous is None else previous + self._smoothing * (sample - previous)
        )

    def rate(self, key: str) -> float:
        return self._rates.get(key, 0.0)

    def forget_others(self, keys: Iterable[str]) -> None:
        keep = set(keys)
        for key in [k for k in self._last if k not in keep]:
            self._last.pop(key, None)
            self._rates.pop(key, None)


@dataclass
class LastNPolicy:
    """One subscriber's decision, kept between ticks (the hysteresis needs history)."""

    config: LastNConfig = field(default_factory=LastNConfig)
    constrained: bool = False
    _first_estimate_at: float | None = None
    _short_since: float | None = None
    _changed_at: float | None = None
    _probe_after_s: float | None = None

    def decide(
        self,
        *,
        now: float,
        estimate_bps: float | None,
        reserved_bps: float,
        video_bps: Mapping[str, float],
        keep: frozenset[str],
    ) -> frozenset[str]:
        """The publishers whose camera this subscriber should not get now.

        ``video_bps``: each forwarded camera's bitrate (publisher -> bit/s);
        ``reserved_bps``: what flows first whatever happens (all the audio forwarded to
        the subscriber, and a screen share); ``keep``: cameras that
        flow whatever the estimate (speaker, therapist). No estimate yet: nothing paused.
        """
        config = self.config
        if estimate_bps is None:
            return frozenset()
        if self._first_estimate_at is None:
            self._first_estimate_at = now
        needed = sum(video_bps.values())
        budget = estimate_bps - reserved_bps
        if self._probe_after_s is None:
            self._probe_after_s = config.probe_after_s
        if not self.constrained:
            short = needed > 0 and budget < needed * config.pause_below
            since_change = None if self._changed_at is None else now - self._changed_at
            settling = since_change is not None and since_change < config.settle_s
            ramping = now - self._first_estimate_at < config.startup_grace_s
            if not short or settling or ramping:
                self._short_since = None
            else:
                if self._short_since is None:
                    self._short_since = now
                if now - self._short_since >= config.pause_after_s:
                    if since_change is not None and since_change < config.failed_probe_s:
                        self._probe_after_s = min(self._probe_after_s * 2, config.max_probe_after_s)
                    self._set(True, now)
        else:
            room = needed == 0 or budget >= needed * config.resume_above
            paused_for = now - (self._changed_at or now)
            if room or paused_for >= self._probe_after_s:
                if room:
                    self._probe_after_s = config.probe_after_s
                self._set(False, now)
        if not self.constrained:
            return frozenset()
        return frozenset(video_bps) - keep

    def _set(self, constrained: bool, now: float) -> None:
        self.constrained = constrained
        self._changed_at = now
        self._short_since = None
