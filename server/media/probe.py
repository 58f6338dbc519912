"""The connection check's media probe: can this member's network reach our media ports?

Before joining, the page's connection check offers a data-channel-only peer
connection (`net.probe`), gathered as the session would (its ICE servers, its
transport policy). This process answers from the relay's own sockets: the same
`--rtc-ports`, the same `--rtc-announce-ip`. The probe is up when ICE and DTLS
complete, which is what a group session's relay leg needs first; a page that gets
there in a few seconds will get media through the relay.

Each probe lives at most `PROBE_LIFETIME_S`; one per connection (a new one closes
the old); at most `MAX_OPEN_PROBES` at once in a process, so the check cannot be used
to hold sockets and DTLS work. Nothing about a probe is logged but counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from rooms.errors import DomainError, ErrorCode
from server.media.relay import aiortc_hooks

log = logging.getLogger(__name__)

PROBE_LIFETIME_S = 10.0
MAX_OPEN_PROBES = 16


class MediaProbes:
    def __init__(
        self,
        host_candidates: aiortc_hooks.HostCandidatePolicy,
        *,
        lifetime_s: float = PROBE_LIFETIME_S,
        max_open: int = MAX_OPEN_PROBES,
    ) -> None:
        self._host_candidates = host_candidates
        self._lifetime_s = lifetime_s
        self._max_open = max_open
        self._open: dict[str, tuple[RTCPeerConnection, asyncio.Task[None]]] = {}
        self.answered = 0

    @property
    def open_count(self) -> int:
        return len(self._open)

    async def answer(self, key: str, offer_sdp: str) -> str:
        """The answer to a page's probe offer; `key` names the asking connection."""
        await self.close_probe(key)
        if len(self._open) >= self._max_open:
            raise DomainError(
                ErrorCode.UNAVAILABLE, "Too many connection checks right now; try again shortly."
            )
        if "m=application" not in offer_sdp or "m=audio" in offer_sdp or "m=video" in offer_sdp:
            raise DomainError(ErrorCode.INVALID_SDP, "A probe offers one data channel only.")
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        expiry = asyncio.create_task(self._expire(key, pc), name="media-probe")
        self._open[key] = (pc, expiry)
        try:
            usable = aiortc_hooks.expect_peer_reflexive_candidates(offer_sdp)
            await pc.setRemoteDescription(RTCSessionDescription(sdp=usable, type="offer"))
            if pc.sctp is None:
                raise DomainError(ErrorCode.INVALID_SDP, "A probe offers one data channel.")
            aiortc_hooks.bind_host_candidates(pc, self._host_candidates)
            await pc.setLocalDescription(await pc.createAnswer())
        except DomainError:
            await self.close_probe(key)
            raise
        except Exception as error:
            await self.close_probe(key)
            detail = str(error)[:200] or type(error).__name__
            raise DomainError(ErrorCode.INVALID_SDP, f"Unusable probe offer ({detail}).") from None
        self.answered += 1
        return str(pc.localDescription.sdp)

    async def close_probe(self, key: str) -> None:
        opened = self._open.pop(key, None)
        if opened is None:
            return
        pc, expiry = opened
        if expiry is not asyncio.current_task():
            expiry.cancel()
        await pc.close()

    async def close(self) -> None:
        for key in list(self._open):
            await self.close_probe(key)

    async def _expire(self, key: str, pc: RTCPeerConnection) -> None:
        await asyncio.sleep(self._lifetime_s)
        current = self._open.get(key)
        if current is not None and current[0] is pc:
            with contextlib.suppress(Exception):
                await self.close_probe(key)
