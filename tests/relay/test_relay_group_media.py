"""Real aiortc members exchanging audio and video through the relay."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from server.media.relay import GroupRelay, aiortc_hooks
from tests.relay.relay_members import (
    MEDIA_TIMEOUT,
    Group,
    Member,
    MemberPages,
    eventually,
    everyone_hears_everyone,
    settled,
)


async def test_four_members_each_receive_audio_and_video_from_the_three_others(
    group: Group, decoder_threads: list[threading.Thread], monkeypatch: pytest.MonkeyPatch
) -> None:
    taken_on_arrival: list[int] = []
    handle_now = aiortc_hooks.receive._handle_rtp_now

    def counting(dtls: Any, data: bytes) -> None:
        taken_on_arrival.append(len(data))
        handle_now(dtls, data)

    monkeypatch.setattr(aiortc_hooks.receive, "_handle_rtp_now", counting)
    for name in ("ann", "bob", "cat", "dan"):
        await group.add(name)

    await eventually(
        lambda: everyone_hears_everyone(group), MEDIA_TIMEOUT, "media between all pairs"
    )

    for member in group.members.values():
        others = {m for m in group.members if m != member.member_id}
        mapped = {(e["member"], e["kind"]) for e in member.track_map.values()}
        assert mapped == {(m, k) for m in others for k in ("audio", "video")}
    stats = group.relay.stats()
    assert stats.frames_forwarded > 0
    assert stats.frames_dropped_by_gate == 0
    assert all(tap.packets_tapped > 0 for tap in group.relay.receiver_taps)
    # Media reached the relay's receivers straight from the sockets' callbacks.
    assert len(taken_on_arrival) >= sum(tap.packets_tapped for tap in group.relay.receiver_taps)
    # The relay never decodes: each receiver's would-be decoder thread ended at once,
    # and none of the threads that created a decoder (the members') is one of them.
    relay_threads = [t for tap in group.relay.receiver_taps for t in tap.worker_threads]
    assert len(relay_threads) == len(group.relay.receiver_taps) == 8
    assert not any(t.is_alive() for t in relay_threads)
    member_decoders = {id(t) for t in decoder_threads}
    assert len(member_decoders) >= 4 * 6  # each member decodes 3 audio + 3 video tracks
    assert not member_decoders & {id(t) for t in relay_threads}
    # The relay's sender reports (one compound per leg) reach the members, whose
    # receiver reports then give each leg a round-trip time and the relay's
    # outbound counts.
    await eventually(
        lambda: all(
            leg.round_trip_time is not None and leg.packets_sent_to_member > 0
            for leg in group.relay.stats().legs.values()
        ),
        MEDIA_TIMEOUT,
        "a round-trip time on every leg",
    )


async def test_closed_audio_gate_silences_that_member_for_everyone(group: Group) -> None:
    _ann, bob, cat = [await group.add(name) for name in ("ann", "bob", "cat")]
    await eventually(lambda: everyone_hears_everyone(group), MEDIA_TIMEOUT, "media flows")

    group.relay.set_audio_gate("ann", False)
    # Frames forwarded before the gate closed may still be queued or in flight.
    await settled(lambda: bob.received("ann", "audio") + cat.received("ann", "audio"), quiet=1.0)
    heard_ann = {m.member_id: m.received("ann", "audio") for m in (bob, cat)}
    heard_cat_at_bob = bob.received("cat", "audio")
    seen_ann = bob.received("ann", "video")
    await asyncio.sleep(1.5)

    assert bob.received("ann", "audio") == heard_ann["bob"]
    assert cat.received("ann", "audio") == heard_ann["cat"]
    assert bob.received("cat", "audio") > heard_cat_at_bob + 10  # others still heard
    assert bob.received("ann", "video") > seen_ann + 5  # ann's video still flows
    assert group.relay.stats().publishers["ann"]["audio"].frames_dropped_by_gate > 20

    group.relay.set_audio_gate("ann", True)
    await eventually(
        lambda: bob.received("ann", "audio") > heard_ann["bob"] + 10, 5, "audio back after opening"
    )


async def test_closed_video_gate_stops_video_and_reopening_restores_it(group: Group) -> None:
    _ann, bob = [await group.add(name) for name in ("ann", "bob")]
    await eventually(lambda: everyone_hears_everyone(group), MEDIA_TIMEOUT, "media flows")

    group.relay.set_video_gate("ann", False)
    await settled(lambda: bob.received("ann", "video"), quiet=1.0)
    seen = bob.received("ann", "video")
    await asyncio.sleep(1.0)
    assert bob.received("ann", "video") == seen

    group.relay.set_video_gate("ann", True)
    await eventually(
        lambda: bob.received("ann", "video") > seen + 5, 5, "video decodes after reopening"
    )


async def test_with_publisher_remb_aiortcs_own_receiver_handler_still_forwards() -> None:
    """publisher_remb keeps aiortc's packet handler (and REMB); media must still flow."""
    members: dict[str, Member] = {}
    relay = GroupRelay("room-remb", signals=MemberPages(members), publisher_remb=True)
    group = Group(relay, members, [])
    try:
        for name in ("ann", "bob"):
            await group.add(name)
        await eventually(
            lambda: everyone_hears_everyone(group), MEDIA_TIMEOUT, "media with REMB kept"
        )
        assert all(tap.packets_tapped > 0 for tap in relay.receiver_taps)
    finally:
        for member in list(members.values()):
            await member.close()
        await relay.close()
