"""GroupRelay commands that must fail cleanly, without media."""

from __future__ import annotations

from typing import Any

import pytest
from aiortc import RTCPeerConnection

from server.media.relay import GroupRelay, NegotiationError, RelayClosedError
from tests.relay.relay_members import MemberPages, PatternTrack, ToneTrack


async def member_offer() -> tuple[RTCPeerConnection, str]:
    pc = RTCPeerConnection()
    pc.addTrack(ToneTrack())
    pc.addTrack(PatternTrack())
    await pc.setLocalDescription(await pc.createOffer())
    return pc, pc.localDescription.sdp


@pytest.fixture
async def relay() -> Any:
    relay = GroupRelay("room-commands", signals=MemberPages({}))
    yield relay
    await relay.close()


async def test_an_answer_without_a_relay_offer_is_refused(relay: GroupRelay) -> None:
    with pytest.raises(NegotiationError):
        await relay.accept_answer("nobody", "v=0\r\n")
    pc, offer = await member_offer()
    try:
        await relay.join("ann", offer)
        with pytest.raises(NegotiationError):
            await relay.accept_answer("ann", "v=0\r\n")
    finally:
        await pc.close()


async def test_an_offer_without_vp8_is_refused_and_the_old_leg_is_kept(relay: GroupRelay) -> None:
    pc, offer = await member_offer()
    try:
        await relay.join("ann", offer)
        without_vp8 = offer.replace("VP8/90000", "VP9/90000")
        with pytest.raises(ValueError):
            await relay.join("ann", without_vp8)
        assert relay.member_ids() == ["ann"]
    finally:
        await pc.close()


async def test_gates_set_before_joining_apply_on_join(relay: GroupRelay) -> None:
    relay.set_audio_gate("ann", False)
    pc, offer = await member_offer()
    try:
        await relay.join("ann", offer)
        publications = relay.stats().publishers["ann"]
        assert publications["audio"].gate_open is False
        assert publications["video"].gate_open is True
    finally:
        await pc.close()


async def test_a_closed_relay_refuses_joins(relay: GroupRelay) -> None:
    await relay.close()
    pc, offer = await member_offer()
    try:
        with pytest.raises(RelayClosedError):
            await relay.join("ann", offer)
    finally:
        await pc.close()


async def test_leaving_twice_and_unknown_members_are_harmless(relay: GroupRelay) -> None:
    await relay.leave("nobody")
    relay.set_video_gate("nobody", False)
    assert relay.track_map("nobody") == {}
