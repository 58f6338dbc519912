"""Prometheus metrics, behind named methods so call sites never touch prometheus objects.

Each `Metrics` owns its own registry (not the process-global one), so tests and
several apps in one process do not collide.

Label values are bounded: every label takes values from a known list, and
anything else is counted as "other". An unbounded label (a room id, a
participant id, a client-chosen event name) would create a new time series per
value and grow the server's memory and Prometheus's storage without limit.
Label children are bound once, up front, so a hot-path call is a dict lookup and
an increment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

from rooms.errors import ErrorCode
from rooms.roles import Role
from rooms.room import RoomKind, RoomState
from server.ops.quality import Quality
from signaling.events import ClientEvent, ServerEvent
from signaling.frame_guard import FRAME_KINDS

OTHER: Final = "other"

ROOM_KINDS: Final = tuple(kind.value for kind in RoomKind)
ROOM_STATES: Final = tuple(state.value for state in RoomState)
ROLES: Final = tuple(role.value for role in Role)
SIGNALING_EVENTS: Final = tuple(
    sorted({event.value for event in ClientEvent} | {event.value for event in ServerEvent})
)
# The codes a connection or a join can be refused with (the metric's label values).
REFUSAL_REASONS: Final = tuple(code.value for code in (
    ErrorCode.TOKEN_MISSING, ErrorCode.TOKEN_MALFORMED, ErrorCode.TOKEN_EXPIRED,
    ErrorCode.TOKEN_NOT_YET_VALID, ErrorCode.TOKEN_BAD_AUDIENCE, ErrorCode.TOKEN_BAD_ALGORITHM,
    ErrorCode.TOKEN_BAD_SIGNATURE, ErrorCode.TOKEN_REVOKED, ErrorCode.ROOM_NOT_FOUND,
    ErrorCode.ROOM_ENDED, ErrorCode.ORIGIN_NOT_ALLOWED, ErrorCode.SEAT_TAKEN, ErrorCode.ROOM_FULL,
    ErrorCode.NOT_ALLOWED, ErrorCode.RATE_LIMITED,
))  # fmt: skip
MEDIA_KINDS: Final = ("audio", "video")
FORWARDED: Final = "forwarded"
# Why the relay did not forward a packet: the audio gate (muted, or not holding
# the floor), a subscriber too slow to keep up, or video held back until the next
# keyframe so that the subscriber's decoder does not show garbage.
RELAY_DROP_REASONS: Final = ("gate", "overload", "awaiting_keyframe")
QUALITY_LEVELS: Final = tuple(level.value for level in Quality)
JOIN_TO_CONNECTED_BUCKETS: Final = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0)


def _with_other(values: Iterable[str]) -> tuple[str, ...]:
    return (*dict.fromkeys(values), OTHER)


def _bounded(value: str | None, known: Mapping[str, object]) -> str:
    return value if value is not None and value in known else OTHER


class RelayCounter:
    """Packets and bytes for one (media kind, outcome): bind once per track, add per packet."""

    __slots__ = ("_bytes", "_packets")

    def __init__(self, packets: Counter, nbytes: Counter) -> None:
        self._packets = packets
        self._bytes = nbytes

    def add(self, packets: int, nbytes: int) -> None:
        self._packets.inc(packets)
        self._bytes.inc(nbytes)


class Metrics:
    """Every metric the server exports; one instance per app."""

    def __init__(
        self,
        *,
        signaling_events: Iterable[str] = SIGNALING_EVENTS,
        refusal_reasons: Iterable[str] = REFUSAL_REASONS,
        include_process: bool = True,
    ) -> None:
        self.registry = CollectorRegistry()
        if include_process:
            ProcessCollector(registry=self.registry)
            PlatformCollector(registry=self.registry)
            GCCollector(registry=self.registry)
        self._define_rooms()
        self._define_joins(refusal_reasons)
        self._define_signaling(signaling_events)
        self._define_relay()
        self._define_quality()

    # -- rooms and participants -----------------------------------------------------

    def _define_rooms(self) -> None:
        rooms = Gauge(
            "telehealth_rooms",
            "Rooms this process holds, by kind and state.",
            ["kind", "state"],
            registry=self.registry,
        )
        self._rooms = {
            (kind, state): rooms.labels(kind, state)
            for kind in _with_other(ROOM_KINDS)
            for state in _with_other(ROOM_STATES)
        }
        self._kinds = dict.fromkeys(ROOM_KINDS)
        self._states = dict.fromkeys(ROOM_STATES)
        participants = Gauge(
            "telehealth_participants",
            "Members in a room right now, by role.",
            ["role"],
            registry=self.registry,
        )
        self._participants = {role: participants.labels(role) for role in _with_other(ROLES)}
        self._roles = dict.fromkeys(ROLES)

    def room_state_changed(self, kind: str, old: str | None, new: str | None) -> None:
        """A room moved from state `old` to `new`; None for created (old) or forgotten (new)."""
        bounded_kind = _bounded(kind, self._kinds)
        if old is not None:
            self._rooms[bounded_kind, _bounded(old, self._states)].dec()
        if new is not None:
            self._rooms[bounded_kind, _bounded(new, self._states)].inc()

    def set_rooms(self, counts: Mapping[tuple[str, str], int]) -> None:
        """Replace all room counts, keyed by (kind, state), e.g. from a periodic recount."""
        totals = dict.fromkeys(self._rooms, 0)
        for (kind, state), count in counts.items():
            totals[_bounded(kind, self._kinds), _bounded(state, self._states)] += count
        for key, total in totals.items():
            self._rooms[key].set(total)

    def participant_joined(self, kind: str, role: str) -> None:
        bounded_role = _bounded(role, self._roles)
        self._joins[_bounded(kind, self._kinds), bounded_role].inc()
        self._participants[bounded_role].inc()

    def participant_left(self, role: str) -> None:
        self._participants[_bounded(role, self._roles)].dec()

    def set_participants(self, counts: Mapping[str, int]) -> None:
        """Replace all participant counts, keyed by role."""
        totals = dict.fromkeys(self._participants, 0)
        for role, count in counts.items():
            totals[_bounded(role, self._roles)] += count
        for role, total in totals.items():
            self._participants[role].set(total)

    # -- joins --------------------------------------------------------------------------

    def _define_joins(self, refusal_reasons: Iterable[str]) -> None:
        joins = Counter(
            "telehealth_joins",
            "Members who joined a room, by room kind and role.",
            ["kind", "role"],
            registry=self.registry,
        )
        self._joins = {
            (kind, role): joins.labels(kind, role)
            for kind in _with_other(ROOM_KINDS)
            for role in _with_other(ROLES)
        }
        refusals = Counter(
            "telehealth_join_refusals",
            "Connections or joins refused, by reason code.",
            ["reason"],
            registry=self.registry,
        )
        self._refusals = {
            reason: refusals.labels(reason) for reason in _with_other(refusal_reasons)
        }
        self._join_to_connected = Histogram(
            "telehealth_join_to_connected_seconds",
            "From pressing Join to media connected (ICE connected for individual rooms, "
            "the relay leg connected for group rooms).",
            buckets=JOIN_TO_CONNECTED_BUCKETS,
            registry=self.registry,
        )

    def join_refused(self, reason: str) -> None:
        self._refusals.get(reason, self._refusals[OTHER]).inc()

    # The name signaling.fanout.SignalingObserver calls.
    refused = join_refused

    def join_connected(self, seconds: float) -> None:
        self._join_to_connected.observe(seconds)

    # -- signaling ---------------------------------------------------------------------

    def _define_signaling(self, events: Iterable[str]) -> None:
        messages = Counter(
            "telehealth_signaling_messages",
            "Signaling messages by direction (in: from browsers) and event name.",
            ["direction", "event"],
            registry=self.registry,
        )
        known = _with_other(events)
        self._messages_in = {event: messages.labels("in", event) for event in known}
        self._messages_out = {event: messages.labels("out", event) for event in known}
        self._message_in_other = self._messages_in[OTHER]
        self._message_out_other = self._messages_out[OTHER]
        malformed = Counter(
            "telehealth_malformed_frames",
            "Frames from clients the server could not use, by why (signaling.frame_guard).",
            ["kind"],
            registry=self.registry,
        )
        self._malformed = {kind: malformed.labels(kind) for kind in _with_other(FRAME_KINDS)}

    def malformed_frame(self, kind: str) -> None:
        self._malformed.get(kind, self._malformed[OTHER]).inc()

    def message_in(self, event: str) -> None:
        # Incoming names are chosen by the client: never let them become labels.
        self._messages_in.get(event, self._message_in_other).inc()

    def message_out(self, event: str) -> None:
        self._messages_out.get(event, self._message_out_other).inc()

    # -- group relay ---------------------------------------------------------------------

    def _define_relay(self) -> None:
        packets = Counter(
            "telehealth_relay_frames",
            "Media frames the group relay forwarded or dropped, by media kind and outcome "
            "(audio: one RTP packet each; video: one picture, usually several packets).",
            ["kind", "outcome"],
            registry=self.registry,
        )
        nbytes = Counter(
            "telehealth_relay_bytes",
            "Media payload bytes the group relay forwarded or dropped, by kind and outcome.",
            ["kind", "outcome"],
            registry=self.registry,
        )
        outcomes = (FORWARDED, *(f"dropped_{reason}" for reason in _with_other(RELAY_DROP_REASONS)))
        self._relay = {
            (kind, outcome): RelayCounter(
                packets.labels(kind, outcome), nbytes.labels(kind, outcome)
            )
            for kind in _with_other(MEDIA_KINDS)
            for outcome in outcomes
        }
        self._media_kinds = dict.fromkeys(MEDIA_KINDS)
        self._drop_reasons = dict.fromkeys(RELAY_DROP_REASONS)

    def relay_counter(self, kind: str, outcome: str = FORWARDED) -> RelayCounter:
        """The bound counter for `kind` and `outcome` ("forwarded" or "dropped_<reason>")."""
        bounded_kind = _bounded(kind, self._media_kinds)
        counter = self._relay.get((bounded_kind, outcome))
        return counter if counter is not None else self._relay[bounded_kind, "dropped_other"]

    def relay_forwarded(self, kind: str, nbytes: int, packets: int = 1) -> None:
        self.relay_counter(kind).add(packets, nbytes)

    def relay_dropped(self, kind: str, reason: str, nbytes: int, packets: int = 1) -> None:
        outcome = f"dropped_{_bounded(reason, self._drop_reasons)}"
        self.relay_counter(kind, outcome).add(packets, nbytes)

    # -- connection quality ---------------------------------------------------------------

    def _define_quality(self) -> None:
        # Aggregated over all rooms: "how many members are on a poor connection
        # right now" is the ops question, and a room-id label would add series
        # for every room ever held (unbounded). Per-room detail is in the ops view.
        quality = Gauge(
            "telehealth_participant_quality",
            "Members by current connection quality level, over all rooms.",
            ["level"],
            registry=self.registry,
        )
        self._quality = {level: quality.labels(level) for level in _with_other(QUALITY_LEVELS)}
        gaps = Counter(
            "telehealth_media_gaps_total",
            "Times a group member stopped receiving another member's audio or video that "
            "the relay owed it (its receiver reports stopped growing).",
            ["kind"],
            registry=self.registry,
        )
        self._media_gaps = {kind: gaps.labels(kind) for kind in _with_other(("audio", "video"))}
        self._open_gaps = Gauge(
            "telehealth_media_gaps_open",
            "Tracks group members are owed and are not receiving right now, over all rooms.",
            registry=self.registry,
        )

    def quality_changed(self, old: str | None, new: str | None) -> None:
        """A member's level went from `old` to `new`; None when it arrives or leaves."""
        if old is not None:
            self._quality[_bounded(old, self._quality)].dec()
        if new is not None:
            self._quality[_bounded(new, self._quality)].inc()

    def media_gap(self, kind: str) -> None:
        """A member stopped receiving a track of `kind` it is owed."""
        self._media_gaps[_bounded(kind, self._media_gaps)].inc()

    def set_open_media_gaps(self, count: int) -> None:
        self._open_gaps.set(count)

    def set_quality_counts(self, counts: Mapping[str, int]) -> None:
        """Replace all quality counts, keyed by level, e.g. from a periodic recount."""
        totals = dict.fromkeys(self._quality, 0)
        for level, count in counts.items():
            totals[_bounded(level, self._quality)] += count
        for level, total in totals.items():
            self._quality[level].set(total)

    # -- exposition -------------------------------------------------------------------------

    def render(self) -> tuple[bytes, str]:
        """(body, content type) for GET /metrics."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
