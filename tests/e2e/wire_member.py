"""A group member's browser played by aiortc: it negotiates only through our signaling."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from tests.relay.relay_members import PatternTrack, ToneTrack

if TYPE_CHECKING:
    from tests.conftest import Client


@dataclass(eq=False)
class WireMember:
    """A member's browser played by aiortc, negotiating only through our signaling."""

    client: Client
    pc: RTCPeerConnection = field(default_factory=RTCPeerConnection)
    tracks: dict[str, dict[str, str]] = field(default_factory=dict)
    received: Counter[tuple[str, str]] = field(default_factory=Counter)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def publish(self) -> None:
        self.pc.addTrack(ToneTrack())
        self.pc.addTrack(PatternTrack())

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            mid = next(t.mid for t in self.pc.getTransceivers() if t.receiver.track is track)
            self._spawn(self._consume(mid, track))

        async def on_offer(data: dict[str, Any]) -> None:
            self._spawn(self._answer(data))

        async def on_tracks(data: dict[str, Any]) -> None:
            self.tracks = data["tracks"]

        self.client.sio.on("relay.offer", on_offer)
        self.client.sio.on("relay.tracks", on_tracks)
        await self.pc.setLocalDescription(await self.pc.createOffer())
        ack = await self.client.call("relay.offer", {"sdp": self.pc.localDescription.sdp})
        assert ack["ok"] is True, ack
        self.tracks = ack["tracks"]
        await self.pc.setRemoteDescription(RTCSessionDescription(ack["sdp"], "answer"))

    async def _answer(self, data: dict[str, Any]) -> None:
        async with self.lock:
            await self.pc.setRemoteDescription(RTCSessionDescription(data["sdp"], "offer"))
            self.tracks = data["tracks"]
            await self.pc.setLocalDescription(await self.pc.createAnswer())
            ack = await self.client.call("relay.answer", {"sdp": self.pc.localDescription.sdp})
            assert ack["ok"] is True, ack

    async def _consume(self, mid: str | None, track: MediaStreamTrack) -> None:
        while True:
            try:
                await track.recv()
            except MediaStreamError:
                return
            entry = self.tracks.get(mid or "")
            if entry is not None:
                self.received[(entry["member"], track.kind)] += 1

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.pc.close()
