"""`telehealth serve`: bind, announce, run until interrupted, clean up."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import ssl
import sys
from pathlib import Path

from aiohttp import web

from server.app import SHUTDOWN_BUDGET_S, create_app
from server.cli.runtime_file import RuntimeInfo, remove_runtime, write_runtime
from server.http.tls import fingerprint, server_ssl_context
from server.settings import Settings
from server.stores.factory import describe_store

log = logging.getLogger(__name__)

HANDLER_GRACE_S = 0.25


async def run(settings: Settings, *, ready: asyncio.Event | None = None) -> None:
    app = create_app(settings)
    # Requests still running at shutdown (Engine.IO long-polls, WebSockets whose client
    # never answers the close) get this long, twice, before aiohttp cancels them.
    runner = web.AppRunner(
        app, access_log=None, handle_signals=False, shutdown_timeout=HANDLER_GRACE_S
    )
    await runner.setup()
    context: ssl.SSLContext | None = None
    if settings.tls_cert is not None and settings.tls_key is not None:
        context = server_ssl_context(settings.tls_cert, settings.tls_key)
    site = web.TCPSite(runner, settings.host, settings.port, ssl_context=context)
    await site.start()
    port = _bound_port(runner) or settings.port
    info = RuntimeInfo(
        admin_url=settings.local_url(port),
        public_url=settings.base_url(port),
        pid=os.getpid(),
        ca_file=str(settings.tls_cert) if settings.tls_cert else None,
    )
    write_runtime(settings.data_dir, info)
    _announce(settings, info)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    if ready is not None:
        ready.set()
    try:
        await stop.wait()
    finally:
        remove_runtime(settings.data_dir, os.getpid())
        try:
            await asyncio.wait_for(runner.cleanup(), timeout=SHUTDOWN_BUDGET_S - 0.2)
        except TimeoutError:
            log.warning("shutdown took longer than %.1f s; exiting anyway", SHUTDOWN_BUDGET_S)


def _bound_port(runner: web.AppRunner) -> int | None:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return None


def _announce(settings: Settings, info: RuntimeInfo) -> None:
    data_dir = Path(settings.data_dir)
    store = describe_store(settings)
    lines = [
        f"Telehealth session server listening on {info.public_url}",
        f"  store: {store}; data directory: {data_dir.resolve()}",
        "  create a room from another terminal in this directory:",
        "    telehealth room create --kind individual",
        "    telehealth room create --kind group --participant Alex --participant Sam",
    ]
    if settings.tls_cert is not None:
        lines.append(f"  TLS certificate SHA-256 fingerprint: {fingerprint(settings.tls_cert)}")
    if settings.host in ("0.0.0.0", "::") and not settings.public_url:
        lines.append("  note: pass --public-url so join links name an address others can reach")
    print("\n".join(lines), flush=True, file=sys.stdout)
