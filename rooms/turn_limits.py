"""The limit a turn is granted with: the base limit, or a fair-share limit.

With `FloorSettings.fair_share_limits`, a member who has had more than their fair
share of the group's talk so far (1/N of what the N present participants have said)
gets a shorter turn in hand-queue and directed modes:

    limit = base * clamp(fair_share / member_share, floor / base, 1)

where `floor = max(fair_share_min_s, fair_share_min_fraction * base)` (never more than
the base itself), so nobody is cut to nothing. Members at or below their fair share
keep the full base limit. Go-around turns are equal by design and always get
`go_around_turn_s`. The limit is computed once, when the floor is granted, from the
talk-time ledger; it is what `Turn.limit_s` and `FloorGranted.limit_s` carry.
"""

from __future__ import annotations

from collections.abc import Sequence

from rooms.floor.state import FloorSettings, FloorState
from rooms.talk_time import speaking_seconds


def fair_share_floor_s(settings: FloorSettings, base_s: float) -> float:
    """The shortest limit a fair-share turn can have under `base_s`."""
    return min(base_s, max(settings.fair_share_min_s, settings.fair_share_min_fraction * base_s))


def fair_share_limit(
    settings: FloorSettings, base_s: float, member_s: float, present_s: Sequence[float]
) -> float:
    """The turn limit for a member who has spoken `member_s` seconds, when the present
    participants (the member among them) have spoken `present_s` seconds each.

    fair_share / member_share = (total / N) / member_s: the member's talk against the
    group's mean. Nobody has spoken yet, or the member is at or under the mean: the
    full base limit.
    """
    total = sum(present_s)
    count = len(present_s)
    if count == 0 or total <= 0 or member_s * count <= total:
        return base_s
    ratio = total / (count * member_s)
    return min(base_s, max(fair_share_floor_s(settings, base_s), base_s * ratio))


def granted_limit(state: FloorState, member: str, now: float) -> float | None:
    """The limit of a turn given to `member` at `now` (None: no limit)."""
    settings = state.settings
    if state.go_around is not None:
        return settings.go_around_turn_s
    base_s = settings.turn_limit_s
    if base_s is None or not settings.fair_share_limits:
        return base_s
    present_s = [speaking_seconds(state.talk, m, now) for m in state.participants]
    member_s = speaking_seconds(state.talk, member, now)
    return fair_share_limit(settings, base_s, member_s, present_s)
