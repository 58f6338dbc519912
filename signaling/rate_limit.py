"""Per-connection token bucket, plus the rule for cutting off a flooding client."""

from __future__ import annotations

from dataclasses import dataclass

# A second without a refused message ends a run of refusals.
QUIET_S = 1.0


@dataclass
class TokenBucket:
    rate_per_s: float
    burst: float
    tokens: float = -1.0
    updated_at: float = 0.0
    # The current run of refusals: it starts at the first refusal and ends only after
    # QUIET_S without one. Messages the bucket accepts meanwhile (it refills at
    # rate_per_s) do not end it: a flood at 20x the rate still gets one message in 20.
    refused_since: float | None = None
    refused_count: int = 0
    last_refused_at: float = 0.0

    def __post_init__(self) -> None:
        if self.rate_per_s <= 0 or self.burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        if self.tokens < 0:
            self.tokens = self.burst

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.updated_at) * self.rate_per_s)
        self.updated_at = now
        if self.refused_since is not None and now - self.last_refused_at > QUIET_S:
            self.refused_since = None
            self.refused_count = 0
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        if self.refused_since is None:
            self.refused_since = now
        self.refused_count += 1
        self.last_refused_at = now
        return False

    def is_flooding(self, now: float, *, window_s: float = 3.0, factor: float = 10.0) -> bool:
        """Refused at `factor` times the allowed rate, on average, for `window_s` or more."""
        if self.refused_since is None:
            return False
        elapsed = now - self.refused_since
        return elapsed >= window_s and self.refused_count >= factor * self.rate_per_s * elapsed
