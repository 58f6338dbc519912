"""The last-N policy (server/media/relay/last_n.py): pure, time passed in."""

from __future__ import annotations

import itertools

import pytest

from server.media.relay.last_n import BitrateMeter, LastNConfig, LastNPolicy

CAMERAS = {"ann": 400_000.0, "bob": 400_000.0, "cat": 400_000.0, "dan": 400_000.0}
KEEP = frozenset({"ann", "bob"})  # the therapist and the current speaker
AUDIO = 4 * 40_000.0
EVERYTHING = AUDIO + sum(CAMERAS.values())
# Carries the audio and the kept cameras, not all four.
SHORT = AUDIO + 1_000_000.0
# Carries the audio alone.
AUDIO_ONLY_LINK = 300_000.0
# What a short link's subscriber reports losing: more than `lossy`, less than congested.
LOSING = 0.03


THERAPIST = frozenset({"ann"})


def decide(
    policy: LastNPolicy,
    now: float,
    estimate: float | None,
    loss: float | None = LOSING,
    essential: frozenset[str] = frozenset(),
) -> frozenset[str]:
    return policy.decide(
        now=now,
        estimate_bps=estimate,
        reserved_bps=AUDIO,
        video_bps=CAMERAS,
        keep=KEEP,
        essential=essential,
        loss_fraction=loss,
    )


def run(
    policy: LastNPolicy,
    estimate: float | None,
    start: float,
    seconds: int,
    loss: float | None = LOSING,
    essential: frozenset[str] = frozenset(),
) -> list[frozenset[str]]:
    """One decision a second, as the relay's ticker asks."""
    return [decide(policy, start + t, estimate, loss, essential) for t in range(seconds)]


def on_link(
    policy: LastNPolicy,
    capacity: float,
    start: float,
    seconds: int,
    own_loss: float = 0.0,
    essential: frozenset[str] = frozenset(),
) -> list[frozenset[str]]:
    """A link that carries ``capacity`` and loses ``own_loss`` of everything whatever it
    is sent, plus what overflows: each second's loss report is of what the previous
    decision sent. Its browser's estimate is the capacity."""
    decisions: list[frozenset[str]] = []
    paused: frozenset[str] = frozenset()
    for t in range(seconds):
        sent = AUDIO + sum(bps for member, bps in CAMERAS.items() if member not in paused)
        overflow = max(0.0, sent - capacity) / sent
        loss = own_loss + (1 - own_loss) * overflow
        paused = decide(policy, start + t, capacity, loss, essential)
        decisions.append(paused)
    return decisions


def test_nothing_is_paused_without_an_estimate_or_while_it_carries_everything() -> None:
    policy = LastNPolicy()
    assert set(run(policy, None, 0, 60)) == {frozenset()}
    assert set(run(policy, EVERYTHING * 1.05, 60, 60)) == {frozenset()}


def test_a_short_link_keeps_only_speaker_and_therapist_after_the_grace_and_the_wait() -> None:
    config = LastNConfig()
    policy = LastNPolicy(config)
    decisions = run(policy, SHORT, 0, 20)
    first_pause = next(i for i, d in enumerate(decisions) if d)
    # Not while the estimate ramps up, and only once it stayed short long enough.
    assert first_pause == config.startup_grace_s + config.pause_after_s
    assert decisions[first_pause] == {"cat", "dan"}
    assert set(decisions[first_pause:]) == {frozenset({"cat", "dan"})}


def test_a_brief_dip_does_not_pause() -> None:
    policy = LastNPolicy()
    run(policy, EVERYTHING * 2, 0, 15)
    assert set(run(policy, SHORT, 15, 2)) == {frozenset()}
    assert set(run(policy, EVERYTHING * 2, 17, 5)) == {frozenset()}
    assert set(run(policy, SHORT, 22, 2)) == {frozenset()}


def test_hysteresis_resume_needs_room_to_spare() -> None:
    config = LastNConfig()
    policy = LastNPolicy(config)
    run(policy, SHORT, 0, 15)
    assert policy.constrained
    # Enough for everything, but not with the margin: stays paused (until a probe).
    assert all(run(policy, AUDIO + sum(CAMERAS.values()) * 1.1, 15, 10))
    assert not any(run(policy, AUDIO + sum(CAMERAS.values()) * 1.4, 25, 1))
    assert not policy.constrained


def test_probes_back_off_while_the_link_stays_short() -> None:
    config = LastNConfig(probe_after_s=30, max_probe_after_s=120)
    policy = LastNPolicy(config)
    decisions = on_link(policy, SHORT, 0, 600)
    resumes = [i for i in range(1, 600) if decisions[i - 1] and not decisions[i]]
    gaps = [b - a for a, b in itertools.pairwise(resumes)]
    # Each failed probe doubles the wait before the next, up to the cap; a probe that
    # meets loss ends at the next decision.
    pause = 1
    assert gaps[:3] == [60 + pause, 120 + pause, 120 + pause]
    assert all(decisions[r] == frozenset() for r in resumes)


