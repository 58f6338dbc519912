"""Each housekeeping job is guarded on its own: one failing does not skip the others."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import pytest

from server.app import COMPONENTS, create_app, housekeeping_jobs
from server.housekeeping import Housekeeping, Job
from server.settings import Settings


class StoreDown(Exception):
    pass


async def test_a_failing_job_does_not_stop_the_jobs_after_it() -> None:
    ran: list[str] = []

    async def broken() -> None:
        ran.append("broken")
        raise StoreDown("store unreachable")

    async def fine() -> None:
        ran.append("fine")

    jobs = Housekeeping([Job("broken", broken), Job("fine", fine)])
    await jobs.beat(1)
    await jobs.beat(2)

    assert ran == ["broken", "fine", "broken", "fine"]
    assert jobs.failures("broken") == 2
    assert jobs.failures("fine") == 0


async def test_a_failure_is_logged_once_then_counted_until_the_job_recovers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    failing = True

    async def flaky() -> None:
        if failing:
            raise StoreDown("store unreachable")

    jobs = Housekeeping([Job("room ticks", flaky)])
    with caplog.at_level(logging.WARNING, logger="server.housekeeping"):
        for beat in range(1, 11):
            await jobs.beat(beat)
        failing = False
        await jobs.beat(11)

    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "room ticks" in errors[0].getMessage()
    assert errors[0].exc_info is not None
    recovered = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(recovered) == 1
    assert "10 failures" in recovered[0].getMessage()
    assert jobs.failures("room ticks") == 0


async def test_a_new_kind_of_failure_is_logged_again(caplog: pytest.LogCaptureFixture) -> None:
    errors: list[Exception] = [StoreDown("down"), StoreDown("down"), ValueError("bad")]

    async def job() -> None:
        raise errors.pop(0)

    jobs = Housekeeping([Job("relay quality", job)])
    with caplog.at_level(logging.ERROR, logger="server.housekeeping"):
        for beat in range(1, 4):
            await jobs.beat(beat)

    assert len(caplog.records) == 2


async def test_a_job_runs_only_on_its_beats() -> None:
    beats: list[int] = []
    current = 0

    async def every_third() -> None:
        beats.append(current)

    jobs = Housekeeping([Job("talk reports", every_third, every_beats=3)])
    for current in range(1, 10):
        await jobs.beat(current)

    assert beats == [3, 6, 9]


async def test_the_app_keeps_housekeeping_when_room_ticks_fail(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = create_app(Settings(data_dir=tmp_path, host="127.0.0.1", port=0))
    components = app[COMPONENTS]
    called: list[str] = []

    async def store_down() -> list[str]:
        raise StoreDown("store unreachable")

    async def refreshed() -> None:
        called.append("resume tokens")

    async def expired() -> None:
        called.append("silent expiry")

    monkeypatch.setattr(components.store, "list_ids", store_down)
    monkeypatch.setattr(components.signaling, "refresh_resume_tokens", refreshed)
    monkeypatch.setattr(components.quality, "expire_silent", expired)
    jobs = housekeeping_jobs(components)
    guarded = Housekeeping(jobs)

    # A beat on which every job is due.
    await guarded.beat(math.lcm(*(job.every_beats for job in jobs)))

    assert guarded.failures("room ticks") == 1
    assert called == ["resume tokens", "silent expiry"]
    assert all(guarded.failures(job.name) == 0 for job in jobs if job.name != "room ticks")
    await components.store.close()
    components.audit.close()
