"""Fixtures for the relay tests: a GroupRelay with real aiortc members, and a decoder watch."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from typing import Any

import aiortc.rtcrtpreceiver
import pytest

from server.media.relay import GroupRelay
from tests.relay.relay_members import Group, Member, MemberPages


@pytest.fixture
def decoder_threads(monkeypatch: pytest.MonkeyPatch) -> list[threading.Thread]:
    """Threads in which aiortc created a decoder (members decode; the relay must not)."""
    threads: list[threading.Thread] = []
    real_get_decoder = getattr(aiortc.rtcrtpreceiver, "get_decoder")  # noqa: B009

    def recording_get_decoder(codec: Any) -> Any:
        threads.append(threading.current_thread())
        return real_get_decoder(codec)

    monkeypatch.setattr(aiortc.rtcrtpreceiver, "get_decoder", recording_get_decoder)
    return threads


@pytest.fixture
async def group(decoder_threads: list[threading.Thread]) -> AsyncIterator[Group]:
    members: dict[str, Member] = {}
    voice_events: list[tuple[str, bool, float]] = []
    relay = GroupRelay(
        "room-test",
        signals=MemberPages(members),
        on_voice_activity=lambda m, speaking, t: voice_events.append((m, speaking, t)),
    )
    group = Group(relay, members, voice_events)
    try:
        yield group
    finally:
        for member in list(members.values()):
            await member.close()
        await relay.close()
    # The relay's receivers got encoded frames, and none of their would-be
    # decoder threads ever created a decoder.
    relay_threads = {id(t) for tap in relay.receiver_taps for t in tap.worker_threads}
    assert not relay_threads & {id(t) for t in decoder_threads}, "the relay created a decoder"
