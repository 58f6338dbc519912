"""create_app(): the whole server as one aiohttp application."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from server.audit.log import AuditLog
from server.auth.identity import TokenAuthenticator
from server.auth.keys import KeyRing, load_or_create
from server.auth.tokens import TokenIssuer, TokenVerifier
from server.cluster.group_media import ClusteredGroupMedia
from server.cluster.node import ClusterNode
from server.housekeeping import Housekeeping, Job
from server.http.admin_api import AdminApi
from server.http.pages import error_pages, page_routes, stamp_headers
from server.http.probe import probe_routes
from server.media.group_media import RelayRegistry
from server.media.ice import ice_config_for, ice_servers_for, relay_ice_servers
from server.media.probe import MediaProbes
from server.media.relay.aiortc_hooks import HostCandidatePolicy
from server.media.relay.last_n import LastNConfig
from server.media.voice import VoiceToFloor
from server.ops.alerts import AlertLog
from server.ops.feed import OpsFeed
from server.ops.listeners import (
    AuditListener,
    LogListener,
    MetricsListener,
    OpsObserver,
    RefusalAuditObserver,
    WebhookListener,
)
from server.ops.metrics import Metrics
from server.ops.metrics_access import metrics_refusal
from server.ops.quality_service import QualityForgetter, QualityService
from server.ops.quality_wire import QualityToWire
from server.ops.relay_metrics import RelayMetricsSampler
from server.ops.webhooks import WebhookDispatcher
from server.programs.wiring import install_programs
from server.room_service import RoomService
from server.seat_recovery import hold_seats_after_restart
from server.settings import Settings
from server.stores.base import RoomStore
from server.stores.factory import make_store, sealer_for
from server.stores.redis_store import RedisRoomStore
from signaling.address_cap import AddressCap
from signaling.chat_routes import register_chat_routes
from signaling.checkin_routes import register_checkin_routes
from signaling.connections import ConnectionRegistry
from signaling.events import ServerEvent
from signaling.fanout import Fanout
from signaling.gateway import Limits, Signaling
from signaling.group_routes import register_group_routes
from signaling.group_views import talk_report_view
from signaling.net_routes import register_net_routes
from signaling.origin import OriginPolicy
from signaling.socket_server import SignalingServer

log = logging.getLogger(__name__)

HOUSEKEEPING_INTERVAL_S = 1.0
# The therapist's live talk-time view refreshes this often (in housekeeping beats).
TALK_REPORT_EVERY_BEATS = 3
# Group members' quality is sampled from the relay this often.
QUALITY_EVERY_BEATS = 5
AUDIT_DIR = "audit"
# Engine.IO closes a connection past this; our own 64 KiB limit answers with an error first.
TRANSPORT_MAX_BYTES = 256 * 1024
# SIGTERM (server.cli.serve) stops the process within this, clients connected or not.
SHUTDOWN_BUDGET_S = 2.0
# What pages show when the process stops (ServerEvent.SERVER_RESTARTING): they reconnect.
RESTART_MESSAGE = "The server is restarting, reconnecting…"
NOTICE_TIMEOUT_S = 0.5
# With several processes, handing this process's rooms to the others on SIGTERM.
HAND_OVER_S = 1.0
RELAY_DRAIN_TIMEOUT_S = 0.5


@dataclass
class Components:
    settings: Settings
    keys: KeyRing
    store: RoomStore
    rooms: RoomService
    issuer: TokenIssuer
    signaling: Signaling
    relays: RelayRegistry
    metrics: Metrics
    audit: AuditLog
    quality: QualityService
    alerts: AlertLog
    ops_feed: OpsFeed | None  # None when Settings.instrumentation is off
    webhooks: WebhookDispatcher | None
    cluster: ClusterNode | None  # with Redis: this process's part in the deployment
    probes: MediaProbes  # the connection check's media probes


COMPONENTS = web.AppKey("components", Components)
# Socket.IO requests in progress (WebSockets, long-polls), by id: closed last on shutdown.
SOCKET_REQUESTS = web.AppKey("socket_requests", dict[int, web.Request])


class SettingsIce:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def ice_servers(self, member_id: str) -> list[dict[str, Any]]:
        return ice_servers_for(self._settings, member_id, time.time())

    def ice_config(self, member_id: str) -> dict[str, Any]:
        return ice_config_for(self._settings, member_id, time.time())


def create_app(settings: Settings, *, store: RoomStore | None = None) -> web.Application:
    keys = load_or_create(settings.data_dir)
    store = store or make_store(settings)
    issuer = TokenIssuer(keys.signing_key)
    verifier = TokenVerifier(keys.verify_key)
    metrics = Metrics()
    # With Redis, several processes share the data directory: each writes its own
    # chain, named by its pid. Embedded, the one process writes audit.jsonl, and
    # that chain's lock refuses a second process on the directory (and its SQLite).
    audit = AuditLog(settings.data_dir / AUDIT_DIR, pid=os.getpid() if settings.redis_url else None)
    alerts = AlertLog()
    sio = SignalingServer(
        async_mode="aiohttp",
        # Origins are checked in our connect handler, which can say why.
        cors_allowed_origins=[],
        max_http_buffer_size=TRANSPORT_MAX_BYTES,
        logger=False,
        engineio_logger=False,
        auth_timeout_s=settings.auth_timeout_s,
        address_cap=AddressCap(
            settings.max_connections_per_address, trust_proxy=settings.trust_proxy
        ),
    )
    # Who hears what comes first: the relay, voice and quality push through it, and
    # signaling dispatches to them, so each is built after everything it needs.
    observer = (
        OpsObserver(metrics, audit) if settings.instrumentation else RefusalAuditObserver(audit)
    )
    cluster: ClusterNode | None = None
    rooms: RoomService
    fanout: Fanout
    if isinstance(store, RedisRoomStore):
        # Several processes: each room's commands and relay run on its owner.
        cluster = ClusterNode.build(store, sealer_for(settings), sio, observer, time.time)
        rooms, fanout = cluster.rooms, cluster.fanout
    else:
        rooms = RoomService(store)
        fanout = Fanout(sio, ConnectionRegistry(), observer, time.time)
    voice = VoiceToFloor(rooms, fanout)
    host_candidates = HostCandidatePolicy(settings.rtc_ports, settings.rtc_announce_ip)
    probes = MediaProbes(host_candidates)
    relays = RelayRegistry(
        rooms,
        fanout.send_to_member,
        on_voice=lambda room_id, member_id, speaking, _at: voice.report(
            room_id, member_id, speaking
        ),
        relay_ice=lambda room_id: relay_ice_servers(settings, room_id, time.time()),
        host_candidates=host_candidates,
        last_n=LastNConfig() if settings.last_n else None,
    )
    quality = QualityService(metrics, alerts, signals=QualityToWire(fanout))
    # The session namespace and /ops: one origin policy, one set of message limits.
    origin_policy = OriginPolicy(settings.allowed_origins, trust_proxy=settings.trust_proxy)
    limits = Limits(
        settings.rate_per_s,
        settings.rate_burst,
        settings.max_message_bytes,
        join_timeout_s=settings.join_timeout_s,
    )
    signaling = Signaling(
        sio,
        auth=TokenAuthenticator(issuer, verifier, settings.resume_ttl_s),
        rooms=rooms,
        ice=SettingsIce(settings),
        origin_policy=origin_policy,
        limits=limits,
        fanout=fanout,
        group_media=relays if cluster is None else ClusteredGroupMedia(cluster.rooms, relays),
        stats_sink=quality,
    )
    register_group_routes(signaling)
    register_chat_routes(signaling)
    register_checkin_routes(signaling)
    register_net_routes(signaling, SettingsIce(settings), probes)
    ops_feed = (
        OpsFeed(
            sio,
            verifier,
            rooms,
            quality,
            alerts,
            origin_policy=origin_policy,
            limits=limits,
            show_names=settings.ops_show_names,
        )
        if settings.instrumentation
        else None
    )
    hooks = (
        WebhookDispatcher(settings.webhook_urls, settings.webhook_secret or "")
        if settings.webhook_urls
        else None
    )
    rooms.subscribe(signaling.publish)
    if cluster is not None:
        cluster.rooms.on_lost(relays.drop)
    rooms.subscribe(relays.on_room_events)
    audit_listener = AuditListener(audit)
    rooms.subscribe(audit_listener)
    rooms.on_created(audit_listener.room_created)
    if settings.instrumentation:
        rooms.subscribe(MetricsListener(metrics))
    rooms.subscribe(QualityForgetter(quality))
    rooms.subscribe(LogListener())
    if hooks is not None:
        rooms.subscribe(WebhookListener(hooks))

    app = web.Application(
        client_max_size=64 * 1024, middlewares=[track_socket_requests, error_pages]
    )
    app.on_response_prepare.append(stamp_headers)
    app[SOCKET_REQUESTS] = {}
    app[COMPONENTS] = Components(
        settings,
        keys,
        store,
        rooms,
        issuer,
        signaling,
        relays,
        metrics,
        audit,
        quality,
        alerts,
        ops_feed,
        hooks,
        cluster,
        probes,
    )
    sio.attach(app)
    app.add_routes(
        page_routes(
            store,
            test_hooks=settings.test_hooks,
            listening=(lambda: True) if cluster is None else (lambda: cluster.bus.listening),
        )
    )
    app.add_routes(probe_routes())
    if settings.instrumentation:
        app.add_routes([web.get("/metrics", metrics_endpoint)])
    app.add_routes(AdminApi(settings, rooms, issuer, keys.admin_key).routes())
    # Programs (docs/programs.md): schedules, personal links, attendance from room events.
    install_programs(app, settings, rooms, issuer, audit, keys.admin_key)
    app.cleanup_ctx.append(housekeeping)
    # Before the first connection: seats left connected by a crash start their grace now.
    app.on_startup.append(lambda _app: hold_seats_after_restart(rooms))
    if cluster is not None:
        app.on_startup.append(lambda _app: cluster.start())
    app.on_shutdown.append(close_sockets)
    return app


async def close_sockets(app: web.Application) -> None:
    """SIGTERM: tell every page to reconnect, drain the relay, close every socket.

    aiohttp would otherwise wait for open WebSockets (up to Engine.IO's ping timeout,
    or for as long as a client that never answers a close likes). Each step is bounded
    so the whole stop fits in SHUTDOWN_BUDGET_S with clients connected."""
    components = app[COMPONENTS]
    sio = components.signaling.sio
    started = time.monotonic()
    closed = 0
    handed = 0
    if components.cluster is not None:
        # First, so members' pages open legs to the new owners while ours still forward.
        with contextlib.suppress(Exception):
            handed = await asyncio.wait_for(components.cluster.drain(), timeout=HAND_OVER_S)
    with contextlib.suppress(Exception):
        closed = await asyncio.wait_for(
            components.signaling.close_for_restart(RESTART_MESSAGE), timeout=NOTICE_TIMEOUT_S
        )
    relays = len(components.relays.relays())
    await components.relays.close(within_s=RELAY_DRAIN_TIMEOUT_S)
    await components.probes.close()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(sio.eio.disconnect(), timeout=NOTICE_TIMEOUT_S)
    with contextlib.suppress(Exception):
        await asyncio.wait_for(sio.shutdown(), timeout=NOTICE_TIMEOUT_S)
    # Everything was said; a client that does not close its end must not hold us.
    for request in list(app[SOCKET_REQUESTS].values()):
        if request.transport is not None:
            request.transport.close()
    log.info(
        "shutting down: %d rooms handed over, %d connections told to reconnect,"
        " %d relays closed in %.2f s",
        handed,
        closed,
        relays,
        time.monotonic() - started,
    )


async def metrics_endpoint(request: web.Request) -> web.Response:
    components = request.app[COMPONENTS]
    refusal = metrics_refusal(request, components.settings.metrics_token)
    if refusal is not None:
        return refusal
    await refresh_gauges(components)
    body, content_type = components.metrics.render()
    response = web.Response(body=body)
    response.headers["Content-Type"] = content_type
    return response


async def refresh_gauges(components: Components) -> None:
    """Gauges are recounted from the store at scrape time, so they never drift."""
    rooms: Counter[tuple[str, str]] = Counter()
    roles: Counter[str] = Counter()
    for room in await components.rooms.live_rooms():
        rooms[(room.kind.value, room.state.value)] += 1
        for member in room.connected():
            roles[member.role.value] += 1
    components.metrics.set_rooms(rooms)
    components.metrics.set_participants(roles)
    components.metrics.set_quality_counts(components.quality.tracker.counts())


@web.middleware
async def track_socket_requests(request: web.Request, handler: Any) -> web.StreamResponse:
    if not request.path.startswith("/socket.io"):
        response: web.StreamResponse = await handler(request)
        return response
    open_requests = request.app[SOCKET_REQUESTS]
    open_requests[id(request)] = request
    try:
        response = await handler(request)
        return response
    finally:
        del open_requests[id(request)]


async def housekeeping(app: web.Application) -> AsyncIterator[None]:
    """Grace periods and room expiry advance even when nobody sends anything."""
    components = app[COMPONENTS]
    jobs = Housekeeping(housekeeping_jobs(components))

    async def loop() -> None:
        beats = 0
        while True:
            await asyncio.sleep(HOUSEKEEPING_INTERVAL_S)
            beats += 1
            await jobs.beat(beats)

    tasks = [asyncio.create_task(loop(), name="housekeeping")]
    if components.ops_feed is not None:
        tasks.append(asyncio.create_task(components.ops_feed.run(), name="ops-feed"))
    if components.webhooks is not None:
        components.webhooks.start()
    yield
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    if components.webhooks is not None:
        await components.webhooks.aclose()
    await components.relays.close()
    await components.probes.close()
    if components.cluster is not None:
        await components.cluster.close()
    await components.store.close()
    components.audit.close()


def housekeeping_jobs(components: Components) -> list[Job]:
    """What each beat does, in order; each job is guarded on its own (server.housekeeping)."""
    # A fresh resume token at half the lifetime of the last one.
    token_beats = max(1, int(components.settings.resume_ttl_s / 2 / HOUSEKEEPING_INTERVAL_S))
    relay_metrics = RelayMetricsSampler(components.metrics)

    async def tick_rooms() -> None:
        await components.rooms.tick(await components.store.list_ids())

    async def sample_relay_metrics() -> None:
        relay_metrics.sample(components.relays.relays())

    return [
        Job("room ticks", tick_rooms),
        Job("talk reports", lambda: send_talk_reports(components), TALK_REPORT_EVERY_BEATS),
        Job("resume tokens", lambda: components.signaling.refresh_resume_tokens(), token_beats),
        # Every beat: a member missing media must show within seconds.
        Job(
            "media completeness", lambda: components.quality.check_media(components.relays.relays())
        ),
        Job(
            "relay quality",
            lambda: components.quality.sample_relays(components.relays.relays()),
            QUALITY_EVERY_BEATS,
        ),
        Job("relay metrics", sample_relay_metrics, QUALITY_EVERY_BEATS),
        Job("silent expiry", lambda: components.quality.expire_silent(), QUALITY_EVERY_BEATS),
    ]


async def send_talk_reports(components: Components) -> None:
    """Live talk time for the therapists of every group room with media on this node."""
    now = time.time()
    for room_id in components.relays.relays():
        room = await components.rooms.get(room_id)
        if room is None or room.floor is None or room.is_over:
            continue
        await components.signaling.send_to_moderators(
            room_id, ServerEvent.TALK_REPORT, {"report": talk_report_view(room, now)}
        )
