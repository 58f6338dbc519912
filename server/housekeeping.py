"""The housekeeping beat: periodic jobs, each behind its own guard.

One job failing (a store hiccup during room ticks, a relay that raises while sampled)
must not skip the others for that beat. A failing job is logged with its traceback the
first time it fails in a given way, then only counted until it succeeds again, so a job
that fails every second does not flood the log.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[], Awaitable[None]]
    # Runs on beats that are a multiple of this.
    every_beats: int = 1


@dataclass
class _FailureStreak:
    kinds: set[str]
    count: int = 0


class Housekeeping:
    def __init__(self, jobs: Sequence[Job]) -> None:
        self._jobs = tuple(jobs)
        self._failing: dict[str, _FailureStreak] = {}

    async def beat(self, number: int) -> None:
        """Run the jobs due on beat `number`, in order; returns once all have run."""
        for job in self._jobs:
            if number % job.every_beats == 0:
                await self._run(job)

    def failures(self, job_name: str) -> int:
        """Failures in a row of this job (0 once it succeeds again)."""
        streak = self._failing.get(job_name)
        return 0 if streak is None else streak.count

    async def _run(self, job: Job) -> None:
        try:
            await job.run()
        except Exception as error:
            self._failed(job.name, error)
        else:
            self._succeeded(job.name)

    def _failed(self, name: str, error: Exception) -> None:
        streak = self._failing.setdefault(name, _FailureStreak(kinds=set()))
        streak.count += 1
        kind = type(error).__qualname__
        if kind not in streak.kinds:
            streak.kinds.add(kind)
            log.error(
                "housekeeping job %r failed (%s); further failures are counted",
                name,
                kind,
                exc_info=error,
            )

    def _succeeded(self, name: str) -> None:
        streak = self._failing.pop(name, None)
        if streak is not None:
            log.warning("housekeeping job %r works again after %d failures", name, streak.count)
