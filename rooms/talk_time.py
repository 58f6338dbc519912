"""Talk-time ledger: who spoke, for how long, how many turns, how long hands waited.

Fed by voice-activity start/stop signals (the relay reads RFC 6464 audio levels; no
audio is decoded). Time is a float of seconds on the room's monotonic clock. The ledger
holds numbers only, never content: it is shown to the therapist, not stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class MemberTalk:
    """One member's running totals. `speaking_since` is set while an interval is open."""

    spoken_s: float = 0.0
    speaking_since: float | None = None
    turns: int = 0
    longest_wait_s: float = 0.0

    def __post_init__(self) -> None:
        if self.spoken_s < 0 or self.longest_wait_s < 0 or self.turns < 0:
            raise ValueError("talk-time totals must not be negative")

    def speaking_seconds(self, now: float) -> float:
        if self.speaking_since is None:
            return self.spoken_s
        return self.spoken_s + max(0.0, now - self.speaking_since)


@dataclass(frozen=True)
class TalkTimeLedger:
    """Per-member totals since `started_at`. Treat `members` as read-only: every
    function below returns a new ledger with a new mapping."""

    started_at: float
    members: Mapping[str, MemberTalk] = field(default_factory=dict)

    def of(self, member: str) -> MemberTalk:
        return self.members.get(member, MemberTalk())


def _with(ledger: TalkTimeLedger, member: str, talk: MemberTalk) -> TalkTimeLedger:
    members = dict(ledger.members)
    members[member] = talk
    return replace(ledger, members=members)


def new_ledger(now: float) -> TalkTimeLedger:
    return TalkTimeLedger(started_at=now)


def track(ledger: TalkTimeLedger, member: str) -> TalkTimeLedger:
    """Give a member a row (with zeros) so the report lists people who never spoke."""
    if member in ledger.members:
        return ledger
    return _with(ledger, member, MemberTalk())


def voice(ledger: TalkTimeLedger, member: str, speaking: bool, now: float) -> TalkTimeLedger:
    """Open or close a member's speaking interval.

    A repeated start or stop is a no-op rather than an error: voice activity is a
    sensor signal, and a detector that reports the same edge twice must not break a
    session.
    """
    talk = ledger.of(member)
    if speaking:
        if talk.speaking_since is not None:
            return ledger
        return _with(ledger, member, replace(talk, speaking_since=now))
    if talk.speaking_since is None:
        return ledger if member in ledger.members else track(ledger, member)
    closed = replace(talk, spoken_s=talk.speaking_seconds(now), speaking_since=None)
    return _with(ledger, member, closed)


def count_turn(ledger: TalkTimeLedger, member: str) -> TalkTimeLedger:
    talk = ledger.of(member)
    return _with(ledger, member, replace(talk, turns=talk.turns + 1))


def record_wait(ledger: TalkTimeLedger, member: str, waited_s: float) -> TalkTimeLedger:
    talk = ledger.of(member)
    if waited_s <= talk.longest_wait_s:
        return ledger if member in ledger.members else track(ledger, member)
    return _with(ledger, member, replace(talk, longest_wait_s=waited_s))


def speaking_seconds(ledger: TalkTimeLedger, member: str, now: float) -> float:
    return ledger.of(member).speaking_seconds(now)


def current_speakers(ledger: TalkTimeLedger) -> tuple[str, ...]:
    return tuple(m for m, talk in ledger.members.items() if talk.speaking_since is not None)


@dataclass(frozen=True)
class MemberTalkReport:
    member: str
    speaking_s: float
    # Fraction of all speech in the session so far, 0 when nobody has spoken.
    share: float
    turns: int
    longest_wait_s: float
    has_spoken: bool
    speaking_now: bool


@dataclass(frozen=True)
class TalkTimeReport:
    at: float
    elapsed_s: float
    total_speaking_s: float
    members: tuple[MemberTalkReport, ...]

    @property
    def current_speakers(self) -> tuple[str, ...]:
        return tuple(row.member for row in self.members if row.speaking_now)

    def row(self, member: str) -> MemberTalkReport | None:
        return next((row for row in self.members if row.member == member), None)


def talk_report(
    ledger: TalkTimeLedger,
    now: float,
    open_waits: Mapping[str, float] | None = None,
    also: Iterable[str] = (),
) -> TalkTimeReport:
    """Rows for every member the ledger knows plus `also`, in first-seen order.

    `open_waits` are hands still up (member -> seconds waited so far): a hand that
    has waited all session must show up as the longest wait, not as zero.
    """
    waits = open_waits or {}
    members = list(ledger.members)
    members += [m for m in (*also, *waits) if m not in ledger.members and m not in members]
    seconds = {m: speaking_seconds(ledger, m, now) for m in members}
    total = sum(seconds.values())
    rows = tuple(
        MemberTalkReport(
            member=m,
            speaking_s=seconds[m],
            share=seconds[m] / total if total > 0 else 0.0,
            turns=ledger.of(m).turns,
            longest_wait_s=max(ledger.of(m).longest_wait_s, waits.get(m, 0.0)),
            has_spoken=seconds[m] > 0,
            speaking_now=ledger.of(m).speaking_since is not None,
        )
        for m in members
    )
    return TalkTimeReport(
        at=now,
        elapsed_s=max(0.0, now - ledger.started_at),
        total_speaking_s=total,
        members=rows,
    )
