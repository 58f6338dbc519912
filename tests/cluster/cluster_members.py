"""Group members played by aiortc that behave as the page does across a failover:
`relay.restart` opens a fresh relay leg; a lost connection comes back through the
balancer with its resume token and opens a fresh leg when the join ack says so."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from tests.conftest import Client, Connector
from tests.e2e.wire_member import WireMember

# A member "receives" another when this many frames of each kind arrived on the leg.
FRAMES = 10
LEG_ATTEMPTS = 4
# The page's schedule after its socket drops (static/protocol/client.js).
PAGE_RECONNECT_DELAY_S = 0.5
PAGE_RETRY_S = 0.5
PAGE_RETRY_MAX_S = 4.0


@dataclass(eq=False)
class RelayMember:
    name: str
    client: Client
    ack: dict[str, Any]
    leg: WireMember | None = None
    legs: int = 0
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    closed: bool = False
    # One leg change at a time: two `relay.restart`s in a row must not interleave.
    leg_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def id(self) -> str:
        return str(self.ack["self"]["id"])

    async def open_leg(self) -> None:
        async with self.leg_lock:
            if self.closed:
                return
            if self.leg is not None:
                await self.leg.close()
            self.legs += 1
            for attempt in range(LEG_ATTEMPTS):
                self.leg = WireMember(self.client)
                try:
                    await self.leg.publish()
                    return
                except AssertionError:
                    # Refused (`unavailable` while the room changes owner): the page
                    # retries with a growing delay; so does this member.
                    await self.leg.close()
                    if attempt == LEG_ATTEMPTS - 1:
                        raise
                    await asyncio.sleep(0.5 * (attempt + 1))

    def follow_restarts(self) -> None:
        async def on_restart(_data: Any = None) -> None:
            # After close: the cluster's own shutdown hands rooms over and says
            # `relay.restart` once more; a leg opened then would never be closed.
            if self.closed:
                return
            task = asyncio.ensure_future(self.open_leg())
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

        self.client.sio.on("relay.restart", on_restart)

    async def come_back(self, connect: Connector, url: str) -> None:
        """The process holding our connection died: reconnect through the balancer."""
        self.client = await connect(url, self.ack["resume_token"])
        self.ack = await self.client.join(resume=True)
        self.follow_restarts()
        if self.ack.get("relay_leg") is False:
            await self.open_leg()

    async def come_back_as_a_page(self, connect: Connector, url: str, within_s: float) -> None:
        """`come_back` on the page's schedule: socket.io's first reconnect after its
        delay, then, while refused (`unavailable`: the room is changing owner), again
        after a delay that doubles (static/protocol/client.js)."""
        deadline = time.monotonic() + within_s
        await asyncio.sleep(PAGE_RECONNECT_DELAY_S)
        delay = PAGE_RETRY_S
        while True:
            try:
                await self.come_back(connect, url)
                return
            except AssertionError:
                if time.monotonic() + delay > deadline:
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, PAGE_RETRY_MAX_S)

    def receives_from(self, other: RelayMember) -> bool:
        if self.leg is None:
            return False
        got = self.leg.received
        return got[(other.id, "audio")] >= FRAMES and got[(other.id, "video")] >= FRAMES

    async def close(self) -> None:
        self.closed = True
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        async with self.leg_lock:
            if self.leg is not None:
                await self.leg.close()


async def all_receive(members: list[RelayMember], within_s: float) -> float:
    """Seconds until every member receives every other's audio and video."""
    started = time.monotonic()
    while True:
        missing = [
            f"{m.name} <- {o.name}"
            for m in members
            for o in members
            if o is not m and not m.receives_from(o)
        ]
        if not missing:
            return time.monotonic() - started
        if time.monotonic() - started > within_s:
            raise AssertionError(f"after {within_s}s still missing: {missing}")
        await asyncio.sleep(0.1)


def fresh_counts(members: list[RelayMember]) -> None:
    """Forget what arrived so far: the next `all_receive` proves media flows now."""
    for member in members:
        if member.leg is not None:
            member.leg.received.clear()
