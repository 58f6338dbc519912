"""Last-N for weak subscribers: which cameras a subscriber's downlink can carry.

Pure (time is passed in): the relay feeds it each subscriber's bandwidth estimate
(REMB from the subscriber's browser) and the bitrate of every forwarded track as
measured at the relay, once a second; it answers which publishers' cameras to pause
for that subscriber. When the estimate cannot carry every camera, only the *kept*
ones flow (the current speaker and the therapist: the relay decides who they are).
Audio is never paused and its bitrate is reserved first (a screen share's too: it is
the session's content, never paused by last-N).

Audio first, in steps: a link that cannot carry every camera keeps the speaker's and
the therapist's (level 1); one that cannot carry even those keeps the therapist's
alone (level 2); one that cannot carry that either gets no camera (level 3), so the
voices are never starved by video. A step down goes straight to the first level the
budget carries (a 300 kbit/s link with four voices on it skips the two steps that
would each cost it seconds of lost audio); a step up is one level at a time.

Hysteresis, so a subscriber near the line does not flap between levels:

* **Pause** when the video budget (estimate minus audio) stays below what every
  camera needs (``pause_below`` x the measured rates) for ``pause_after_s`` in a
  row, and only once the leg's estimate has had ``startup_grace_s`` to ramp up
  (browsers start low and climb). A budget short by less than
  ``delay_only_pause_below`` pauses only while the subscriber also loses packets
  (``lossy``), and one short by more pauses without loss only after
  ``delay_only_pause_after_s``: a delay-based estimate under the incoming rate, with
  nothing lost, is as often a busy receiver (its CPU, not its link, delays the
  packets) as a link filling up, and a link that fills up soon loses packets.
* **Resume** when the budget covers everything with room to spare
  (``resume_above``; one level up), or as a **probe** after ``probe_after_s`` (every
  camera again; from no camera, the therapists' first): a browser's
  REMB follows what it receives (libwebrtc caps it near 1.5x the incoming rate),
  so with cameras paused it may never show room for them. A probe that ends in a
  pause within ``failed_probe_s`` doubles the next wait, up to ``max_probe_after_s``.

**Congestion** cuts both waits short: when the subscriber reports losing
``congested_loss`` or more of what it is sent (its receiver reports), the link is
already overflowing, not ramping up: the grace and the settling time do not apply
and a step down comes after ``congested_pause_after_s`` (two decisions in a row
with fresh reports of that loss: one report alone may be a burst of keyframes when
someone joins). A probe is an experiment: a loss of ``failed_probe_loss`` or more
(the mean of its reports) within ``failed_probe_s`` of it steps down at once,
whatever the estimate says.

**The link's own loss.** Loss counts (as lossy, congested or a failed probe) only
above what the link loses while it carries less than it can: a paused level whose
cameras fit, the relay's deliberate underuse. A lossy radio or a busy Wi-Fi loses a
few percent whatever it is sent, and no pause relieves that; an overflowing link
loses more the more it is sent. Without this, a link with 5% random loss failed
every probe and stayed without cameras for good.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class LastNConfig:
    # budget / needed below this: the link cannot carry it... (not 1.0: on a 200 ms
    # RTT link the estimate climbs slowly and sat at 0.98 of a group's cameras that it
    # carried, while random loss looked like overflow)
    pause_below: float = 0.9
    lossy: float = 0.02  # ...if the subscriber loses this much of what it is sent,
    delay_only_pause_below: float = 0.7  # ...or by the estimate alone, below this
    delay_only_pause_after_s: float = 10.0  # for this long (weaker evidence, longer wait)
    resume_above: float = 1.3  # budget / needed at or above this: room for everything
    pause_after_s: float = 3.0
    startup_grace_s: float = 10.0
    probe_after_s: float = 30.0
    max_probe_after_s: float = 240.0
    failed_probe_s: float = 10.0
    settle_s: float = 4.0  # after a resume, the estimate gets this long to catch up
    congested_loss: float = 0.08  # loss reported by the subscriber that means overflow
    congested_pause_after_s: float = 1.0
    failed_probe_loss: float = 0.04  # a probe's loss (mean of its reports) that ends it
    background_smoothing: float = 0.3  # of each report, in the link's own loss

    def __post_init__(self) -> None:
        if not 0 < self.pause_below < self.resume_above:
            raise ValueError("need 0 < pause_below < resume_above (hysteresis)")
        if not 0 < self.delay_only_pause_below <= self.pause_below:
            raise ValueError("need 0 < delay_only_pause_below <= pause_below")
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


ALL_CAMERAS, KEPT_CAMERAS, ESSENTIAL_CAMERAS, NO_CAMERAS = 0, 1, 2, 3


@dataclass
class LastNPolicy:
    """One subscriber's decision, kept between ticks (the hysteresis needs history)."""

    config: LastNConfig = field(default_factory=LastNConfig)
    level: int = ALL_CAMERAS
    _first_estimate_at: float | None = None
    _short_since: float | None = None
    _changed_at: float | None = None
    _probe_after_s: float | None = None
    _follow_up_at: float | None = None  # a probe to the therapists' camera held: try all
    _probing_until: float | None = None  # a probe runs: its loss before this ends it
    _probe_losses: list[float] = field(default_factory=list)  # its reports' excess loss
    # What the link loses while it carries less than it can (a paused level that fits):
    # its own loss (a lossy radio, a busy Wi-Fi), which no pause relieves. Loss is
    # overflow only above it: without this, a link with 5% random loss failed every
    # probe and stayed without cameras for good.
    background_loss: float | None = None

    @property
    def constrained(self) -> bool:
        return self.level != ALL_CAMERAS

    def decide(
        self,
        *,
        now: float,
        estimate_bps: float | None,
        reserved_bps: float,
        video_bps: Mapping[str, float],
        keep: frozenset[str],
        essential: frozenset[str] = frozenset(),
        loss_fraction: float | None = None,
    ) -> frozenset[str]:
        """The publishers whose camera this subscriber should not get now.

        ``video_bps``: each forwarded camera's bitrate (publisher -> bit/s);
        ``reserved_bps``: what flows first whatever happens (all the audio forwarded to
        the subscriber, and a screen share); ``keep``: cameras that flow while any
        camera does (speaker, therapist); ``essential``: the ones kept one step
        further down (the therapist); ``loss_fraction``: what the subscriber lost
        of what it was sent lately. No estimate yet: nothing paused.
        """
        config = self.config
        if estimate_bps is None:
            return frozenset()
        if self._first_estimate_at is None:
            self._first_estimate_at = now
        if self._probe_after_s is None:
            self._probe_after_s = config.probe_after_s
        budget = estimate_bps - reserved_bps
        excess = None if loss_fraction is None else loss_fraction - (self.background_loss or 0.0)
        congested = excess is not None and excess >= config.congested_loss
        losing = excess is not None and excess >= config.lossy
        # A probe is an experiment: loss above the link's own while it runs ends it at
        # once (the mean of its reports: one report of a random-loss link may be high).
        probing = self._probing_until is not None and now < self._probing_until
        if probing and excess is not None:
            self._probe_losses.append(excess)
        failing_probe = (
            probing
            and bool(self._probe_losses)
            and sum(self._probe_losses) / len(self._probe_losses) >= config.failed_probe_loss
        )
        pause_below = config.pause_below if losing else config.delay_only_pause_below
        since_change = None if self._changed_at is None else now - self._changed_at
        stepped = False
        settling = since_change is not None and since_change < config.settle_s
        needed_here = sum(_flowing(self.level, video_bps, keep, essential).values())
        if loss_fraction is not None:
            fits = budget >= needed_here * config.pause_below
            underused = self.level > ALL_CAMERAS and fits and not probing and not settling
            self._learn_background(loss_fraction, underused)
        if self.level < NO_CAMERAS:
            short = needed_here > 0 and (budget < needed_here * pause_below or failing_probe)
            ramping = now - self._first_estimate_at < config.startup_grace_s
            if not short or ((settling or ramping) and not (congested or failing_probe)):
                self._short_since = None
            else:
                if self._short_since is None:
                    self._short_since = now
                if failing_probe:
                    wait = 0.0
                elif congested:
                    wait = config.congested_pause_after_s
                else:
                    wait = config.pause_after_s if losing else config.delay_only_pause_after_s
                if now - self._short_since >= wait:
                    if since_change is not None and since_change < config.failed_probe_s:
                        self._probe_after_s = min(self._probe_after_s * 2, config.max_probe_after_s)
                    self._set(self._fitting_level_below(budget, video_bps, keep, essential), now)
                    stepped = True
        if self.level > ALL_CAMERAS and not stepped:
            needed = sum(_flowing(self.level - 1, video_bps, keep, essential).values())
            room = needed == 0 or budget >= needed * config.resume_above
            paused_for = 0.0 if since_change is None else since_change
            # The therapists' camera held: it flowed and the estimate carries it.
            held = budget >= needed_here
            follow_up = self._follow_up_at is not None and now >= self._follow_up_at and held
            if room:
                self._probe_after_s = config.probe_after_s
                self._set(self.level - 1, now)
            elif not congested and (paused_for >= self._probe_after_s or follow_up):
                # A probe tries everything: the estimate cannot show room for what it is
                # not sent, and a link that still cannot carry it steps down again fast.
                # From no camera at all, only the therapists': that link was too short
                # for even one camera, and every camera at once would bury its voices
                # for the seconds a step down takes; with one flowing, its browser's
                # estimate speaks again and, once that held for ``failed_probe_s``,
                # a follow-up probe tries everything.
                therapists = sum(_flowing(ESSENTIAL_CAMERAS, video_bps, keep, essential).values())
                from_nothing = self.level == NO_CAMERAS and therapists > 0
                self._set(ESSENTIAL_CAMERAS if from_nothing else ALL_CAMERAS, now)
                self._probing_until = now + config.failed_probe_s
                if from_nothing:
                    self._follow_up_at = now + config.failed_probe_s
        return frozenset(video_bps) - frozenset(_flowing(self.level, video_bps, keep, essential))

    def _learn_background(self, loss_fraction: float, underused: bool) -> None:
        """``underused`` (the caller checks): a paused level whose cameras the budget
        carries, settled, no probe running: what is lost now is the link's own loss,
        not overflow. At any level, a loss under half the figure shows the link got
        better (a member who moved off a lossy radio): it lowers the figure too, or
        overflow would have to climb above the old radio's loss before it counted."""
        previous = self.background_loss
        if previous is None:
            if underused:
                self.background_loss = loss_fraction
            return
        if underused or loss_fraction < previous / 2:
            smoothing = self.config.background_smoothing
            self.background_loss = previous + smoothing * (loss_fraction - previous)

    def _fitting_level_below(
        self,
        budget: float,
        video_bps: Mapping[str, float],
        keep: frozenset[str],
        essential: frozenset[str],
    ) -> int:
        """The first level below this one whose cameras the budget carries (else none)."""
        level = self.level + 1
        while level < NO_CAMERAS:
            needed = sum(_flowing(level, video_bps, keep, essential).values())
            if budget >= needed * self.config.pause_below:
                break
            level += 1
        return level

    def _set(self, level: int, now: float) -> None:
        self.level = level
        self._changed_at = now
        self._short_since = None
        self._follow_up_at = None
        self._probing_until = None
        self._probe_losses = []


def _flowing(
    level: int, video_bps: Mapping[str, float], keep: frozenset[str], essential: frozenset[str]
) -> dict[str, float]:
    if level == ALL_CAMERAS:
        return dict(video_bps)
    if level == NO_CAMERAS:
        return {}
    kept = keep if level == KEPT_CAMERAS else essential
    return {member: bps for member, bps in video_bps.items() if member in kept}
