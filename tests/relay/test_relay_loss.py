"""Video through the relay survives packet loss on either side of it, by retransmission.

Loss is injected at a member's own ICE socket (every tenth VP8 packet, never
a retransmission), so the relay and both aiortc peers run unmodified:

- upstream (publisher to relay): the relay's receiver NACKs the publisher,
  whose aiortc sender resends as RTX; the relay forwards the repair;
- downstream (relay to subscriber): the subscriber NACKs the relay, which
  resends from its own history as RTX.

Each test was checked to fail with the recovery path turned off.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any

from tests.relay.relay_members import MEDIA_TIMEOUT, Group, Member, eventually

DROP_EVERY = 10  # 10 % of VP8 packets
WINDOW_SECONDS = 5.0
# Without repair about one frame in ten is lost (most frames are one packet)
# and aiortc's jitter buffer skips it; with repair nearly all decode. The
# margin covers frames in flight at the window's edges.
MIN_DECODED_SHARE = 0.95


def vp8_payload_type(sdp: str) -> int:
    match = re.search(r"a=rtpmap:(\d+) VP8/90000", sdp)
    assert match, "no VP8 in the SDP"
    return int(match.group(1))


def is_rtp_with_type(data: bytes, payload_type: int) -> bool:
    # SRTP leaves the RTP header in clear; RTCP's types (200-207) never match a
    # dynamic payload type.
    return len(data) > 12 and data[0] >> 6 == 2 and data[1] & 0x7F == payload_type


@dataclass
class LossyLink:
    """Drops every ``DROP_EVERY``-th VP8 packet one way on a member's ICE pair."""

    dropped: int = 0
    seen: int = 0

    def take(self, data: bytes, payload_type: int) -> bool:
        """True when ``data`` should go through."""
        if not is_rtp_with_type(data, payload_type):
            return True
        self.seen += 1
        if self.seen % DROP_EVERY == 0:
            self.dropped += 1
            return False
        return True


def nominated_protocol(member: Member) -> Any:
    ice = member.pc.getTransceivers()[0].sender.transport.transport
    pair = ice._connection._nominated.get(1)
    assert pair is not None, "the member's ICE pair is not nominated yet"
    return pair.protocol


def drop_outgoing_video(member: Member) -> LossyLink:
    link = LossyLink()
    payload_type = vp8_payload_type(member.pc.localDescription.sdp)
    protocol = nominated_protocol(member)
    send_data = protocol.send_data

    async def lossy_send(data: bytes, addr: tuple[str, int]) -> None:
        if link.take(data, payload_type):
            await send_data(data, addr)

    protocol.send_data = lossy_send
    return link


def drop_incoming_video(member: Member) -> LossyLink:
    link = LossyLink()
    payload_type = vp8_payload_type(member.pc.remoteDescription.sdp)
    protocol = nominated_protocol(member)
    datagram_received = protocol.datagram_received

    def lossy_receive(data: bytes, addr: tuple[str, int]) -> None:
        if link.take(data, payload_type):
            datagram_received(data, addr)

    protocol.datagram_received = lossy_receive
    return link


async def decoded_share(publisher: Member, subscriber: Member) -> float:
    """Share of ``publisher``'s video frames that ``subscriber`` decoded, over a window."""
    sent_before = publisher.video.frames_made
    decoded_before = subscriber.received(publisher.member_id, "video")
    await asyncio.sleep(WINDOW_SECONDS)
    sent = publisher.video.frames_made - sent_before
    decoded = subscriber.received(publisher.member_id, "video") - decoded_before
    assert sent > 100, f"the publisher made only {sent} frames"
    return decoded / sent


async def two_members_with_video(group: Group) -> tuple[Member, Member]:
    ann, bob = await group.add("ann"), await group.add("bob")
    await eventually(
        lambda: bob.received("ann", "video") >= 10 and ann.received("bob", "video") >= 10,
        MEDIA_TIMEOUT,
        "video both ways",
    )
    return ann, bob


async def test_loss_between_publisher_and_relay_is_repaired_by_the_publisher(
    group: Group,
) -> None:
    ann, bob = await two_members_with_video(group)
    link = drop_outgoing_video(ann)

    share = await decoded_share(ann, bob)

    assert link.dropped >= 10
    # The dropped packets never reached the relay: only ann's retransmissions
    # can have completed those frames.
    assert share >= MIN_DECODED_SHARE, f"bob decoded {share:.0%} of ann's frames"


async def test_repair_reaches_the_relay_from_a_publisher_with_two_video_m_lines(
    group: Group,
) -> None:
    """A browser's leg carries its camera and its screen m-line, both VP8 with the same
    payload types: aiortc's router can place a retransmission (an SSRC no packet used
    before) by payload type only when one receiver has it, so the relay routes it by
    the RTX SSRC its m-line named."""
    ann = await group.add("ann", screen=True)
    bob = await group.add("bob")
    await eventually(lambda: bob.received("ann", "video") >= 10, MEDIA_TIMEOUT, "ann's camera")
    link = drop_outgoing_video(ann)

    share = await decoded_share(ann, bob)

    assert link.dropped >= 10
    assert share >= MIN_DECODED_SHARE, f"bob decoded {share:.0%} of ann's frames"


async def test_loss_between_relay_and_subscriber_is_repaired_by_the_relay(group: Group) -> None:
    ann, bob = await two_members_with_video(group)
    retransmitted_before = group.relay.stats().subscribers["bob"].packets_retransmitted
    link = drop_incoming_video(bob)

    share = await decoded_share(ann, bob)

    assert link.dropped >= 10
    assert share >= MIN_DECODED_SHARE, f"bob decoded {share:.0%} of ann's frames"
    retransmitted = group.relay.stats().subscribers["bob"].packets_retransmitted
    # Each dropped packet is asked for and resent at least once (a NACK can repeat).
    assert retransmitted - retransmitted_before >= link.dropped * 0.9
