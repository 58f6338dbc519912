"""Safari in an individual (browser-to-browser) session: the server passes its SDP on untouched.

The server never reads P2P SDP, but it bounds and validates every message:
Safari's offer (H.264 first, RED, extmap-allow-mixed, an mDNS host candidate)
must pass as it is, and its trickled mDNS candidate too (issue 17). Fixture
sources: tests/fixtures/safari/README.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tests.signaling.test_session_flow import pair

if TYPE_CHECKING:
    from tests.conftest import Connector, LiveServer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "safari"
MESSAGE_LIMIT = 64 * 1024  # the server's message size limit (DESIGN.md)


async def test_safari_offers_and_mdns_candidates_reach_the_other_browser_unchanged(
    live_server: LiveServer, connect: Connector
) -> None:
    therapist, patient, t_ack, p_ack, _ = await pair(live_server, connect)
    t_id, p_id = t_ack["self"]["id"], p_ack["self"]["id"]
    for name in ("safari18_macos_offer.sdp", "safari_macos_kvs_offer.sdp"):
        sdp = (FIXTURES / name).read_text().replace("\n", "\r\n")
        assert len(sdp) < MESSAGE_LIMIT / 4  # far inside the limit, with room for more codecs
        offer = {"type": "offer", "sdp": sdp}

        ack = await patient.call("signal.description", {"to": t_id, "description": offer})
        assert ack["ok"] is True, ack
        assert await therapist.wait_for("signal.description") == {
            "from": p_id,
            "description": offer,
        }

    # Safari trickles its host candidate under an mDNS name.
    candidate = {
        "candidate": (
            "candidate:1260967208 1 udp 2113937151 0b4d9c1e-2f57-4c3a-9d1b-6f0e8a7c2b11.local"
            " 40706 typ host generation 0 ufrag 0XWt network-cost 999"
        ),
        "sdpMid": "0",
        "sdpMLineIndex": 0,
        "usernameFragment": "0XWt",
    }
    ack = await patient.call("signal.candidate", {"to": t_id, "candidate": candidate})
    assert ack["ok"] is True, ack
    assert await therapist.wait_for("signal.candidate") == {"from": p_id, "candidate": candidate}
