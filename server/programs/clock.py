"""The programs' clock: wall time, which a test may move (Settings.test_hooks only)."""

from __future__ import annotations

import time
from datetime import UTC, datetime


class ProgramClock:
    def __init__(self) -> None:
        self.offset_s = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset_s

    def now(self) -> datetime:
        return datetime.fromtimestamp(self(), UTC)

    def set_now(self, at: float) -> None:
        self.offset_s = at - time.time()
