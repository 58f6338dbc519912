"""The Redis store's connection (server/stores/redis_connection.py): writes bounded by
a timer instead of a Task per command, with the same outcome when Redis stops reading."""

from __future__ import annotations

import asyncio
import time
import traceback

import pytest

from server.stores.base import StoreUnavailable
from server.stores.redis_connection import PromptWriteConnection
from server.stores.redis_store import RedisRoomStore, answering

# Far more than a loopback socket's buffers hold: the write must wait for the reader.
LARGE_VALUE = b"x" * (64 * 1024 * 1024)


async def test_tcp_urls_use_the_prompt_write_connection(redis_url: str) -> None:
    store = RedisRoomStore(redis_url)
    try:
        assert store.redis.connection_pool.connection_class is PromptWriteConnection
        assert await store.redis.ping()
        assert await store.redis.publish("telehealth:test:nobody", b"x") == 0
    finally:
        await store.redis.aclose()


async def test_a_write_redis_never_reads_ends_unavailable_within_the_timeout() -> None:
    accepted: list[asyncio.StreamWriter] = []

    async def accept_and_never_read(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Answer the client's greeting (its health check's PING, then CLIENT SETINFO,
        # as many as it sends), then read nothing: the large write, not a read, is
        # what must time out.
        writer.write(b"+PONG\r\n" + b"+OK\r\n" * 3)
        accepted.append(writer)

    server = await asyncio.start_server(accept_and_never_read, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    store = RedisRoomStore(f"redis://127.0.0.1:{port}/0", timeout_s=0.5)
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable) as raised, answering("test write"):
            await store.redis.set("telehealth:test:large", LARGE_VALUE)
        where = "".join(
            traceback.format_tb(raised.value.__cause__.__traceback__)  # type: ignore[union-attr]
        )
        assert "send_packed_command" in where and "on_connect" not in where, where
        assert time.monotonic() - started < 5.0
        # The interrupted connection is closed, not handed to the next command.
        assert all(not c.is_connected for c in store.redis.connection_pool._available_connections)
    finally:
        await store.redis.aclose()
        for writer in accepted:
            writer.close()
        server.close()
        await server.wait_closed()
