"""Remote ICE candidates as aioice must see them for members behind mDNS names.

Firefox and Safari hide their host addresses behind mDNS names
(``<uuid>.local``) and, having gathered fully, end their candidates with
``a=end-of-candidates``. aioice (pinned through aiortc) then:

1. tries to resolve each name by multicast DNS, which from a server never
   answers (the name lives on the patient's own network): ``join`` waits one
   second (``MDNS_RESOLVE_TIMEOUT``) and the candidate is dropped;
2. on end-of-candidates, removes the component that has no candidate left
   (``Connection._prune_components``). The relay answers, so this happens in
   ``setRemoteDescription``, before its own gathering in
   ``setLocalDescription``: it then gathers for no component at all, the
   answer lists no candidate, aiortc never starts ICE on that transport (the
   leg stays "new") and the browser has nothing to check ("connecting").

The browser's own checks would have told the relay its address: an incoming
check from an unknown address is a peer-reflexive candidate (RFC 8445
section 7.3.1.3), which is how ICE-lite servers learn every client address.
So the relay applies the member's SDP without mDNS candidates and without
the end-of-candidates marker: aioice keeps expecting candidates, answers the
browser's checks, learns the peer-reflexive one and completes when the
browser nominates it. Candidates with plain addresses are kept and paired as
before; only the marker that would stop aioice learning more is withheld.
"""

from __future__ import annotations

import logging

from aioice.mdns import is_mdns_hostname

logger = logging.getLogger(__name__)

END_OF_CANDIDATES = "a=end-of-candidates"
CANDIDATE_PREFIX = "a=candidate:"
# Seconds aioice's MDnsProtocol.resolve waits for an answer by default.
MDNS_RESOLVE_TIMEOUT = 1.0
# a=candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type>
ADDRESS_FIELD = 4


def candidate_address(line: str) -> str | None:
    """The connection address of an ``a=candidate:`` line, or None for any other line."""
    if not line.startswith(CANDIDATE_PREFIX):
        return None
    fields = line[len(CANDIDATE_PREFIX) :].split()
    return fields[ADDRESS_FIELD] if len(fields) > ADDRESS_FIELD else None


def expect_peer_reflexive_candidates(sdp: str) -> str:
    """``sdp`` without mDNS candidates and end-of-candidates, for setRemoteDescription.

    Every other line is kept as it is, with the SDP's own line endings.
    """
    kept = []
    hidden = 0
    for line in sdp.splitlines(keepends=True):
        bare = line.rstrip("\r\n")
        if bare == END_OF_CANDIDATES:
            continue
        address = candidate_address(bare)
        if address is not None and is_mdns_hostname(address):
            hidden += 1
            continue
        kept.append(line)
    if hidden:
        # Says which legs depend on peer-reflexive candidates (Firefox, Safari).
        logger.info("%d mDNS candidates withheld: the member is reached through its checks", hidden)
    return "".join(kept)
