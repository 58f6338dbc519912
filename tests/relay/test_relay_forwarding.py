"""The pieces between a publisher's receiver and a subscriber's sender, without a network."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.relay.encoded_frame import EncodedFrame, is_vp8_keyframe
from server.relay.forwarding_track import FRAME_STEPS, QUEUE_FRAMES, ForwardingTrack
from server.relay.keyframe_limiter import KeyframeLimiter

KEY = b"\x10\x02\x00\x9d\x01\x2a"  # VP8 frame tag with the inter-frame bit clear
DELTA = b"\x31\x02\x00"


def frame(timestamp: int, keyframe: bool = False, origin: int = 1) -> EncodedFrame:
    return EncodedFrame(KEY if keyframe else DELTA, timestamp, keyframe, origin)


async def flowing_video_track() -> tuple[ForwardingTrack, list[int]]:
    requests: list[int] = []
    track = ForwardingTrack("video", lambda: requests.append(1))
    track.set_sending(True)
    pending = asyncio.ensure_future(track.recv())  # the sender starts pulling
    await asyncio.sleep(0)
    pending.cancel()
    return track, requests


def test_vp8_keyframe_bit() -> None:
    assert is_vp8_keyframe(KEY)
    assert not is_vp8_keyframe(DELTA)
    assert not is_vp8_keyframe(b"")


async def test_video_starts_on_a_keyframe_and_asks_for_one() -> None:
    track, requests = await flowing_video_track()
    assert requests == [1]
    track.push(frame(0))
    track.push(frame(3000, keyframe=True))
    track.push(frame(6000))
    first = await asyncio.wait_for(track.recv(), 1)
    assert bytes(first) == KEY
    assert track.counters.frames_skipped_awaiting_keyframe == 1


async def test_nothing_is_queued_before_the_sender_pulls() -> None:
    track = ForwardingTrack("audio", lambda: None)
    track.set_sending(True)
    track.push(frame(0, keyframe=True))
    assert not track._frames


async def test_overload_drops_and_waits_for_the_next_keyframe() -> None:
    track, requests = await flowing_video_track()
    track.push(frame(0, keyframe=True))
    for i in range(1, QUEUE_FRAMES["video"] + 5):
        track.push(frame(i * 3000))
    assert track.counters.frames_dropped_overload == 1
    assert len(requests) == 2
    assert not track._frames  # the broken run was dropped


async def test_timestamps_continue_across_a_change_of_source() -> None:
    track, _ = await flowing_video_track()
    track.push(frame(90_000, keyframe=True, origin=1))
    track.push(frame(93_000, origin=1))
    first, second = [(await track.recv()).pts or 0 for _ in range(2)]
    track.restart()
    track.push(frame(0, keyframe=True, origin=2))  # a rejoined publisher starts at 0
    third = (await track.recv()).pts
    assert second - first == 3000
    assert third == second + FRAME_STEPS["video"]


@given(st.lists(st.floats(0.0, 0.3, allow_nan=False), min_size=1, max_size=100))
def test_keyframe_requests_are_at_least_the_interval_apart(gaps: list[float]) -> None:
    limiter = KeyframeLimiter(0.5)
    now, sent = 0.0, []
    for gap in gaps:
        now += gap
        if limiter.request(now):
            sent.append(now)
    assert all(b - a >= 0.5 for a, b in itertools.pairwise(sent))
    assert sent[0] == gaps[0]


def test_a_held_back_request_is_due_when_the_interval_ends() -> None:
    limiter = KeyframeLimiter(0.5)
    assert limiter.request(10.0)
    assert limiter.pending_delay(10.1) is None
    assert not limiter.request(10.1)
    assert limiter.pending_delay(10.1) == pytest.approx(0.4)
    assert limiter.request(10.5)
    assert limiter.pending_delay(10.5) is None
