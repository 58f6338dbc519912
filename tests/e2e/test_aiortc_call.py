"""A real WebRTC call between two aiortc peers whose only signaling is our server.

Therapist and patient each hold a socket.io client and an RTCPeerConnection; the
offer, the answer and any candidates travel as signal.description/signal.candidate
through the real server on loopback, and media then flows peer to peer.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from typing import TYPE_CHECKING, Any

from aiortc import (
    AudioStreamTrack,
    MediaStreamTrack,
    RTCPeerConnection,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.mediastreams import MediaStreamError
from aiortc.sdp import candidate_from_sdp
from av import VideoFrame

if TYPE_CHECKING:
    from tests.conftest import Client, Connector, LiveServer

CALL_BUDGET_S = 20.0
FRAMES_WANTED = 10


class PatternVideo(VideoStreamTrack):
    """Small frames whose content changes every frame (so the encoder has work to do)."""

    def __init__(self, shade: int) -> None:
        super().__init__()
        self._shade = shade
        self._count = 0

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        self._count += 1
        frame = VideoFrame(width=160, height=120, format="yuv420p")
        for index, plane in enumerate(frame.planes):
            value = (self._shade + self._count * 3) % 256 if index == 0 else 128
            plane.update(bytes([value]) * plane.buffer_size)
        frame.pts = pts
        frame.time_base = time_base
        return frame


class Side:
    def __init__(self, name: str, client: Client, shade: int) -> None:
        self.name = name
        self.client = client
        self.pc = RTCPeerConnection()
        self.pc.addTrack(AudioStreamTrack())
        self.pc.addTrack(PatternVideo(shade))
        self.received: Counter[str] = Counter()
        self.sizes: set[tuple[int, int]] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self.pc.on("track", self._on_track)

    def _on_track(self, track: MediaStreamTrack) -> None:
        self._tasks.append(asyncio.ensure_future(self._consume(track)))

    async def _consume(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            self.received[track.kind] += 1
            if track.kind == "video":
                self.sizes.add((frame.width, frame.height))

    async def send_description(self, to: str) -> None:
        local = self.pc.localDescription
        ack = await self.client.call(
            "signal.description", {"to": to, "description": {"type": local.type, "sdp": local.sdp}}
        )
        assert ack == {"ok": True}, ack
        # aiortc puts its candidates in the SDP; tell the other side that is all.
        ack = await self.client.call("signal.candidate", {"to": to, "candidate": None})
        assert ack == {"ok": True}, ack

    async def apply_candidates(self, from_id: str) -> None:
        """Take whatever candidates arrived (aiortc sends none separately) and apply them."""
        while self.client.peek("signal.candidate"):
            message = await self.client.wait_for("signal.candidate")
            assert message["from"] == from_id
            if message["candidate"] is not None:
                raw = message["candidate"]
                candidate = candidate_from_sdp(raw["candidate"].removeprefix("candidate:"))
                candidate.sdpMid = raw.get("sdpMid")
                candidate.sdpMLineIndex = raw.get("sdpMLineIndex")
                await self.pc.addIceCandidate(candidate)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.pc.close(), 5)


async def wait_until(condition: Any, budget_s: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + budget_s
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_aiortc_call_through_our_signaling(
    live_server: LiveServer, connect: Connector
) -> None:
    _, t_token, p_token = await live_server.individual_tokens()
    therapist_socket = await connect(live_server, t_token)
    patient_socket = await connect(live_server, p_token)
    t_ack = await therapist_socket.join()
    p_ack = await patient_socket.join()
    t_id, p_id = t_ack["self"]["id"], p_ack["self"]["id"]
    assert t_ack["polite"] is False and p_ack["polite"] is True

    therapist = Side("therapist", therapist_socket, shade=30)
    patient = Side("patient", patient_socket, shade=200)
    try:
        async with asyncio.timeout(CALL_BUDGET_S):
            # The impolite side (therapist) offers once it hears the patient arrive.
            joined = await therapist_socket.wait_for("peer.joined")
            assert joined["peer"]["id"] == p_id
            await therapist.pc.setLocalDescription(await therapist.pc.createOffer())
            await therapist.send_description(p_id)

            offer = await patient_socket.wait_for("signal.description")
            assert offer["from"] == t_id and offer["description"]["type"] == "offer"
            await patient.pc.setRemoteDescription(RTCSessionDescription(**offer["description"]))
            await patient.apply_candidates(t_id)
            await patient.pc.setLocalDescription(await patient.pc.createAnswer())
            await patient.send_description(t_id)

            answer = await therapist_socket.wait_for("signal.description")
            assert answer["from"] == p_id and answer["description"]["type"] == "answer"
            await therapist.pc.setRemoteDescription(RTCSessionDescription(**answer["description"]))
            await therapist.apply_candidates(p_id)

            await wait_until(
                lambda: (
                    therapist.pc.connectionState == "connected"
                    and patient.pc.connectionState == "connected"
                ),
                CALL_BUDGET_S,
                "both peer connections connected",
            )
            await wait_until(
                lambda: all(
                    side.received[kind] >= FRAMES_WANTED
                    for side in (therapist, patient)
                    for kind in ("audio", "video")
                ),
                CALL_BUDGET_S,
                f"{FRAMES_WANTED} audio and video frames each way "
                f"(therapist got {therapist.received}, patient got {patient.received})",
            )
        assert therapist.sizes == {(160, 120)} and patient.sizes == {(160, 120)}
        # Signaling carried only what we sent: nothing left unread, no errors.
        for socket in (therapist_socket, patient_socket):
            assert not socket.peek("error")
            assert not socket.peek("signal.description")
    finally:
        await therapist.close()
        await patient.close()
