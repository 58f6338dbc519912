"""Members arriving late, leaving and rejoining while the others keep their media."""

from __future__ import annotations

import asyncio

from aiortc import sdp as aiortc_sdp

from tests.relay.relay_members import MEDIA_TIMEOUT, Group, eventually, everyone_hears_everyone

KEYFRAME_BOUND = 5.0  # seconds from connecting to the first decoded pictures (2-core CI, noisy)


async def test_late_joiner_decodes_video_quickly_because_keyframes_are_requested(
    group: Group,
) -> None:
    for name in ("ann", "bob", "cat"):
        await group.add(name)
    await eventually(lambda: everyone_hears_everyone(group), MEDIA_TIMEOUT, "media flows")
    await asyncio.sleep(1.0)  # well past any publisher's first keyframe
    requests_before = {
        name: group.relay.stats().publishers[name]["video"].keyframe_requests_sent
        for name in ("ann", "bob", "cat")
    }

    ann = group.members["ann"]
    ann_saw_bob = ann.received("bob", "video")
    dan = await group.add("dan")
    await eventually(lambda: dan.pc.connectionState == "connected", 10, "dan connects")
    connected_at = asyncio.get_running_loop().time()
    await eventually(
        lambda: all(p in dan.first_video_at for p in ("ann", "bob", "cat")),
        KEYFRAME_BOUND + 5,
        "dan decodes everyone's video",
    )
    slowest = max(dan.first_video_at[p] for p in ("ann", "bob", "cat")) - connected_at
    assert slowest < KEYFRAME_BOUND, f"first pictures took {slowest:.2f}s"
    # The others' media went on while dan's join renegotiated their legs (dan may
    # decode within a few frame times, so wait for the frames rather than assume a rate).
    await eventually(
        lambda: ann.received("bob", "video") > ann_saw_bob + 10, 5, "ann keeps receiving bob"
    )
    assert ann.offers_received >= 2
    for name in ("ann", "bob", "cat"):
        after = group.relay.stats().publishers[name]["video"].keyframe_requests_sent
        assert after > requests_before[name], f"no PLI was sent to {name}"


async def test_a_member_leaving_does_not_break_the_others(group: Group) -> None:
    ann, bob, _cat = [await group.add(name) for name in ("ann", "bob", "cat")]
    await eventually(lambda: everyone_hears_everyone(group), MEDIA_TIMEOUT, "media flows")

    await group.relay.leave("cat")
    await group.members.pop("cat").close()
    await eventually(
        lambda: all("cat" not in {e["member"] for e in m.track_map.values()} for m in (ann, bob)),
        5,
        "cat's tracks are unmapped by a relay offer",
    )
    before = {
        (m.member_id, k): m.received(o, k)
        for m, o in ((ann, "bob"), (bob, "ann"))
        for k in ("audio", "video")
    }
    await asyncio.sleep(1.5)
    for (member_id, kind), count in before.items():
        other = "bob" if member_id == "ann" else "ann"
        assert group.members[member_id].received(other, kind) > count + 10, (member_id, kind)
    assert set(group.relay.member_ids()) == {"ann", "bob"}


async def test_rejoin_with_a_fresh_connection_restores_media_both_ways(group: Group) -> None:
    ann, _bob = [await group.add(name) for name in ("ann", "bob")]
    await eventually(lambda: everyone_hears_everyone(group), MEDIA_TIMEOUT, "media flows")
    ann_offers = ann.offers_received

    bob = await group.rejoin("bob")  # new RTCPeerConnection, same member id
    seen_bob_video = ann.received("bob", "video")
    await eventually(
        lambda: (
            ann.received("bob", "video") > seen_bob_video + 10
            and bob.received("ann", "video") > 10
            and bob.received("ann", "audio") > 10
        ),
        MEDIA_TIMEOUT,
        "media restored both ways after the rejoin",
    )
    # ann's subscription to bob was re-pointed, not renegotiated.
    assert ann.offers_received == ann_offers


async def test_departed_members_slots_are_reused_so_the_sdp_does_not_grow(group: Group) -> None:
    ann = await group.add("ann")
    await group.add("bob")
    await eventually(lambda: everyone_hears_everyone(group), MEDIA_TIMEOUT, "media flows")
    media_sections = len(aiortc_sdp.SessionDescription.parse(ann.pc.remoteDescription.sdp).media)

    for round_ in range(3):
        await group.relay.leave("bob")
        await group.members.pop("bob").close()
        seen = ann.received("bob", "video")
        await group.add("bob")
        await eventually(
            lambda seen=seen: (
                ann.received("bob", "video") > seen  # type: ignore[misc]
                and everyone_hears_everyone(group, 1)
            ),
            MEDIA_TIMEOUT,
            f"bob is back in round {round_}",
        )

    await eventually(lambda: not group.relay._legs["ann"].offer_in_flight, 5, "settled")
    final = aiortc_sdp.SessionDescription.parse(ann.pc.remoteDescription.sdp)
    assert len(final.media) == media_sections
