"""A raw Engine.IO v4 / Socket.IO v5 client over aiohttp's WebSocket, for sending frames
no well-behaved client would (tests of hostile input and the fuzzer)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import aiohttp

WAIT_S = 5.0
# Field names the schemas use, so fuzzed payloads get past "extra fields forbidden"
# sometimes (tests/signaling/test_fuzz_frames.py and benchmarks/fuzz.py).
SCHEMA_FIELDS = (
    "to",
    "description",
    "candidate",
    "type",
    "sdp",
    "sdpMid",
    "sdpMLineIndex",
    "audio",
    "video",
    "resume",
    "member",
    "mode",
    "seconds",
    "room",
    "stats",
    "speaking",
    "locked",
)


class RawSocket:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.frames: asyncio.Queue[str | bytes | None] = asyncio.Queue()
        self.close_code: int | None = None
        self._reader = asyncio.ensure_future(self._read())

    @classmethod
    async def open(
        cls, http: aiohttp.ClientSession, base_url: str, headers: dict[str, str] | None = None
    ) -> RawSocket:
        """An Engine.IO connection (the OPEN packet read), not yet any Socket.IO namespace."""
        url = base_url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
        ws = await http.ws_connect(url, autoping=False, max_msg_size=0, headers=headers or {})
        opening = await asyncio.wait_for(ws.receive_str(), WAIT_S)
        assert opening.startswith("0"), opening
        return cls(ws)

    async def connect(self, auth: Any, namespace: str = "/") -> str:
        """Socket.IO CONNECT; returns the reply frame (40... or 44...)."""
        prefix = "" if namespace == "/" else namespace + ","
        await self.send("40" + prefix + json.dumps(auth))
        return await self.next(
            lambda f: f.startswith("4" + "0" + prefix) or f.startswith("44" + prefix)
        )

    async def _read(self) -> None:
        async for message in self.ws:
            if message.type is aiohttp.WSMsgType.TEXT:
                if message.data == "2":
                    with contextlib.suppress(Exception):
                        await self.ws.send_str("3")
                    continue
                self.frames.put_nowait(message.data)
            elif message.type is aiohttp.WSMsgType.BINARY:
                self.frames.put_nowait(message.data)
            else:
                break
        self.close_code = self.ws.close_code
        self.frames.put_nowait(None)

    async def send(self, frame: str | bytes) -> None:
        if isinstance(frame, bytes):
            await self.ws.send_bytes(frame)
        else:
            await self.ws.send_str(frame)

    async def next(self, where: Any = None, wait_s: float = WAIT_S) -> str:
        """The next text frame (matching `where`); fails on close or timeout."""
        async with asyncio.timeout(wait_s):
            while True:
                frame = await self.frames.get()
                if frame is None:
                    self.frames.put_nowait(None)
                    raise ConnectionError("closed")
                if isinstance(frame, str) and (where is None or where(frame)):
                    return frame

    async def ack(self, ack_id: int, namespace: str = "/", wait_s: float = WAIT_S) -> Any:
        prefix = ("43" if namespace == "/" else f"43{namespace},") + str(ack_id)
        frame = await self.next(lambda f: f.startswith(prefix) and f[len(prefix)] == "[", wait_s)
        return json.loads(frame[len(prefix) :])[0]

    async def event(self, name: str, namespace: str = "/", wait_s: float = WAIT_S) -> Any:
        prefix = "42" if namespace == "/" else f"42{namespace},"
        head = prefix + json.dumps([name])[:-1]
        frame = await self.next(lambda f: f.startswith(head), wait_s)
        return json.loads(frame[len(prefix) :])[1]

    async def closed(self, wait_s: float = WAIT_S) -> list[str]:
        """Wait for the server to close (Engine.IO CLOSE, "1", or the WebSocket closing);
        the text frames that came first."""
        seen: list[str] = []
        async with asyncio.timeout(wait_s):
            while (frame := await self.frames.get()) is not None and frame != "1":
                if isinstance(frame, str):
                    seen.append(frame)
        self.frames.put_nowait(None)
        return seen

    @property
    def open_(self) -> bool:
        return not self.ws.closed

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.close(), 2)
        self._reader.cancel()
        with contextlib.suppress(BaseException):
            await self._reader
