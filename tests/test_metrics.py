"""Metrics: the rendered text carries the right values; labels stay bounded."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from server.ops.metrics import JOIN_TO_CONNECTED_BUCKETS, Metrics
from signaling.events import ClientEvent, ServerEvent


def samples(metrics: Metrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    body, content_type = metrics.render()
    assert content_type.startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def value(metrics: Metrics, name: str, **labels: str) -> float:
    return samples(metrics)[name, frozenset(labels.items())]


def test_rooms_by_kind_and_state() -> None:
    metrics = Metrics(include_process=False)
    metrics.room_state_changed("group", None, "created")
    metrics.room_state_changed("group", "created", "active")
    metrics.room_state_changed("individual", None, "active")
    assert value(metrics, "telehealth_rooms", kind="group", state="active") == 1
    assert value(metrics, "telehealth_rooms", kind="group", state="created") == 0
    assert value(metrics, "telehealth_rooms", kind="individual", state="active") == 1

    metrics.set_rooms({("group", "ended"): 4, ("weird", "active"): 1})
    assert value(metrics, "telehealth_rooms", kind="group", state="ended") == 4
    assert value(metrics, "telehealth_rooms", kind="group", state="active") == 0
    assert value(metrics, "telehealth_rooms", kind="other", state="active") == 1


def test_participants_and_joins() -> None:
    metrics = Metrics(include_process=False)
    metrics.participant_joined("group", "participant")
    metrics.participant_joined("group", "participant")
    metrics.participant_joined("group", "therapist")
    metrics.participant_left("participant")
    assert value(metrics, "telehealth_participants", role="participant") == 1
    assert value(metrics, "telehealth_participants", role="therapist") == 1
    assert value(metrics, "telehealth_joins_total", kind="group", role="participant") == 2
    metrics.set_participants({"ops": 2})
    assert value(metrics, "telehealth_participants", role="ops") == 2
    assert value(metrics, "telehealth_participants", role="participant") == 0


def test_refusals_by_reason_with_unknown_reasons_bounded() -> None:
    metrics = Metrics(include_process=False)
    metrics.join_refused("token_expired")
    metrics.refused("token_expired")  # the name the signaling observer uses
    metrics.join_refused("a reason nobody planned for")
    assert value(metrics, "telehealth_join_refusals_total", reason="token_expired") == 2
    assert value(metrics, "telehealth_join_refusals_total", reason="other") == 1


def test_join_to_connected_histogram() -> None:
    metrics = Metrics(include_process=False)
    metrics.join_connected(0.3)
    metrics.join_connected(45)
    assert JOIN_TO_CONNECTED_BUCKETS[0] == 0.05 and JOIN_TO_CONNECTED_BUCKETS[-1] == 30
    assert value(metrics, "telehealth_join_to_connected_seconds_count") == 2
    assert value(metrics, "telehealth_join_to_connected_seconds_bucket", le="0.5") == 1
    assert value(metrics, "telehealth_join_to_connected_seconds_bucket", le="30.0") == 1
    assert value(metrics, "telehealth_join_to_connected_seconds_bucket", le="+Inf") == 2


def test_signaling_messages_with_unknown_events_as_other() -> None:
    metrics = Metrics(include_process=False)
    metrics.message_in("session.join")
    metrics.message_in("x" * 500)
    metrics.message_in("made.up")
    metrics.message_out("peer.joined")
    name = "telehealth_signaling_messages_total"
    assert value(metrics, name, direction="in", event="session.join") == 1
    assert value(metrics, name, direction="in", event="other") == 2
    assert value(metrics, name, direction="out", event="peer.joined") == 1
    events = {dict(labels)["event"] for sample, labels in samples(metrics) if sample == name}
    assert "made.up" not in events and len(events) <= len(ClientEvent) + len(ServerEvent) + 1


def test_event_names_can_be_supplied() -> None:
    metrics = Metrics(include_process=False, signaling_events=["floor.request"])
    metrics.message_in("floor.request")
    name = "telehealth_signaling_messages_total"
    assert value(metrics, name, direction="in", event="floor.request") == 1


def test_relay_packets_and_bytes() -> None:
    metrics = Metrics(include_process=False)
    video = metrics.relay_counter("video")
    video.add(3, 3000)
    metrics.relay_forwarded("audio", 120)
    metrics.relay_dropped("audio", "gate", 100)
    metrics.relay_dropped("audio", "cosmic rays", 10)
    packets, nbytes = "telehealth_relay_frames_total", "telehealth_relay_bytes_total"
    assert value(metrics, packets, kind="video", outcome="forwarded") == 3
    assert value(metrics, nbytes, kind="video", outcome="forwarded") == 3000
    assert value(metrics, packets, kind="audio", outcome="forwarded") == 1
    assert value(metrics, nbytes, kind="audio", outcome="dropped_gate") == 100
    assert value(metrics, packets, kind="audio", outcome="dropped_other") == 1


def test_quality_levels_are_aggregated_not_per_room() -> None:
    metrics = Metrics(include_process=False)
    metrics.quality_changed(None, "good")
    metrics.quality_changed(None, "good")
    metrics.quality_changed("good", "poor")
    assert value(metrics, "telehealth_participant_quality", level="good") == 1
    assert value(metrics, "telehealth_participant_quality", level="poor") == 1
    metrics.set_quality_counts({"poor": 5})
    assert value(metrics, "telehealth_participant_quality", level="poor") == 5
    assert value(metrics, "telehealth_participant_quality", level="good") == 0
    labels = {
        key
        for sample, labels in samples(metrics)
        if sample == "telehealth_participant_quality"
        for key, _ in labels
    }
    assert labels == {"level"}


def test_instances_do_not_share_state_or_collide() -> None:
    first, second = Metrics(), Metrics()
    first.join_refused("room_full")
    assert value(first, "telehealth_join_refusals_total", reason="room_full") == 1
    assert value(second, "telehealth_join_refusals_total", reason="room_full") == 0
    assert b"process_cpu_seconds_total" in first.render()[0]