def test_the_kept_set_follows_the_speaker() -> None:
    policy = LastNPolicy()
    run(policy, SHORT, 0, 15)
    after = policy.decide(
        now=15,
        estimate_bps=SHORT,
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


def test_a_link_too_short_even_for_the_kept_cameras_goes_straight_to_none() -> None:
    config = LastNConfig()
    policy = LastNPolicy(config)
    decisions = run(policy, AUDIO_ONLY_LINK, 0, 30)
    first = next(i for i, d in enumerate(decisions) if d)
    # One step down to what the link carries, not a step (and seconds of lost audio)
    # per level.
    assert first == config.startup_grace_s + config.pause_after_s
    assert set(decisions[first:]) == {frozenset(CAMERAS)}
    # Room for the kept cameras (with the margin): one step up, not all the way.
    assert run(policy, AUDIO + 800_000 * 1.4, 30, 1) == [{"cat", "dan"}]


def test_a_link_that_carries_the_kept_cameras_stops_there() -> None:
    policy = LastNPolicy()
    decisions = run(policy, AUDIO + 900_000, 0, 30)
    assert set(decisions[-10:]) == {frozenset({"cat", "dan"})}


def test_a_link_losing_packets_steps_down_at_once_even_while_ramping_up() -> None:
    config = LastNConfig()
    policy = LastNPolicy(config)
    decisions = run(policy, AUDIO_ONLY_LINK, 0, 6, loss=0.2)
    # No startup grace: the link overflows, it is not ramping up.
    assert decisions == [frozenset(), *[frozenset(CAMERAS)] * 5]
    # A small loss is no reason to skip the grace.
    calm = LastNPolicy(config)
    assert set(run(calm, AUDIO_ONLY_LINK, 0, 6, loss=0.01)) == {frozenset()}


def test_no_probe_while_the_link_loses_more_than_its_own_loss() -> None:
    config = LastNConfig(probe_after_s=5, max_probe_after_s=5)
    policy = LastNPolicy(config)
    assert on_link(policy, AUDIO_ONLY_LINK, 0, 10)[-1] == frozenset(CAMERAS)
    assert policy.background_loss == 0.0
    # Something else fills the link now: it loses, paused as it is.
    assert set(run(policy, AUDIO_ONLY_LINK, 10, 3, loss=0.2)) == {frozenset(CAMERAS)}


def test_loss_that_stays_while_paused_is_the_links_own_and_probes_go_on() -> None:
    # A lossy radio: 20% lost whatever it is sent, pauses or not.
    config = LastNConfig(probe_after_s=5, max_probe_after_s=5)
    policy = LastNPolicy(config)
    decisions = run(policy, AUDIO_ONLY_LINK, 0, 40, loss=0.2)
    assert decisions[3] == frozenset(CAMERAS)
    assert policy.background_loss == pytest.approx(0.2)
    assert any(d != frozenset(CAMERAS) for d in decisions[4:])


def test_a_link_with_random_loss_gets_its_cameras_back_and_keeps_them() -> None:
    # 5% lost whatever is sent, and a dip of its estimate that paused the cameras:
    # the probe meets the same 5%, which is no overflow.
    config = LastNConfig(probe_after_s=10, max_probe_after_s=10)
    policy = LastNPolicy(config)
    run(policy, AUDIO_ONLY_LINK, 0, 15, loss=0.05)
    assert policy.constrained
    later = run(policy, EVERYTHING * 1.2, 15, 60, loss=0.05)
    assert later[-20:] == [frozenset()] * 20


def test_a_link_that_got_better_forgets_its_old_loss() -> None:
    # Paused on a lossy radio (40% whatever it is sent), then the member moves to a
    # clean link and every camera comes back.
    policy = LastNPolicy()
    run(policy, AUDIO_ONLY_LINK, 0, 20, loss=0.4)
    assert policy.background_loss == pytest.approx(0.4, abs=0.01)
    assert run(policy, EVERYTHING * 2, 20, 12, loss=0.0)[-1] == frozenset()
    assert policy.background_loss is not None and policy.background_loss < 0.02
    # Its new link overflows: 20% lost is congestion again, not the old radio's loss.
    assert run(policy, AUDIO_ONLY_LINK, 32, 3, loss=0.2)[-1] == frozenset(CAMERAS)


def test_a_probe_from_audio_only_tries_every_camera() -> None:
    config = LastNConfig(probe_after_s=5, max_probe_after_s=5)
    policy = LastNPolicy(config)
    assert run(policy, AUDIO_ONLY_LINK, 0, 3, loss=0.2)[-1] == frozenset(CAMERAS)
    decisions = run(policy, AUDIO_ONLY_LINK, 3, 10, loss=0.0)
    assert frozenset() in decisions  # straight back to every camera, not one level


def therapist_first(estimate: float) -> list[frozenset[str]]:
    return run(LastNPolicy(), estimate, 0, 8, loss=0.2, essential=THERAPIST)


def test_the_therapist_is_the_last_camera_a_short_link_keeps() -> None:
    # Carries the audio and one camera, not the two kept ones.
    assert therapist_first(AUDIO + 500_000)[-1] == {"bob", "cat", "dan"}


def test_audio_comes_before_even_the_therapists_camera() -> None:
    # Carries the audio and less than one camera: no camera at all, the voices flow.
    assert therapist_first(AUDIO_ONLY_LINK)[-1] == frozenset(CAMERAS)


def test_a_slightly_low_estimate_pauses_only_while_packets_are_lost() -> None:
    # 85% of what every camera needs: a busy receiver's delay-based estimate looks
    # like this on a clear link; with loss it is a link filling up.
    slightly_low = AUDIO + sum(CAMERAS.values()) * 0.85
    assert set(run(LastNPolicy(), slightly_low, 0, 60, loss=0.0)) == {frozenset()}
    assert set(run(LastNPolicy(), slightly_low, 0, 60, loss=None)) == {frozenset()}
    decisions = run(LastNPolicy(), slightly_low, 0, 30, loss=0.03)
    assert decisions[-1] == {"cat", "dan"}


def test_a_probe_from_no_camera_tries_the_therapists_first() -> None:
    config = LastNConfig(probe_after_s=10, max_probe_after_s=10)
    decisions = on_link(LastNPolicy(config), AUDIO_ONLY_LINK, 0, 80, essential=THERAPIST)
    first_none = decisions.index(frozenset(CAMERAS))
    probes = [d for d in decisions[first_none:] if d != frozenset(CAMERAS)]
    # The therapist's camera alone, never every camera at once.
    assert probes and set(probes) == {frozenset({"bob", "cat", "dan"})}


def test_no_follow_up_probe_while_the_estimate_cannot_carry_the_therapists_camera() -> None:
    # The therapist's camera flows without loss, but the estimate stays short of it.
    policy = LastNPolicy()
    run(policy, AUDIO_ONLY_LINK, 0, 3, loss=0.3, essential=THERAPIST)
    decisions = run(policy, AUDIO_ONLY_LINK, 3, 80, loss=0.0, essential=THERAPIST)
    assert {"bob", "cat", "dan"} in decisions  # the probe
    assert frozenset() not in decisions


def test_once_the_therapists_camera_holds_a_follow_up_probe_tries_every_camera() -> None:
    config = LastNConfig()
    policy = LastNPolicy(config)
    assert run(policy, AUDIO_ONLY_LINK, 0, 3, 0.3, THERAPIST)[-1] == frozenset(CAMERAS)
    # The link recovers. Its browser sends no new estimate while it gets no video,
    # and one that carries the therapist's camera (not more) once it does.
    estimate, decisions = AUDIO_ONLY_LINK, {}
    for t in range(3, 60):
        decisions[t] = decide(policy, t, estimate, 0.0, THERAPIST)
        if decisions[t] != frozenset(CAMERAS):
            estimate = AUDIO + CAMERAS["ann"] * 1.2
    probe = next(t for t, d in decisions.items() if d != frozenset(CAMERAS))
    assert decisions[probe] == {"bob", "cat", "dan"}
    everything = next(t for t, d in decisions.items() if d == frozenset())
    assert everything - probe == config.failed_probe_s


def test_an_estimate_just_short_of_the_cameras_on_a_lossy_link_pauses_nothing() -> None:
    # A 200 ms RTT link with 10% random loss: the estimate climbs slowly and sits just
    # under what the cameras need; what is lost is the link's own, not overflow.
    almost = AUDIO + sum(CAMERAS.values()) * 0.97
    assert set(run(LastNPolicy(), almost, 0, 60, loss=0.15)) == {frozenset()}


def test_a_far_short_estimate_pauses_without_loss_after_a_longer_wait() -> None:
    config = LastNConfig()
    decisions = run(LastNPolicy(config), SHORT, 0, 40, loss=None)
    first_pause = next(i for i, d in enumerate(decisions) if d)
    assert first_pause == config.startup_grace_s + config.delay_only_pause_after_s


def test_one_lossy_report_is_no_congestion() -> None:
    # A burst of keyframes when someone joins: one decision sees loss, the next none.
    policy = LastNPolicy()
    losses = [0.5, None, None, None]
    decisions = [decide(policy, t, AUDIO_ONLY_LINK, loss) for t, loss in enumerate(losses)]
    assert set(decisions) == {frozenset()}


def test_a_probe_that_meets_loss_ends_at_once_whatever_the_estimate() -> None:
    config = LastNConfig(probe_after_s=5, max_probe_after_s=5)
    policy = LastNPolicy(config)
    on_link(policy, SHORT, 0, 15)
    probe = next(t for t in range(15, 40) if not run(policy, SHORT, t, 1, loss=0.0)[0])
    # The estimate is stale and high (no new REMB yet); the loss decides.
    failing = config.failed_probe_loss
    assert run(policy, EVERYTHING * 2, probe + 1, 1, loss=failing) == [{"cat", "dan"}]
