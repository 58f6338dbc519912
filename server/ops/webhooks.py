"""Signed webhooks for room and participant events, delivered in the background.

`emit` never waits: events go on a bounded queue per receiver URL (a slow or
dead receiver only delays itself), and when a queue is full its oldest event is
dropped and counted. Each delivery is a JSON POST signed with HMAC-SHA256 over
"<timestamp>.<body>"; receivers check it with `verify_signature`.

Payloads carry ids only (room id, pseudonymous participant id, role, kind):
never display names, tokens or anything clinical.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final

import aiohttp

from server.audit.log import DetailValue, check_details

logger = logging.getLogger(__name__)

SIGNATURE_HEADER: Final = "X-Telehealth-Signature"
TIMESTAMP_HEADER: Final = "X-Telehealth-Timestamp"
EVENT_HEADER: Final = "X-Telehealth-Event"
DELIVERY_HEADER: Final = "X-Telehealth-Delivery"
_SIGNATURE_SCHEME: Final = "sha256="

PayloadValue = DetailValue


class WebhookEvent(StrEnum):
    ROOM_STARTED = "room.started"
    ROOM_ENDED = "room.ended"
    PARTICIPANT_JOINED = "participant.joined"
    PARTICIPANT_LEFT = "participant.left"


def room_started(room: str, kind: str) -> dict[str, PayloadValue]:
    return {"room": room, "kind": kind}


def room_ended(room: str, kind: str, reason: str | None = None) -> dict[str, PayloadValue]:
    return {"room": room, "kind": kind, "reason": reason}


def participant_joined(
    room: str, participant: str, role: str, kind: str
) -> dict[str, PayloadValue]:
    return {"room": room, "participant": participant, "role": role, "kind": kind}


def participant_left(
    room: str, participant: str, role: str, kind: str, reason: str | None = None
) -> dict[str, PayloadValue]:
    return {"room": room, "participant": participant, "role": role, "kind": kind, "reason": reason}


def _as_bytes(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else value


def sign(secret: str | bytes, timestamp: str, body: bytes) -> str:
    """The signature header value for `body` sent at `timestamp` (Unix seconds)."""
    mac = hmac.new(_as_bytes(secret), timestamp.encode() + b"." + body, hashlib.sha256)
    return _SIGNATURE_SCHEME + mac.hexdigest()


def verify_signature(
    secret: str | bytes,
    timestamp: str,
    body: bytes | str,
    header: str,
    *,
    tolerance_s: float = 300,
    now: float | None = None,
) -> bool:
    """For receivers: is `header` our signature of `body`, sent within `tolerance_s`?

    The timestamp window stops an old captured delivery from being replayed later.
    """
    try:
        sent_at = int(timestamp)
    except ValueError:
        return False
    current = time.time() if now is None else now
    if abs(current - sent_at) > tolerance_s:
        return False
    expected = sign(secret, timestamp, _as_bytes(body))
    return hmac.compare_digest(expected.encode(), header.strip().encode())


@dataclass(slots=True)
class WebhookStats:
    delivered: int = 0
    failed: int = 0  # gave up: a 4xx answer, or every attempt failed
    dropped: int = 0  # pushed out of a full queue before being tried
    retried: int = 0


@dataclass(frozen=True, slots=True)
class _Delivery:
    id: str
    event: str
    body: bytes


class _Retryable(Exception):
    """A network error, 5xx or 429: worth another attempt after a backoff."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class _Rejected(Exception):
    """The receiver answered, and retrying the same body would not change its mind."""


