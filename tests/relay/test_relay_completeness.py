"""Media completeness: what each subscriber's receiver reports say arrives, against what
the relay owes it. Forwarding is broken inside the test, never through a product switch."""

from __future__ import annotations

import asyncio

from server.media.relay.media_completeness import SILENCE_LIMIT_S, MediaGap, ReceptionWatch
from server.media.relay.member_leg import SenderSlot
from tests.relay.relay_members import MEDIA_TIMEOUT, Group, eventually, everyone_hears_everyone


def slot_of(group: Group, subscriber: str, publisher: str, kind: str) -> SenderSlot:
    leg = group.relay._legs[subscriber]
    return next(s for s in leg.slots if s.publisher_id == publisher and s.kind == kind)


async def test_a_complete_group_has_no_gaps(group: Group) -> None:
    for name in ("ann", "bob", "cat"):
        await group.add(name)
    await eventually(lambda: everyone_hears_everyone(group), MEDIA_TIMEOUT, "media flows")
    # Longer than the video limit: every slot's reports have had time to go quiet.
    for _ in range(int(SILENCE_LIMIT_S["video"]) + 2):
        await asyncio.sleep(1.0)
        assert group.relay.media_gaps() == []


async def test_a_slot_that_stops_forwarding_is_a_gap_named_by_subscriber_and_publisher(
    group: Group,
) -> None:
    for name in ("ann", "bob", "cat"):
        await group.add(name)
    await eventually(lambda: everyone_hears_everyone(group), MEDIA_TIMEOUT, "media flows")

    # The relay still believes bob's slot carries ann's video; its packets go nowhere.
    broken = slot_of(group, "bob", "ann", "video")
    assert broken.publication is not None
    broken.publication.unsubscribe(broken.track)
    broke_at = asyncio.get_running_loop().time()

    await eventually(lambda: group.relay.media_gaps() != [], 10, "the gap is seen")
    seen_after = asyncio.get_running_loop().time() - broke_at
    assert seen_after < 8.0, f"took {seen_after:.1f}s"
    [gap] = group.relay.media_gaps()
    assert (gap.subscriber, gap.publisher, gap.kind) == ("bob", "ann", "video")

    # Mended: the reports move again and the gap goes away.
    broken.publication.subscribe(broken.track)
    broken.request_keyframe()
    await eventually(lambda: group.relay.media_gaps() == [], 10, "the gap closes")


async def test_a_closed_gate_owes_nothing(group: Group) -> None:
    for name in ("ann", "bob"):
        await group.add(name)
    await eventually(lambda: everyone_hears_everyone(group), MEDIA_TIMEOUT, "media flows")
    group.relay.set_audio_gate("ann", False)  # a muted member: bob must not get her audio
    for _ in range(int(SILENCE_LIMIT_S["audio"]) + 2):
        await asyncio.sleep(1.0)
        assert group.relay.media_gaps() == []


def test_the_watch_counts_from_when_media_is_owed_and_progress_resets_it() -> None:
    watch = ReceptionWatch()
    limit = 5.0
    assert watch.missing_since(owed=False, now=0.0, limit_s=limit) is None
    assert watch.missing_since(owed=False, now=100.0, limit_s=limit) is None
    assert watch.missing_since(owed=True, now=104.0, limit_s=limit) is None
    assert watch.missing_since(owed=True, now=106.0, limit_s=limit) == 100.0
    watch.on_report(1000)
    assert watch.missing_since(owed=True, now=107.0, limit_s=limit) is None
    watch.on_report(1000)  # the same highest sequence again: nothing arrived
    assert watch.missing_since(owed=True, now=111.0, limit_s=limit) is None
    assert watch.missing_since(owed=True, now=112.5, limit_s=limit) == 107.0
    watch.restart()  # a new publisher on the slot
    assert watch.missing_since(owed=True, now=113.0, limit_s=limit) is None
    assert MediaGap("b", "a", "video", 1.0).subscriber == "b"
