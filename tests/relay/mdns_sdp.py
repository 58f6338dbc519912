"""SDP as Firefox and Safari send it: host addresses hidden behind mDNS names."""

from __future__ import annotations

import re
import uuid

# a=candidate:<foundation> <component> <transport> <priority> <address> <port> typ host
HOST_CANDIDATE = re.compile(r"^(a=candidate:\S+ \d+ \S+ \d+ )(\S+)( \d+ typ host)", re.MULTILINE)


def hide_host_addresses(sdp: str) -> str:
    """Every host candidate's address replaced by a ``<uuid>.local`` name, one per address.

    aiortc, like Firefox and Safari after full gathering, already ends each
    section with ``a=end-of-candidates``; that is kept.
    """
    names: dict[str, str] = {}

    def hide(match: re.Match[str]) -> str:
        name = names.setdefault(match[2], f"{uuid.uuid4()}.local")
        return f"{match[1]}{name}{match[3]}"

    hidden = HOST_CANDIDATE.sub(hide, sdp)
    assert names, "the SDP has no host candidate to hide"
    return hidden
