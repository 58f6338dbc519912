"""Voice activity from audio levels: threshold, onset and hangover, with time passed in."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from server.media.relay.voice_activity import (
    SILENCE_LEVEL,
    VoiceActivityConfig,
    VoiceActivityDetector,
)

CONFIG = VoiceActivityConfig(voiced_level=50, onset_packets=3, hangover=0.4)
PACKET = 0.02

levels = st.integers(min_value=0, max_value=SILENCE_LEVEL)
gaps = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


def run(packets: list[tuple[int, float]]) -> tuple[VoiceActivityDetector, list[tuple[float, bool]]]:
    detector = VoiceActivityDetector(CONFIG)
    changes: list[tuple[float, bool]] = []
    now = 0.0
    for level, gap in packets:
        now += gap
        change = detector.observe(level, now)
        if change is not None:
            changes.append((now, change))
    return detector, changes


@given(st.lists(st.tuples(levels, gaps), max_size=200))
def test_changes_alternate_and_start_with_speaking(packets: list[tuple[int, float]]) -> None:
    _, changes = run(packets)
    states = [speaking for _, speaking in changes]
    assert states == [i % 2 == 0 for i in range(len(states))]


@given(st.lists(st.tuples(st.integers(CONFIG.voiced_level + 1, SILENCE_LEVEL), gaps), max_size=200))
def test_silence_never_speaks(packets: list[tuple[int, float]]) -> None:
    detector, changes = run(packets)
    assert changes == [] and not detector.speaking


@given(st.lists(st.tuples(levels, gaps), max_size=200))
def test_speaking_starts_only_after_enough_consecutive_voiced_packets(
    packets: list[tuple[int, float]],
) -> None:
    detector = VoiceActivityDetector(CONFIG)
    run_length, now = 0, 0.0
    for level, gap in packets:
        now += gap
        run_length = run_length + 1 if level <= CONFIG.voiced_level else 0
        if detector.observe(level, now) is True:
            assert run_length >= CONFIG.onset_packets


@given(st.integers(CONFIG.onset_packets, 100), st.floats(0.0, 5.0, allow_nan=False))
def test_speaking_lasts_exactly_the_hangover_after_the_last_voiced_packet(
    voiced: int, later: float
) -> None:
    # Exactly at the boundary, float rounding of (t + later) - t decides either way.
    assume(abs(later - CONFIG.hangover) > 1e-9)
    detector, changes = run([(10, PACKET)] * voiced)
    assert [s for _, s in changes] == [True]
    last_voiced = voiced * PACKET
    change = detector.tick(last_voiced + later)
    if later > CONFIG.hangover:
        assert change is False and not detector.speaking
    else:
        assert change is None and detector.speaking


def test_a_pause_shorter_than_the_hangover_does_not_split_a_turn() -> None:
    packets = [(10, PACKET)] * 10 + [(120, PACKET)] * 10 + [(10, PACKET)] * 10
    _, changes = run(packets)
    assert [s for _, s in changes] == [True]


def test_a_single_click_is_not_speech() -> None:
    _, changes = run([(120, PACKET), (5, PACKET), (120, PACKET), (5, PACKET), (120, PACKET)])
    assert changes == []


def test_reset_reports_the_end_of_speaking_once() -> None:
    detector, _ = run([(10, PACKET)] * 5)
    assert detector.reset() is False
    assert detector.reset() is None


@pytest.mark.parametrize(
    "kwargs", [{"voiced_level": 128}, {"onset_packets": 0}, {"hangover": -1.0}]
)
def test_invalid_config_is_rejected(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        VoiceActivityConfig(**kwargs)  # type: ignore[arg-type]