class WebhookDispatcher:
    """Posts events to every configured URL, retrying with backoff, never blocking `emit`."""

    def __init__(
        self,
        urls: Sequence[str],
        secret: str | bytes,
        *,
        session: aiohttp.ClientSession | None = None,
        max_attempts: int = 5,
        base_delay: float = 0.5,
        max_delay: float = 30.0,
        max_queue: int = 1000,
        request_timeout: float = 10.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if not secret:
            raise ValueError("webhooks need a non-empty signing secret")
        if max_attempts < 1 or max_queue < 1:
            raise ValueError("max_attempts and max_queue must be at least 1")
        self.urls = tuple(urls)
        self.stats = WebhookStats()
        self._secret = _as_bytes(secret)
        self._session = session
        self._owns_session = session is None
        self._max_attempts = max_attempts
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._timeout = aiohttp.ClientTimeout(total=request_timeout)
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._queues = {url: asyncio.Queue[_Delivery](max_queue) for url in self.urls}
        self._workers: list[asyncio.Task[None]] = []
        self._closed = False

    def emit(self, event: str, payload: Mapping[str, PayloadValue]) -> None:
        """Queue `event` for every URL and return at once.

        Raises ValueError for an unknown event or a payload field that must never
        leave the server (display names, tokens, clinical fields, IP addresses).
        """
        WebhookEvent(event)
        check_details(payload)
        if self._closed or not self.urls:
            return
        delivery_id = str(uuid.uuid4())
        body = json.dumps(
            {
                "id": delivery_id,
                "event": str(event),
                "occurred_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "data": dict(payload),
            },
            separators=(",", ":"),
        ).encode()
        delivery = _Delivery(delivery_id, str(event), body)
        for queue in self._queues.values():
            if queue.full():
                # Fresh events matter more than old ones to a receiver that
                # fell behind; the count shows how much it missed.
                queue.get_nowait()
                queue.task_done()
                self.stats.dropped += 1
            queue.put_nowait(delivery)

    def start(self) -> None:
        if self._workers:
            return
        if self._session is None:
            self._session = aiohttp.ClientSession()
        self._workers = [
            asyncio.create_task(self._work(url, queue), name=f"webhook {url}")
            for url, queue in self._queues.items()
        ]

    async def drain(self) -> None:
        """Wait until every queued event has been delivered or given up (tests, shutdown)."""
        await asyncio.gather(*(queue.join() for queue in self._queues.values()))

    async def aclose(self) -> None:
        """Stop the workers now; events still queued are abandoned."""
        self._closed = True
        for task in self._workers:
            task.cancel()
        for task in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._workers = []
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    def backoff_delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Delay before retry number `attempt` (1-based): exponential, jittered, capped."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self._max_delay)
        ceiling = min(self._max_delay, self._base_delay * 2.0 ** min(attempt - 1, 32))
        # "Equal jitter": at least half the ceiling, so retries still back off,
        # spread over the other half so many servers do not retry in lockstep.
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    async def _work(self, url: str, queue: asyncio.Queue[_Delivery]) -> None:
        while True:
            delivery = await queue.get()
            try:
                await self._deliver(url, delivery)
            except Exception:  # a bug here must not kill the worker
                logger.exception("webhook delivery crashed", extra={"event": delivery.event})
                self.stats.failed += 1
            finally:
                queue.task_done()

    async def _deliver(self, url: str, delivery: _Delivery) -> None:
        for attempt in range(1, self._max_attempts + 1):
            try:
                await self._post(url, delivery)
            except _Retryable as error:
                if attempt == self._max_attempts:
                    logger.warning(
                        "webhook to %s gave up after %d attempts: %s",
                        url,
                        attempt,
                        error,
                        extra={"event": delivery.event},
                    )
                    self.stats.failed += 1
                    return
                self.stats.retried += 1
                await self._sleep(self.backoff_delay(attempt, error.retry_after))
            except _Rejected as error:
                logger.warning(
                    "webhook to %s rejected: %s", url, error, extra={"event": delivery.event}
                )
                self.stats.failed += 1
                return
            else:
                self.stats.delivered += 1
                return

    async def _post(self, url: str, delivery: _Delivery) -> None:
        assert self._session is not None, "start() first"
        # Signed per attempt: a retry minutes later must still pass the
        # receiver's timestamp tolerance.
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            EVENT_HEADER: delivery.event,
            DELIVERY_HEADER: delivery.id,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self._secret, timestamp, delivery.body),
        }
        try:
            async with self._session.post(
                url,
                data=delivery.body,
                headers=headers,
                timeout=self._timeout,
                allow_redirects=False,
            ) as response:
                status = response.status
                retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
        except (aiohttp.ClientError, TimeoutError) as error:
            raise _Retryable(f"{type(error).__name__}: {error}") from error
        if status == 429 or status >= 500:
            raise _Retryable(f"HTTP {status}", retry_after)
        if not 200 <= status < 300:
            raise _Rejected(f"HTTP {status}")


def _retry_after_seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None  # the HTTP-date form: fall back to our own backoff
