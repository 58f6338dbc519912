"""A member's screen as a third published track: forwarded only while it shares."""

from __future__ import annotations

from tests.relay.relay_members import MEDIA_TIMEOUT, Group, eventually, everyone_hears_everyone


def screen_mids(member_track_map: dict[str, dict[str, str]], publisher: str) -> list[str]:
    return [
        mid
        for mid, entry in member_track_map.items()
        if entry == {"member": publisher, "kind": "screen"}
    ]


async def test_a_screen_reaches_every_other_member_only_while_shared(group: Group) -> None:
    ann = await group.add("ann", screen=True)
    bob, cat = await group.add("bob"), await group.add("cat")
    await eventually(lambda: everyone_hears_everyone(group), MEDIA_TIMEOUT, "media flows")
    # Published from the start, forwarded to nobody until ann shares.
    assert group.relay.stats().publishers["ann"]["screen"].subscribers == 0
    assert bob.received("ann", "screen") == 0

    await group.relay.set_screen_sharers(frozenset({"ann"}))
    await eventually(
        lambda: all(m.received("ann", "screen") >= 10 for m in (bob, cat)),
        MEDIA_TIMEOUT,
        "bob and cat decode ann's screen",
    )
    # The camera stays on beside the screen, and ann gets no slot for her own screen.
    before = bob.received("ann", "video")
    await eventually(lambda: bob.received("ann", "video") > before + 10, 5, "ann's camera")
    assert screen_mids(ann.track_map, "ann") == []
    [bob_screen_mid] = screen_mids(bob.track_map, "ann")

    await group.relay.set_screen_sharers(frozenset())
    await eventually(
        lambda: all(screen_mids(m.track_map, "ann") == [] for m in (bob, cat)),
        5,
        "the screen is unmapped by a relay offer",
    )
    assert group.relay.stats().publishers["ann"]["screen"].subscribers == 0
    # Sharing again reuses the freed video slot: the SDP does not grow.
    await group.relay.set_screen_sharers(frozenset({"ann"}))
    await eventually(lambda: screen_mids(bob.track_map, "ann") != [], 5, "shared again")
    assert screen_mids(bob.track_map, "ann") == [bob_screen_mid]
    await eventually(lambda: everyone_hears_everyone(group), MEDIA_TIMEOUT, "media still flows")


async def test_a_member_joining_during_a_share_gets_the_screen(group: Group) -> None:
    await group.add("ann", screen=True)
    await group.relay.set_screen_sharers(frozenset({"ann"}))
    bob = await group.add("bob")
    await eventually(lambda: bob.received("ann", "screen") >= 10, MEDIA_TIMEOUT, "bob sees it")
    assert group.relay.track_map("bob")[screen_mids(bob.track_map, "ann")[0]]["kind"] == "screen"
