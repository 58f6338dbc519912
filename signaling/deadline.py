"""Deadlines keyed by connection: arm, cancel, and on expiry run an async callback.

Used for the idle rules: an Engine.IO connection must authenticate (Socket.IO CONNECT)
in time, and an authenticated one must `session.join` in time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Expiry = Callable[[], Awaitable[None]]


class Deadlines:
    def __init__(self, seconds: float) -> None:
        """`seconds` <= 0 turns the deadline off."""
        self.seconds = seconds
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._running: set[asyncio.Task[None]] = set()

    def arm(self, key: str, expire: Expiry) -> None:
        if self.seconds <= 0:
            return
        self.cancel(key)
        loop = asyncio.get_running_loop()
        self._timers[key] = loop.call_later(self.seconds, self._fire, key, expire)

    def cancel(self, key: str) -> None:
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()

    def _fire(self, key: str, expire: Expiry) -> None:
        self._timers.pop(key, None)
        task = asyncio.ensure_future(self._run(expire))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    @staticmethod
    async def _run(expire: Expiry) -> None:
        try:
            await expire()
        except Exception:  # the connection may be gone already: nothing else to do
            log.debug("deadline expiry failed", exc_info=True)

    def __len__(self) -> int:
        return len(self._timers)
