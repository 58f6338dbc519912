"""Talk-time ledger: intervals, turns, waits and the report."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rooms.talk_time import (
    MemberTalk,
    count_turn,
    current_speakers,
    new_ledger,
    record_wait,
    speaking_seconds,
    talk_report,
    track,
    voice,
)


def test_intervals_add_up_and_repeated_edges_are_ignored() -> None:
    ledger = new_ledger(0.0)
    ledger = voice(ledger, "ana", True, 1.0)
    ledger = voice(ledger, "ana", True, 5.0)  # repeated start keeps the first
    assert current_speakers(ledger) == ("ana",)
    assert speaking_seconds(ledger, "ana", 4.0) == 3.0
    ledger = voice(ledger, "ana", False, 11.0)
    ledger = voice(ledger, "ana", False, 20.0)  # repeated stop adds nothing
    ledger = voice(ledger, "ana", True, 30.0)
    ledger = voice(ledger, "ana", False, 35.0)
    assert speaking_seconds(ledger, "ana", 100.0) == 15.0
    assert current_speakers(ledger) == ()


def test_report_shares_turns_waits_and_silent_members() -> None:
    ledger = track(new_ledger(0.0), "quiet")
    ledger = voice(ledger, "ana", True, 0.0)
    ledger = voice(ledger, "ana", False, 30.0)
    ledger = voice(ledger, "ben", True, 50.0)
    ledger = count_turn(count_turn(ledger, "ana"), "ana")
    ledger = record_wait(record_wait(ledger, "ben", 40.0), "ben", 12.0)
    report = talk_report(ledger, 60.0, open_waits={"quiet": 55.0})
    assert report.elapsed_s == 60.0 and report.total_speaking_s == 40.0
    assert report.current_speakers == ("ben",)
    ana, ben, quiet = (report.row(m) for m in ("ana", "ben", "quiet"))
    assert ana is not None and ben is not None and quiet is not None
    assert (ana.speaking_s, ana.share, ana.turns, ana.has_spoken) == (30.0, 0.75, 2, True)
    assert (ben.speaking_s, ben.share, ben.longest_wait_s) == (10.0, 0.25, 40.0)
    assert (quiet.has_spoken, quiet.share, quiet.longest_wait_s) == (False, 0.0, 55.0)
    assert [row.member for row in report.members] == ["quiet", "ana", "ben"]


def test_negative_totals_are_rejected() -> None:
    with pytest.raises(ValueError):
        MemberTalk(spoken_s=-1.0)


@given(
    st.lists(st.tuples(st.sampled_from(["a", "b"]), st.booleans(), st.floats(0, 10)), max_size=40)
)
def test_talk_time_is_never_negative_nor_longer_than_elapsed(
    signals: list[tuple[str, bool, float]],
) -> None:
    ledger = new_ledger(0.0)
    now = 0.0
    for member, speaking, step in signals:
        now += step
        ledger = voice(ledger, member, speaking, now)
        for name in ("a", "b"):
            assert 0.0 <= speaking_seconds(ledger, name, now) <= now + 1e-9
    report = talk_report(ledger, now)
    assert sum(row.share for row in report.members) in (0.0, pytest.approx(1.0))
