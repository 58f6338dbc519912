"""redis-py's connection, with a cheaper bound on writes.

redis-py wraps every command's write in ``asyncio.wait_for`` when a socket timeout is
set: a Task and a timer per command, for a drain that returns at once unless the
socket's buffer is full. Profiled in ``benchmarks/cluster.py``, that was most of the
send cost of the cluster bus's publishes and the fenced saves. Here the same bound is
an ``asyncio.timeout`` around the write (a timer, no Task). A write that times out
still closes the connection, as redis-py's own handler does for any interrupted
write, and surfaces as ``TimeoutError`` (an ``OSError``: `answering` makes it
``unavailable``). Reads keep redis-py's own per-read timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import redis.asyncio as aioredis


class PromptWriteConnection(aioredis.Connection):
    async def send_packed_command(
        self, command: bytes | str | Iterable[bytes], check_health: bool = True
    ) -> None:
        timeout = self.socket_timeout
        if not timeout:
            await super().send_packed_command(command, check_health)
            return
        # One command at a time per connection (the pool's checkout, or the pub/sub
        # client's own lock), so lending the timeout to the outer bound is safe.
        self.socket_timeout = None
        try:
            async with asyncio.timeout(timeout):
                await super().send_packed_command(command, check_health)
        finally:
            self.socket_timeout = timeout
