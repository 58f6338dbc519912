"""The congestion signal for last-N (server/media/relay/downlink_loss.py): what the
subscriber's receiver reports say it lost, less what the relay never sent it."""

from __future__ import annotations

from server.media.relay.downlink_loss import DownlinkLoss


def test_nothing_reported_is_no_loss() -> None:
    assert DownlinkLoss().take() is None


def test_streams_are_weighed_by_the_packets_they_were_sent() -> None:
    loss = DownlinkLoss()
    loss.on_report(0, 1000, 0, 0)  # first reports: no span yet
    loss.on_report(1, 5000, 0, 0)
    assert loss.take() is None
    loss.on_report(0, 1300, 75, 0)  # a camera: 300 packets, 75 lost
    loss.on_report(1, 5100, 0, 0)  # a voice: 100 packets, none lost
    assert loss.take() == 75 / 400


def test_gaps_the_relay_never_sent_are_not_the_downlinks_loss() -> None:
    loss = DownlinkLoss()
    loss.on_report(0, 100, 0, 0)
    # 100 numbers, 30 reported lost, of which 20 never left the relay (another
    # member's uplink lost them): 10 of the 80 sent.
    loss.on_report(0, 200, 30, 20)
    assert loss.take() == 10 / 80
    # Every gap upstream: the downlink lost nothing.
    loss.on_report(0, 300, 60, 50)
    assert loss.take() == 0.0


def test_a_paused_stream_does_not_dilute_the_loss() -> None:
    loss = DownlinkLoss()
    loss.on_report(0, 10, 0, 0)
    loss.on_report(1, 10, 0, 0)
    loss.take()
    loss.on_report(0, 60, 25, 0)
    loss.on_report(1, 10, 0, 0)  # paused: nothing sent, nothing weighed
    assert loss.take() == 0.5


def test_unknown_gaps_count_as_sent() -> None:
    loss = DownlinkLoss()
    loss.on_report(0, 0, 0, None)
    loss.on_report(0, 100, 10, 3)
    assert loss.take() == 0.1


def test_nothing_new_is_none_not_the_last_value_again() -> None:
    loss = DownlinkLoss()
    loss.on_report(0, 0, 0, 0)
    loss.on_report(0, 100, 50, 0)
    assert loss.take() == 0.5
    assert loss.take() is None


def test_wraparound_counts_and_a_stale_report_does_not() -> None:
    loss = DownlinkLoss()
    loss.on_report(0, (1 << 32) - 50, 0, 0)
    loss.on_report(0, 50, 25, 0)  # 100 packets across the wrap
    assert loss.take() == 0.25
    loss.on_report(0, 40, 99, 0)  # older than the last one: reordered, no span
    loss.on_report(0, 70, 25, 0)  # 20 packets since the newest report, none lost
    assert loss.take() == 0.0
    loss.on_report(0, 90, 30, 0)
    assert loss.take() == 0.25


def test_a_resumed_stream_starts_a_new_span() -> None:
    loss = DownlinkLoss()
    loss.on_report(0, 100, 0, 0)
    loss.forget(0)  # paused, then resumed: the next report spans the pause
    loss.on_report(0, 300, 80, 0)  # what was lost just before the pause: not news
    assert loss.take() is None
    loss.on_report(0, 400, 80, 0)
    assert loss.take() == 0.0
