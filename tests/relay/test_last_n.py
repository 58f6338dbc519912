"""The last-N policy (server/media/relay/last_n.py): pure, time passed in."""

from __future__ import annotations

import itertools

import pytest

from server.media.relay.last_n import BitrateMeter, LastNConfig, LastNPolicy

CAMERAS = {"ann": 400_000.0, "bob": 400_000.0, "cat": 400_000.0, "dan": 400_000.0}
KEEP = frozenset({"ann", "bob"})  # the therapist and the current speaker
AUDIO = 4 * 40_000.0
EVERYTHING = AUDIO + sum(CAMERAS.values())


def run(
    policy: LastNPolicy, estimate: float | None, start: float, seconds: int
) -> list[frozenset[str]]:
    """One decision a second, as the relay's ticker asks."""
    return [
        policy.decide(
            now=start + t,
            estimate_bps=estimate,
            reserved_bps=AUDIO,
            video_bps=CAMERAS,
            keep=KEEP,
        )
        for t in range(seconds)
    ]


def test_nothing_is_paused_without_an_estimate_or_while_it_carries_everything() -> None:
    policy = LastNPolicy()
    assert set(run(policy, None, 0, 60)) == {frozenset()}
    assert set(run(policy, EVERYTHING * 1.05, 60, 60)) == {frozenset()}


def test_a_short_link_keeps_only_speaker_and_therapist_after_the_grace_and_the_wait() -> None:
    config = LastNConfig()
    policy = LastNPolicy(config)
    decisions = run(policy, 300_000, 0, 20)
    first_pause = next(i for i, d in enumerate(decisions) if d)
    # Not while the estimate ramps up, and only once it stayed short long enough.
    assert first_pause == config.startup_grace_s + config.pause_after_s
    assert decisions[first_pause] == {"cat", "dan"}
    assert set(decisions[first_pause:]) == {frozenset({"cat", "dan"})}


def test_a_brief_dip_does_not_pause() -> None:
    policy = LastNPolicy()
    run(policy, EVERYTHING * 2, 0, 15)
    assert set(run(policy, 300_000, 15, 2)) == {frozenset()}
    assert set(run(policy, EVERYTHING * 2, 17, 5)) == {frozenset()}
    assert set(run(policy, 300_000, 22, 2)) == {frozenset()}


def test_hysteresis_resume_needs_room_to_spare() -> None:
    config = LastNConfig()
    policy = LastNPolicy(config)
    run(policy, 300_000, 0, 15)
    assert policy.constrained
    # Enough for everything, but not with the margin: stays paused (until a probe).
    assert all(run(policy, AUDIO + sum(CAMERAS.values()) * 1.1, 15, 10))
    assert not any(run(policy, AUDIO + sum(CAMERAS.values()) * 1.4, 25, 1))
    assert not policy.constrained


def test_probes_back_off_while_the_link_stays_short() -> None:
    config = LastNConfig(probe_after_s=30, max_probe_after_s=120)
    policy = LastNPolicy(config)
    decisions = run(policy, 300_000, 0, 600)
    resumes = [i for i in range(1, 600) if decisions[i - 1] and not decisions[i]]
    gaps = [b - a for a, b in itertools.pairwise(resumes)]
    # Each failed probe doubles the wait before the next, up to the cap.
    pause = config.settle_s + config.pause_after_s
    assert gaps[:3] == [60 + pause, 120 + pause, 120 + pause]
    assert all(decisions[r] == frozenset() for r in resumes)


def test_the_kept_set_follows_the_speaker() -> None:
    policy = LastNPolicy()
    run(policy, 300_000, 0, 15)
    after = policy.decide(
        now=15,
        estimate_bps=300_000,
        reserved_bps=AUDIO,
        video_bps=CAMERAS,
        keep=frozenset({"ann", "dan"}),
    )
    assert after == {"bob", "cat"}


def test_config_refuses_no_hysteresis() -> None:
    with pytest.raises(ValueError):
        LastNConfig(pause_below=1.2, resume_above=1.2)


def test_bitrate_meter_smooths_per_key() -> None:
    meter = BitrateMeter(smoothing=0.5)
    meter.update("ann/video", 0, 0.0)
    meter.update("ann/video", 50_000, 1.0)  # 400 kbit/s
    assert meter.rate("ann/video") == 400_000
    meter.update("ann/video", 150_000, 2.0)  # 800 kbit/s, half-way there
    assert meter.rate("ann/video") == 600_000
    meter.forget_others(["bob/audio"])
    assert meter.rate("ann/video") == 0
