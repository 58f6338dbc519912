"""Property-based: random sequences of floor commands keep the floor's invariants.

A stateful machine drives the real commands with random members, modes, settings and
time steps, and after every step checks the invariants, including talk time against
an independent model (a member's talk time grows exactly while they speak with an
open gate).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from rooms.floor import engine as floor
from rooms.floor.errors import FloorError
from rooms.floor.events import (
    FloorEvent,
    FloorGranted,
    FloorOutcome,
    GoAroundEnded,
    GoAroundSkipped,
    GoAroundStarted,
    GrantReason,
)
from rooms.floor.state import (
    FloorMode,
    FloorSettings,
    FloorState,
    QueuePolicy,
    TurnLimitAction,
    new_floor,
)
from rooms.talk_time import speaking_seconds
from rooms.turn_limits import fair_share_floor_s

MEMBERS = ("m1", "m2", "m3", "m4", "m5")
THERAPIST = "dr"

members = st.sampled_from(MEMBERS)
steps = st.sampled_from([0.0, 0.5, 1.0, 7.0, 30.0, 95.0])
floor_settings = st.builds(
    FloorSettings,
    queue_policy=st.sampled_from(QueuePolicy),
    auto_advance=st.booleans(),
    turn_limit_s=st.sampled_from([None, 20.0, 60.0, 120.0]),
    go_around_turn_s=st.sampled_from([15.0, 45.0]),
    warn_at_fraction=st.sampled_from([0.5, 0.8]),
    on_turn_limit=st.sampled_from(TurnLimitAction),
    fair_share_limits=st.sampled_from([True, True, False]),
    fair_share_min_fraction=st.sampled_from([0.25, 0.5, 1.0]),
    fair_share_min_s=st.sampled_from([5.0, 30.0]),
)


class FloorMachine(RuleBasedStateMachine):
    state: FloorState
    now: float
    # Independent model of talk time, advanced between commands.
    expected_talk: dict[str, float]
    therapist_speaking: bool
    # Go-around bookkeeping from the events alone.
    round_grants: dict[str, int] | None
    round_skipped: set[str]
    rounds_completed: int

    @initialize(
        config=floor_settings,
        present=st.lists(members, min_size=2, unique=True),
        mode=st.sampled_from(FloorMode),
    )
    def start(self, config: FloorSettings, present: list[str], mode: FloorMode) -> None:
        self.state = new_floor(0.0, config)
        self.now = 0.0
        self.expected_talk = {}
        self.therapist_speaking = False
        self.round_grants = None
        self.round_skipped = set()
        self.rounds_completed = 0
        for member in present:
            self.join(member, 0.0)
        self.set_mode(mode, 0.0)

    # Driving

    def counting_now(self) -> set[str]:
        gates = floor.audio_gates(self.state, self.state.participants, [THERAPIST])
        counting = {m for m in self.state.voice_active if gates[m]}
        if self.therapist_speaking:
            counting.add(THERAPIST)
        return counting

    def run(
        self,
        step: float,
        command: Callable[[FloorState, float], FloorOutcome],
        switches_mode: bool = False,
    ) -> None:
        for member in self.counting_now():
            self.expected_talk[member] = self.expected_talk.get(member, 0.0) + step
        self.now += step
        try:
            self.state, events = command(self.state, self.now)
        except FloorError:
            return
        self.follow_go_around(events, switches_mode)
        self.check_granted_limits(events)

    def check_granted_limits(self, events: tuple[FloorEvent, ...]) -> None:
        """A granted limit lies between the fair-share floor and the base limit; members
        at or under their fair share (per the independent talk model) get the base."""
        config = self.state.settings
        for event in events:
            if not isinstance(event, FloorGranted):
                continue
            if event.reason is GrantReason.GO_AROUND:
                assert event.limit_s == config.go_around_turn_s
                continue
            base = config.turn_limit_s
            if base is None or not config.fair_share_limits:
                assert event.limit_s == base
                continue
            assert event.limit_s is not None
            assert fair_share_floor_s(config, base) <= event.limit_s <= base
            present = self.state.participants
            total = sum(self.expected_talk.get(m, 0.0) for m in present)
            member_s = self.expected_talk.get(event.member, 0.0)
            if member_s * len(present) <= total * (1 - 1e-9):
                assert event.limit_s == base

    def follow_go_around(self, events: tuple[FloorEvent, ...], switches_mode: bool) -> None:
        for event in events:
            if isinstance(event, GoAroundStarted):
                self.round_grants = {}
                self.round_skipped = set()
            elif isinstance(event, GoAroundSkipped):
                self.round_skipped.add(event.member)
            elif isinstance(event, FloorGranted) and event.reason is GrantReason.GO_AROUND:
                assert self.round_grants is not None
                self.round_grants[event.member] = self.round_grants.get(event.member, 0) + 1
                # Nobody gets a second turn in the round.
                assert self.round_grants[event.member] == 1
            elif isinstance(event, GoAroundEnded):
                assert self.round_grants is not None
                if not switches_mode:
                    # A round that ran its course gave everyone still here their turn.
                    had_turn = set(self.round_grants) | self.round_skipped
                    assert set(self.state.participants) <= had_turn
                    self.rounds_completed += 1
                self.round_grants = None

    # Rules: one per command

    @rule(member=members, step=steps)
    def join(self, member: str, step: float) -> None:
        self.run(step, lambda s, now: floor.join(s, member, now))

    @rule(member=members, step=steps)
    def leave(self, member: str, step: float) -> None:
        self.run(step, lambda s, now: floor.leave(s, member, now))

    @rule(mode=st.sampled_from(FloorMode), step=steps)
    def set_mode(self, mode: FloorMode, step: float) -> None:
        self.run(step, lambda s, now: floor.set_mode(s, mode, now), switches_mode=True)

    @rule(config=floor_settings, step=steps)
    def change_settings(self, config: FloorSettings, step: float) -> None:
        self.run(step, lambda s, now: floor.change_settings(s, config, now))

    @rule(member=members, step=steps)
    def raise_hand(self, member: str, step: float) -> None:
        self.run(step, lambda s, now: floor.raise_hand(s, member, now))

    @rule(member=members, step=steps)
    def lower_hand(self, member: str, step: float) -> None:
        self.run(step, lambda s, now: floor.lower_hand(s, member, now))

    @rule(step=steps)
    def grant_next(self, step: float) -> None:
        head = self.state.hands and floor.queue_order(self.state, self.now + step)[0]
        self.run(step, floor.grant_next)
        if head and self.state.mode is FloorMode.HAND_QUEUE:
            assert self.state.holder == head

    @rule(member=members, step=steps)
    def give_floor(self, member: str, step: float) -> None:
        self.run(step, lambda s, now: floor.give_floor(s, member, now))

    @rule(member=members, step=steps)
    def invite(self, member: str, step: float) -> None:
        before = self.state.holder
        self.run(step, lambda s, now: floor.invite(s, member, now))
        # An invitation never takes the floor from someone who holds it.
        if before is not None:
            assert self.state.holder == before

    @rule(step=steps)
    def yield_floor(self, step: float) -> None:
        holder = self.state.holder or "nobody"
        self.run(step, lambda s, now: floor.yield_floor(s, holder, now))

    @rule(step=steps)
    def pass_turn(self, step: float) -> None:
        holder = self.state.holder or "nobody"
        self.run(step, lambda s, now: floor.pass_turn(s, holder, now))

    @rule(step=steps)
    def end_turn(self, step: float) -> None:
        self.run(step, floor.end_turn)

    @rule(member=members, step=steps)
    def skip(self, member: str, step: float) -> None:
        self.run(step, lambda s, now: floor.skip(s, member, now))

    @rule(extra=st.sampled_from([-5.0, 10.0, 40.0]), step=steps)
    def extend_turn(self, extra: float, step: float) -> None:
        self.run(step, lambda s, now: floor.extend_turn(s, extra, now))

    @rule(member=members, speaking=st.booleans(), step=steps)
    def voice(self, member: str, speaking: bool, step: float) -> None:
        self.run(step, lambda s, now: floor.voice(s, member, speaking, now))

    @rule(member=members, step=steps, duration=steps)
    def say_something(self, member: str, step: float, duration: float) -> None:
        self.run(step, lambda s, now: floor.voice(s, member, True, now))
        self.run(duration, lambda s, now: floor.voice(s, member, False, now))

    @rule(step=steps, duration=steps)
    def holder_speaks(self, step: float, duration: float) -> None:
        # Whoever holds the floor talks for a while: talk piles up unevenly, so
        # fair-share limits get to shrink.
        holder = self.state.holder or "nobody"
        self.run(step, lambda s, now: floor.voice(s, holder, True, now))
        self.run(duration, lambda s, now: floor.voice(s, holder, False, now))

    @rule(speaking=st.booleans(), step=steps)
    def therapist_voice(self, speaking: bool, step: float) -> None:
        self.run(step, lambda s, now: floor.voice(s, THERAPIST, speaking, now, privileged=True))
        self.therapist_speaking = speaking

    @rule(step=steps)
    def tick(self, step: float) -> None:
        self.run(step, floor.tick)

    # Invariants

    @invariant()
    def one_holder_who_is_present(self) -> None:
        holder = self.state.holder
        assert holder is None or holder in self.state.participants
        assert holder is None or self.state.hand_of(holder) is None
        if self.state.mode is FloorMode.OPEN:
            assert holder is None
        if self.state.mode is FloorMode.GO_AROUND:
            # Mid-round somebody is always due to speak; a finished round has ended.
            assert holder is not None

    @invariant()
    def departed_members_hold_nothing(self) -> None:
        present = set(self.state.participants)
        assert {hand.member for hand in self.state.hands} <= present
        if self.state.go_around is not None:
            assert set(self.state.go_around.order) <= present

    @invariant()
    def queue_has_no_duplicates_and_follows_policy(self) -> None:
        hands = floor.queued_hands(self.state, self.now)
        assert len({hand.member for hand in hands}) == len(hands)
        if self.state.settings.queue_policy is QueuePolicy.FIRST_COME:
            keys: list[tuple[float, ...]] = [(h.raised_at, h.seq) for h in hands]
        else:
            keys = [
                (speaking_seconds(self.state.talk, h.member, self.now), h.raised_at, h.seq)
                for h in hands
            ]
        assert keys == sorted(keys)

    @invariant()
    def go_around_never_gives_a_second_turn(self) -> None:
        go_around = self.state.go_around
        if go_around is None or self.round_grants is None:
            return
        assert set(self.round_grants) <= go_around.taken
        assert all(count == 1 for count in self.round_grants.values())

    @invariant()
    def closed_gates_outside_open_mode(self) -> None:
        present = (*self.state.participants, THERAPIST)
        gates = floor.audio_gates(self.state, present, [THERAPIST])
        assert gates[THERAPIST]
        for member in self.state.participants:
            if self.state.mode is FloorMode.OPEN:
                assert gates[member]
            else:
                assert gates[member] == (member == self.state.holder)

    @invariant()
    def talk_time_matches_the_model_and_elapsed_time(self) -> None:
        report = floor.report(self.state, self.now)
        for row in report.members:
            assert 0.0 <= row.speaking_s <= self.now + 1e-6
            assert row.speaking_s == pytest.approx(self.expected_talk.get(row.member, 0.0))
            assert 0.0 <= row.longest_wait_s <= self.now + 1e-6


FloorMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestFloorProperties = FloorMachine.TestCase
