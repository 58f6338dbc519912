"""Fairness of turn-taking policies in a simulated 60-minute group of 10.

Drives the real floor domain (`rooms.floor.engine`) with simulated members and compares:

- first_come:        hand queue served in raise order, every turn the same fixed limit
                     (what Jitsi and BigBlueButton do; the baseline)
- least_talk_first:  our hand queue with its defaults: served by least talk time so
                     far, then earliest raise, with fair-share turn limits (a member
                     over 1/N of the talk so far gets a shorter turn)
- least_talk_first_order_only: the same order with fair-share limits off, so the
                     effect of each part shows
- go_around:         back-to-back check-in rounds for the whole hour
- check_in_then_least_talk: one check-in round, then our default hand queue
                     (how an IOP group is usually run; reported for context)
- least_talk_first_invitations: our default hand queue, and a simulated therapist
                     who, whenever the floor is free, invites the member silent
                     longest (`floor.invite`) once they have been silent
                     INVITE_AFTER_S; each member takes an invitation with their own
                     probability (quiet members 50%) or passes, and is not invited
                     again for PASS_RESPECTED_S after passing

Members are unequal on purpose: two dominant talkers raise their hand five times as
often and speak three times as long as average; two quiet ones raise rarely; six are
average. Each turn's length is drawn from the speaker's own distribution. The same
base turn limit (120 s, turn ends at the limit) applies under every policy; under
fair-share limits it is the most a turn can get. A member cut off at their limit stops
talking and gets more time only by raising their hand again, at their usual rate. The
floor auto-advances to the head of the queue, so no simulated therapist
picks favourites. Nobody lowers a hand out of impatience, so long waits show up
rather than disappearing. The therapist's own speech is not simulated.

Human-readable lines first; the last line is one JSON object with the figures.
Usage: python benchmarks/fairness.py [--seed N] [--sweep K]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from dataclasses import dataclass

from rooms.floor import engine as floor
from rooms.floor.events import (
    FloorEvent,
    FloorGranted,
    FloorOutcome,
    FloorReleased,
    GrantReason,
    HandLowered,
    HandLoweredReason,
    ReleaseReason,
)
from rooms.floor.state import (
    FloorMode,
    FloorSettings,
    FloorState,
    QueuePolicy,
    TurnLimitAction,
    new_floor,
)
from rooms.speaking_timer import seconds_until_next_deadline

SESSION_S = 60 * 60.0
STEP_S = 1.0
TURN_LIMIT_S = 120.0
# Fair-share limits: the product defaults (FloorSettings): the shortest turn is
# max(30 s, 0.25 x base), 30 s under the 120 s base. Override with --fair-share-min-s
# and --fair-share-min-fraction to see how much the floor matters.
FAIR_SHARE_DEFAULTS = FloorSettings()


@dataclass(frozen=True)
class FairShareFloor:
    min_s: float = FAIR_SHARE_DEFAULTS.fair_share_min_s
    min_fraction: float = FAIR_SHARE_DEFAULTS.fair_share_min_fraction


AVERAGE_RAISES_PER_HOUR = 4.0
AVERAGE_TURN_S = 45.0
TURN_LENGTH_SIGMA = 0.6
DEFAULT_SEED = 20240611
# The simulated therapist's invitations: only to someone the panel flags (silent
# this long: the panel's default cue, "Sam: nothing in 20 min"), and a member who
# passed is not asked again for a while.
INVITE_AFTER_S = 20 * 60.0
PASS_RESPECTED_S = 10 * 60.0
INVITATIONS = "least_talk_first_invitations"
# The targets for invitations, at the default seed.
INVITATIONS_GINI_TARGET = 0.45


@dataclass(frozen=True)
class Profile:
    kind: str
    raises_per_hour: float
    mean_turn_s: float
    # Chance of passing when a check-in turn comes round.
    go_around_pass_chance: float
    # Chance of taking the floor when the therapist invites them.
    accepts_invitation: float


def make_group(average_raises_per_hour: float) -> dict[str, Profile]:
    """Ten members by id: two dominant, two quiet, six average."""
    dominant = Profile("dominant", 5 * average_raises_per_hour, 3 * AVERAGE_TURN_S, 0.0, 0.95)
    average = Profile("average", average_raises_per_hour, AVERAGE_TURN_S, 0.05, 0.8)
    quiet = Profile("quiet", 0.2 * average_raises_per_hour, AVERAGE_TURN_S, 0.3, 0.5)
    profiles = (dominant, dominant, quiet, quiet, *([average] * 6))
    return {f"{profile.kind}-{i}": profile for i, profile in enumerate(profiles)}


GROUP = make_group(AVERAGE_RAISES_PER_HOUR)


@dataclass(frozen=True)
class Policy:
    name: str
    queue_policy: QueuePolicy
    # Check-in rounds at the start; None means rounds all session long.
    go_around_rounds: int | None
    # Fair-share turn limits (FloorSettings.fair_share_limits).
    fair_share_limits: bool = True
    # A simulated therapist invites the member silent longest when the floor is free.
    invitations: bool = False


POLICIES = (
    Policy("first_come", QueuePolicy.FIRST_COME, 0, fair_share_limits=False),
    Policy("least_talk_first", QueuePolicy.LEAST_TALK_FIRST, 0),
    Policy("least_talk_first_order_only", QueuePolicy.LEAST_TALK_FIRST, 0, fair_share_limits=False),
    Policy("go_around", QueuePolicy.LEAST_TALK_FIRST, None),
    Policy("check_in_then_least_talk", QueuePolicy.LEAST_TALK_FIRST, 1),
    Policy("least_talk_first_invitations", QueuePolicy.LEAST_TALK_FIRST, 0, invitations=True),
)


@dataclass(frozen=True)
class Outcome:
    policy: str
    talk_s: dict[str, float]
    turns: dict[str, int]
    longest_wait_s: float
    raised: frozenset[str]
    # Every wait of a hand that ended with the floor, by member.
    waits_s: dict[str, tuple[float, ...]]
    # Each member's longest wait of a raised hand (hands still up count so far).
    longest_wait_by_member: dict[str, float]
    invitations: int = 0
    invitations_taken: int = 0

    @property
    def spoke_share(self) -> float:
        return sum(1 for s in self.talk_s.values() if s > 0) / len(self.talk_s)

    @property
    def gini(self) -> float:
        return gini(list(self.talk_s.values()))

    @property
    def raised_never_served(self) -> tuple[str, ...]:
        return tuple(m for m in self.turns if m in self.raised and self.turns[m] == 0)

    def mean_wait_s(self, kind: str) -> float | None:
        waits = [w for m, ws in self.waits_s.items() if m.startswith(kind) for w in ws]
        return sum(waits) / len(waits) if waits else None


def gini(values: list[float]) -> float:
    """0 when everyone talked equally, towards 1 when one person did all the talking."""
    total = sum(values)
    if total == 0:
        return 0.0
    pair_gaps = sum(abs(a - b) for a in values for b in values)
    return pair_gaps / (2 * len(values) * total)


def dominant_only_gini_bound(outcome: Outcome) -> float:
    """The lowest Gini any policy could reach by changing only the dominant members'
    talk time, with everyone else's talk as it was in `outcome`.

    Gini is quasi-convex and symmetric, so equal talk for the dominant members is
    optimal; search that in 1 s steps. A hand queue cannot make a member who does not
    raise a hand speak, nor make an average member ask for more, so when this bound is
    above a target, no turn limit or queue order for the dominant talkers reaches it.
    """
    dominant = [m for m in outcome.talk_s if m.startswith("dominant")]
    others = [s for m, s in outcome.talk_s.items() if m not in dominant]
    return min(gini([float(d)] * len(dominant) + others) for d in range(int(SESSION_S) + 1))


class Session:
    """One simulated hour under one policy. Only the members are simulated; every
    floor decision is made by `rooms.floor.engine`."""

    def __init__(
        self,
        policy: Policy,
        seed: int,
        group: dict[str, Profile],
        fair_floor: FairShareFloor = FairShareFloor(),
        invite_after_s: float = INVITE_AFTER_S,
    ) -> None:
        self.policy = policy
        self.invite_after_s = invite_after_s
        self.profiles = group
        settings = FloorSettings(
            queue_policy=policy.queue_policy,
            auto_advance=True,
            turn_limit_s=TURN_LIMIT_S,
            go_around_turn_s=TURN_LIMIT_S,
            on_turn_limit=TurnLimitAction.ADVANCE,
            fair_share_limits=policy.fair_share_limits,
            fair_share_min_fraction=fair_floor.min_fraction,
            fair_share_min_s=fair_floor.min_s,
        )
        self.state: FloorState = new_floor(0.0, settings)
        # One random stream per member, seeded the same under every policy.
        self.rngs = {m: random.Random(seed * 1000 + i) for i, m in enumerate(group)}
        self.speaks_until: dict[str, float] = {}
        self.raised: set[str] = set()
        self.waits_s: dict[str, list[float]] = {m: [] for m in group}
        self.rounds_started = 0
        # Invitation answers have streams of their own, so that inviting does not shift
        # a member's raises and turn lengths against the other policies.
        self.answer_rngs = {m: random.Random(seed * 1000 + 500 + i) for i, m in enumerate(group)}
        self.last_heard = dict.fromkeys(group, 0.0)
        self.passed_at: dict[str, float] = {}
        self.invitations = 0
        self.invitations_taken = 0

    def apply(self, outcome: FloorOutcome, now: float) -> None:
        self.state, events = outcome
        self.react(events, now)

    def react(self, events: tuple[FloorEvent, ...], now: float) -> None:
        for event in events:
            if isinstance(event, FloorGranted) and event.reason is GrantReason.INVITED:
                self.answer_invitation(event.member, now)
            elif isinstance(event, FloorGranted):
                self.start_turn(event.member, now)
            elif isinstance(event, HandLowered) and event.reason is HandLoweredReason.GOT_FLOOR:
                self.waits_s[event.member].append(event.waited_s)
            elif isinstance(event, FloorReleased) and event.reason is not ReleaseReason.LEFT:
                # Cut off or done: the member stops talking.
                if self.speaks_until.pop(event.member, None) is not None:
                    self.last_heard[event.member] = now
                self.apply(floor.voice(self.state, event.member, False, now), now)

    def start_turn(self, member: str, now: float) -> None:
        profile, rng = self.profiles[member], self.rngs[member]
        if self.state.mode is FloorMode.GO_AROUND and rng.random() < profile.go_around_pass_chance:
            self.apply(floor.pass_turn(self.state, member, now), now)
            return
        mu = math.log(profile.mean_turn_s) - TURN_LENGTH_SIGMA**2 / 2
        self.speaks_until[member] = now + rng.lognormvariate(mu, TURN_LENGTH_SIGMA)
        self.apply(floor.voice(self.state, member, True, now), now)

    def answer_invitation(self, member: str, now: float) -> None:
        self.invitations += 1
        if self.answer_rngs[member].random() < self.profiles[member].accepts_invitation:
            self.invitations_taken += 1
            self.start_turn(member, now)
            return
        self.passed_at[member] = now
        self.apply(floor.pass_turn(self.state, member, now), now)

    def invite_if_due(self, now: float) -> None:
        """The therapist's move when the floor is free: the member silent longest, once
        the panel flags them, unless they passed an invitation recently."""
        if self.state.mode is not FloorMode.HAND_QUEUE or self.state.holder is not None:
            return
        candidates = [
            m
            for m in self.state.participants
            if now - self.last_heard[m] >= self.invite_after_s
            and now - self.passed_at.get(m, -math.inf) >= PASS_RESPECTED_S
        ]
        if candidates:
            quietest = min(candidates, key=lambda m: self.last_heard[m])
            self.apply(floor.invite(self.state, quietest, now), now)

    def start_round_if_due(self, now: float) -> None:
        rounds = self.policy.go_around_rounds
        if self.state.mode is FloorMode.GO_AROUND:
            return
        if rounds is None or self.rounds_started < rounds:
            self.rounds_started += 1
            self.apply(floor.set_mode(self.state, FloorMode.GO_AROUND, now), now)
        elif self.state.mode is not FloorMode.HAND_QUEUE:
            self.apply(floor.set_mode(self.state, FloorMode.HAND_QUEUE, now), now)

    def step(self, now: float) -> None:
        holder = self.state.holder
        if holder is not None and now >= self.speaks_until.get(holder, math.inf):
            self.apply(floor.yield_floor(self.state, holder, now), now)
        # A server may sleep until the timer's next deadline instead of ticking blindly.
        if seconds_until_next_deadline(self.state, now) == 0.0:
            self.apply(floor.tick(self.state, now), now)
        self.start_round_if_due(now)
        if self.state.mode is not FloorMode.HAND_QUEUE:
            return
        for member in self.profiles:
            if member == self.state.holder or self.state.hand_of(member) is not None:
                continue
            rate_per_s = self.profiles[member].raises_per_hour / 3600.0
            if self.rngs[member].random() < rate_per_s * STEP_S:
                self.raised.add(member)
                self.apply(floor.raise_hand(self.state, member, now), now)
        if self.policy.invitations:
            self.invite_if_due(now)

    def run(self) -> Outcome:
        for member in self.profiles:
            self.apply(floor.join(self.state, member, 0.0), 0.0)
        self.apply(floor.set_mode(self.state, FloorMode.DIRECTED, 0.0), 0.0)
        now = 0.0
        while now < SESSION_S:
            self.step(now)
            now += STEP_S
        report = floor.report(self.state, SESSION_S)
        rows = {row.member: row for row in report.members}
        return Outcome(
            policy=self.policy.name,
            talk_s={m: rows[m].speaking_s for m in self.profiles},
            turns={m: rows[m].turns for m in self.profiles},
            longest_wait_s=max(row.longest_wait_s for row in report.members),
            raised=frozenset(self.raised),
            waits_s={m: tuple(ws) for m, ws in self.waits_s.items()},
            longest_wait_by_member={m: rows[m].longest_wait_s for m in self.profiles},
            invitations=self.invitations,
            invitations_taken=self.invitations_taken,
        )


def simulate(
    seed: int,
    group: dict[str, Profile] = GROUP,
    fair_floor: FairShareFloor = FairShareFloor(),
    invite_after_s: float = INVITE_AFTER_S,
) -> dict[str, Outcome]:
    return {
        policy.name: Session(policy, seed, group, fair_floor, invite_after_s).run()
        for policy in POLICIES
    }


def waits_made_worse(runs: list[dict[str, Outcome]], policy: str) -> tuple[list[str], int]:
    """Members whose longest wait over the whole sweep is longer under `policy` than under
    our default, and how many (member, seed) pairs are longer, as a stricter reading."""
    members = list(runs[0][policy].longest_wait_by_member)

    def longest(name: str, member: str) -> float:
        return max(run[name].longest_wait_by_member[member] for run in runs)

    worse = [m for m in members if longest(policy, m) > longest("least_talk_first", m) + 1e-9]
    pairs = sum(
        run[policy].longest_wait_by_member[m]
        > run["least_talk_first"].longest_wait_by_member[m] + 1e-9
        for run in runs
        for m in members
    )
    return worse, pairs


KINDS = ("dominant", "average", "quiet")


def describe(outcome: Outcome) -> list[str]:
    total = sum(outcome.talk_s.values())
    longest = f"{outcome.longest_wait_s:.0f} s" if outcome.raised else "- (no hands raised)"
    lines = [
        f"{outcome.policy}: spoke {outcome.spoke_share:.0%}, gini {outcome.gini:.3f}, "
        f"longest wait of a hand {longest}, members talking {total / SESSION_S:.0%}"
        f" of the hour, raised a hand but never served: {len(outcome.raised_never_served)}"
    ]
    for kind in KINDS:
        members = [m for m in outcome.talk_s if m.startswith(kind)]
        talk = " / ".join(f"{outcome.talk_s[m]:.0f}" for m in members)
        turns = " / ".join(str(outcome.turns[m]) for m in members)
        wait = outcome.mean_wait_s(kind)
        wait_text = "-" if wait is None else f"{wait:.0f} s"
        lines.append(
            f"    {kind:>8}: talk {talk} s; turns {turns}; mean wait for the floor {wait_text}"
        )
    return lines


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--sweep",
        type=int,
        default=10,
        help="also run this many further seeds, at two levels of demand (0 to skip)",
    )
    parser.add_argument(
        "--fair-share-min-s",
        type=float,
        default=FAIR_SHARE_DEFAULTS.fair_share_min_s,
        help="shortest fair-share turn in seconds (product default %(default)g)",
    )
    parser.add_argument(
        "--fair-share-min-fraction",
        type=float,
        default=FAIR_SHARE_DEFAULTS.fair_share_min_fraction,
        help="shortest fair-share turn as a fraction of the base (default %(default)g)",
    )
    parser.add_argument(
        "--invite-after-min",
        type=float,
        default=INVITE_AFTER_S / 60,
        help="the simulated therapist invites members silent this long (default %(default)g)",
    )
    args = parser.parse_args(argv)
    fair_floor = FairShareFloor(args.fair_share_min_s, args.fair_share_min_fraction)
    invite_after_s = args.invite_after_min * 60

    print(
        f"group of {len(GROUP)} for {SESSION_S / 60:.0f} min, seed {args.seed}; average member "
        f"raises {AVERAGE_RAISES_PER_HOUR:g}/h and speaks {AVERAGE_TURN_S:g} s on average; "
        f"base turn limit {TURN_LIMIT_S:g} s under every policy (first come: fixed, as in"
        f" Jitsi/BBB; least_talk_first: shrinks towards"
        f" max({fair_floor.min_s:g} s, {fair_floor.min_fraction:g} x base) above fair"
        f" share); auto-advance on"
    )
    outcomes = simulate(args.seed, GROUP, fair_floor, invite_after_s)
    for outcome in outcomes.values():
        print("\n".join(describe(outcome)))

    first_come, least_talk = outcomes["first_come"], outcomes["least_talk_first"]
    go_around = outcomes["go_around"]
    figures: dict[str, object] = {"seed": args.seed, "session_s": SESSION_S}
    for name, outcome in outcomes.items():
        figures[f"spoke_share_{name}"] = outcome.spoke_share
        figures[f"gini_{name}"] = round(outcome.gini, 4)
        figures[f"raised_never_served_{name}"] = len(outcome.raised_never_served)
        if name != "go_around":  # nobody raises a hand in back-to-back rounds
            figures[f"max_wait_s_{name}"] = round(outcome.longest_wait_s, 1)
            for kind in KINDS:
                wait = outcome.mean_wait_s(kind)
                figures[f"mean_wait_s_{kind}_{name}"] = None if wait is None else round(wait, 1)
    target = first_come.gini / 2
    bound = dominant_only_gini_bound(least_talk)
    figures["gini_target"] = round(target, 4)
    figures["gini_bound_dominant_only_least_talk_first"] = round(bound, 4)
    figures["fair_share_min_s"] = fair_floor.min_s
    figures["fair_share_min_fraction"] = fair_floor.min_fraction
    figures["turn_limit_s"] = TURN_LIMIT_S
    invited = outcomes[INVITATIONS]
    figures[f"invite_after_s_{INVITATIONS}"] = invite_after_s
    figures[f"invitations_{INVITATIONS}"] = invited.invitations
    figures[f"invitations_taken_{INVITATIONS}"] = invited.invitations_taken
    print(
        f"{INVITATIONS}: {invited.invitations} invitations ({invited.invitations_taken} taken)"
        f" to members silent {invite_after_s / 60:g} min or more"
    )
    figures["targets"] = {
        "every_raised_hand_served_first_come": not first_come.raised_never_served,
        "every_raised_hand_served_least_talk_first": not least_talk.raised_never_served,
        "everyone_spoke_go_around": go_around.spoke_share == 1.0,
        "gini_least_talk_first_at_most_half_first_come": least_talk.gini <= target,
        f"everyone_spoke_{INVITATIONS}": invited.spoke_share == 1.0,
        f"gini_{INVITATIONS}_at_most_{INVITATIONS_GINI_TARGET:g}": invited.gini
        <= INVITATIONS_GINI_TARGET,
    }
    print(
        f"gini target (half of first come): {target:.3f}; least_talk_first {least_talk.gini:.3f}"
        f" (order only {outcomes['least_talk_first_order_only'].gini:.3f}) -> "
        + ("met" if least_talk.gini <= target else "MISSED")
        + f"; lowest gini reachable by changing only the dominant members' talk: {bound:.3f}"
    )

    if args.sweep:
        seeds = range(args.seed + 1, args.seed + 1 + args.sweep)
        print(f"sweep over {args.sweep} further seeds (mean gini; mean longest wait):")
        sweep: dict[str, object] = {}
        for raises_per_hour in (AVERAGE_RAISES_PER_HOUR, 2 * AVERAGE_RAISES_PER_HOUR):
            group = make_group(raises_per_hour)
            runs = [simulate(seed, group, fair_floor, invite_after_s) for seed in seeds]
            parts = []
            for name in outcomes:
                gini_mean = mean([run[name].gini for run in runs])
                wait_mean = mean([run[name].longest_wait_s for run in runs])
                parts.append(f"{name} {gini_mean:.3f}; {wait_mean:.0f} s")
                sweep[f"gini_mean_{name}_{raises_per_hour:g}_per_h"] = round(gini_mean, 4)
            halved = sum(r["least_talk_first"].gini <= r["first_come"].gini / 2 for r in runs)
            reachable = sum(
                dominant_only_gini_bound(r["least_talk_first"]) <= r["first_come"].gini / 2
                for r in runs
            )
            unserved = {
                name: sum(len(r[name].raised_never_served) for r in runs)
                for name in ("first_come", "least_talk_first")
            }
            everyone = sum(r["go_around"].spoke_share == 1.0 for r in runs)
            worse, worse_pairs = waits_made_worse(runs, INVITATIONS)
            rate = f"{raises_per_hour:g}_per_h"
            sweep[f"members_longest_wait_worse_{INVITATIONS}_{rate}"] = worse
            sweep[f"member_seed_pairs_wait_worse_{INVITATIONS}_{rate}"] = worse_pairs
            sweep[f"everyone_spoke_runs_{INVITATIONS}_{rate}"] = sum(
                r[INVITATIONS].spoke_share == 1.0 for r in runs
            )
            sweep[f"gini_halved_runs_{raises_per_hour:g}_per_h"] = halved
            sweep[f"gini_halving_reachable_runs_{raises_per_hour:g}_per_h"] = reachable
            for name, count in unserved.items():
                sweep[f"raised_never_served_{name}_{raises_per_hour:g}_per_h"] = count
            print(
                f"  average member raising {raises_per_hour:g}/h: "
                + " | ".join(parts)
                + f" | gini halved in {halved}/{len(runs)} (reachable at all by limiting the"
                f" dominant members: {reachable}/{len(runs)}); raised but never served:"
                f" first come {unserved['first_come']}, least talk first"
                f" {unserved['least_talk_first']}; go-around everyone spoke"
                f" {everyone}/{len(runs)}"
            )
            print(
                f"    {INVITATIONS}: members whose longest wait over the sweep is longer than"
                f" under least_talk_first: {worse or 'none'}; (member, seed) pairs with a"
                f" longer longest wait: {worse_pairs}/{len(runs) * len(group)}"
            )
        figures["sweep_seeds"] = args.sweep
        figures["sweep"] = sweep

    print(json.dumps(figures, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
