"""The talk-time signal follows the RFC 6464 levels aiortc's sender puts on each audio packet."""

from __future__ import annotations

from tests.relay.relay_members import LOUD_AMPLITUDE, QUIET_AMPLITUDE, Group, eventually


def speaking_changes(group: Group, member_id: str) -> list[bool]:
    return [speaking for m, speaking, _ in group.voice_events if m == member_id]


async def test_voice_activity_follows_a_member_getting_louder_and_quieter(group: Group) -> None:
    ann = await group.add("ann", amplitude=QUIET_AMPLITUDE)
    await group.add("bob", amplitude=QUIET_AMPLITUDE)
    await eventually(lambda: ann.pc.connectionState == "connected", 10, "ann connects")
    await eventually(
        lambda: group.relay.stats().publishers["ann"]["audio"].rtp_packets_received > 25,
        10,
        "ann's silent audio reaches the relay",
    )
    assert speaking_changes(group, "ann") == []

    ann.tone.amplitude = LOUD_AMPLITUDE
    await eventually(lambda: speaking_changes(group, "ann") == [True], 3, "ann starts speaking")
    ann.tone.amplitude = QUIET_AMPLITUDE
    await eventually(
        lambda: speaking_changes(group, "ann") == [True, False], 3, "ann stops speaking"
    )
    started = next(t for m, s, t in group.voice_events if m == "ann" and s)
    stopped = next(t for m, s, t in group.voice_events if m == "ann" and not s)
    assert stopped - started >= 0.4  # at least the hangover
    assert speaking_changes(group, "bob") == []


async def test_closing_the_audio_gate_ends_speaking(group: Group) -> None:
    ann = await group.add("ann", amplitude=LOUD_AMPLITUDE)
    await group.add("bob", amplitude=QUIET_AMPLITUDE)
    await eventually(lambda: speaking_changes(group, "ann") == [True], 10, "ann speaks")

    group.relay.set_audio_gate("ann", False)
    assert speaking_changes(group, "ann") == [True, False]
    assert ann.tone.amplitude == LOUD_AMPLITUDE  # still loud at the microphone, but unheard
