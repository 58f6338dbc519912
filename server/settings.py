"""Process settings: one frozen object built from the command line and the environment."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_DATA_DIR = Path("telehealth-data")
# Browsers only: bigger payloads are refused with a clear error, not dropped.
MAX_MESSAGE_BYTES = 64 * 1024
MIN_METRICS_TOKEN_CHARS = 16
EMBEDDED_STORES = ("sqlite", "memory")
# "relay": browsers use TURN candidates only (RTCConfiguration.iceTransportPolicy).
ICE_POLICIES = ("all", "relay")


@dataclass(frozen=True)
class Settings:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    data_dir: Path = DEFAULT_DATA_DIR
    redis_url: str | None = None
    # Where rooms live without a redis_url: "sqlite", the file in the data directory
    # (they survive a restart), or "memory", this process only (tests that want speed).
    embedded_store: str = "sqlite"
    tls_cert: Path | None = None
    tls_key: Path | None = None
    # Public base URL used in join links, e.g. https://telehealth.clinic.example
    # behind a reverse proxy. Defaults to the listening address.
    public_url: str | None = None
    # Extra origins allowed besides the page's own (same-origin is always allowed).
    allowed_origins: tuple[str, ...] = ()
    # Honour X-Forwarded-Proto/Host from a reverse proxy for the same-origin check, and
    # X-Forwarded-For (its last entry) as the client address for the connection cap.
    trust_proxy: bool = False
    link_ttl_s: float = 4 * 3600.0
    resume_ttl_s: float = 15 * 60.0
    grace_s: float = 30.0
    max_group_size: int = 16
    stun_urls: tuple[str, ...] = ()
    turn_urls: tuple[str, ...] = ()
    turn_secret: str | None = field(default=None, repr=False)
    turn_ttl_s: float = 6 * 3600.0
    # "relay": browsers gather and use TURN candidates only, so no member's own address
    # reaches another member (or the relay). Needs TURN servers.
    ice_policy: str = "all"
    # The group relay's UDP ports (first, last), for firewall rules; None: any free port.
    # One port (first == last): every leg shares it (ICE muxed by username and address).
    rtc_ports: tuple[int, int] | None = None
    # 1:1 NAT: the relay's host candidates announce this public address instead.
    rtc_announce_ip: str | None = None
    # Last-N: a member whose REMB cannot carry every camera gets the speaker's and the
    # therapists' only (docs/relay.md "Last-N"). False forwards every camera to everyone.
    last_n: bool = True
    # Hostile or stuck clients: an Engine.IO connection must authenticate (Socket.IO
    # CONNECT) within auth_timeout_s and then session.join within join_timeout_s (the
    # page connects before its device check, so this one is long); at most
    # max_connections_per_address open connections per client address (X-Forwarded-For
    # with trust_proxy). 0 turns each off.
    auth_timeout_s: float = 10.0
    join_timeout_s: float = 900.0
    max_connections_per_address: int = 100
    rate_per_s: float = 20.0
    rate_burst: float = 60.0
    max_message_bytes: int = MAX_MESSAGE_BYTES
    log_level: str = "INFO"
    # Ops see pseudonymous member ids unless the deployment opts in to names.
    ops_show_names: bool = False
    webhook_urls: tuple[str, ...] = ()
    webhook_secret: str | None = field(default=None, repr=False)
    # Prometheus metrics (/metrics and the counters behind it) and the ops dashboard's
    # /ops feed. Off only to measure what they cost (benchmarks/ops.py); the audit log
    # is not instrumentation and stays on either way.
    instrumentation: bool = True
    # Bearer token GET /metrics requires; without one only this machine may scrape
    # (server/ops/metrics_access.py).
    metrics_token: str | None = field(default=None, repr=False)
    # Programs (docs/programs.md): attendance older than this many days is deleted by
    # `telehealth program purge`.
    program_retention_days: int = 365
    # Test only: join pages also get fault injectors (drop the connection, fail media)
    # on window.__telehealth, for the browser tests. Never on in a deployment.
    test_hooks: bool = False

    def __post_init__(self) -> None:
        if self.embedded_store not in EMBEDDED_STORES:
            raise ValueError(f"embedded_store must be one of {', '.join(EMBEDDED_STORES)}")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port {self.port} is out of range")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("--tls-cert and --tls-key go together")
        if self.webhook_urls and not self.webhook_secret:
            raise ValueError("webhooks need --webhook-secret to sign deliveries")
        if self.turn_urls and not self.turn_secret:
            raise ValueError("TURN servers need --turn-secret (TURN REST shared secret)")
        if self.metrics_token is not None:
            check_metrics_token(self.metrics_token)
        if self.ice_policy not in ICE_POLICIES:
            raise ValueError(f"--ice-policy must be one of {', '.join(ICE_POLICIES)}")
        if self.ice_policy == "relay" and not self.turn_urls:
            raise ValueError("--ice-policy relay needs a TURN server (--turn and --turn-secret)")
        if self.turn_ttl_s <= 0:
            raise ValueError("--turn-ttl-seconds must be positive")
        if self.rtc_ports is not None:
            check_port_range(*self.rtc_ports)
        if self.rtc_announce_ip is not None:
            check_announce_ip(self.rtc_announce_ip)
        if not 1 <= self.program_retention_days <= 3650:
            raise ValueError("--program-retention-days must be between 1 and 3650")

    @property
    def scheme(self) -> str:
        return "https" if self.tls_cert is not None else "http"

    def base_url(self, bound_port: int | None = None) -> str:
        """The base of join links: the public URL, else where this machine reaches us."""
        if self.public_url:
            return self.public_url.rstrip("/")
        return self.local_url(bound_port)

    def local_url(self, bound_port: int | None = None) -> str:
        """Where a client on this machine reaches the server (wildcards become loopback)."""
        host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        if ":" in host:
            host = f"[{host}]"
        return f"{self.scheme}://{host}:{bound_port or self.port}"


def check_metrics_token(token: str) -> None:
    """Raises ValueError with a clear message for a token that cannot be used."""
    if len(token) < MIN_METRICS_TOKEN_CHARS:
        raise ValueError(
            f"--metrics-token must be at least {MIN_METRICS_TOKEN_CHARS} characters "
            "(for example the output of `openssl rand -hex 16`)"
        )
    if not token.isascii() or not token.isprintable() or " " in token:
        raise ValueError(
            "--metrics-token must be printable ASCII without spaces (it travels in an HTTP header)"
        )


def parse_port_range(text: str) -> tuple[int, int]:
    """``"50000-50199"`` (each leg its own port of the range) or ``"50000"`` (every
    leg on that one port, muxed) as (first, last); ValueError with the reason."""
    first_text, dash, last_text = text.strip().partition("-")
    try:
        first = int(first_text)
        last = int(last_text) if dash else first
    except ValueError:
        raise ValueError(
            f"--rtc-ports {text!r}: expected a UDP port range such as 50000-50199, or one port"
        ) from None
    check_port_range(first, last)
    return first, last


def check_port_range(first: int, last: int) -> None:
    if not 1024 <= first <= 65535 or not 1024 <= last <= 65535:
        raise ValueError(f"--rtc-ports {first}-{last}: ports must be between 1024 and 65535")
    if first > last:
        raise ValueError(f"--rtc-ports {first}-{last}: the first port is above the last")


def check_announce_ip(address: str) -> None:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise ValueError(f"--rtc-announce-ip {address!r} is not an IP address") from None
    if ip.is_unspecified or ip.is_multicast:
        raise ValueError(f"--rtc-announce-ip {address}: members cannot reach this address")
