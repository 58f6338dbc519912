"""Stateful property tests: random command sequences against the pure room engine.

A monotonic clock drives Join/Leave/Disconnect/SetMedia/EndRoom/Tick (plus the
Admit/Remove/LockRoom moderation that seats, revokes and locks) against one room,
individual and group, and the room's invariants are checked after every step.
Refusals of the core commands are checked against a small oracle: a refused
command must be refused for the documented reason, an accepted one must not be,
and a refusal leaves the room exactly as it was.
"""

from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from rooms.commands import (
    Admit,
    AnyCommand,
    Disconnect,
    EndRoom,
    Join,
    Leave,
    LockRoom,
    Remove,
    SetMedia,
    Tick,
)
from rooms.engine import SYSTEM, apply
from rooms.errors import DomainError
from rooms.events import (
    LeaveReason,
    MediaChanged,
    MemberJoined,
    MemberLeft,
    MemberReconnected,
    RoomStateChanged,
)
from rooms.member import Presence
from rooms.roles import Capability, Role, can
from rooms.room import (
    ALLOWED_TRANSITIONS,
    INDIVIDUAL_SEATS,
    AdmitPolicy,
    Room,
    RoomKind,
    RoomPolicy,
    RoomState,
    new_room,
)

T0 = 1_000.0

# Each link carries one role, as a real join token does; a Join may still claim
# another role now and then (the engine must cope with any role it is handed).
LINK_ROLES: dict[str, Role] = {
    "t1": Role.THERAPIST,
    "t2": Role.THERAPIST,
    "p1": Role.PARTICIPANT,
    "p2": Role.PARTICIPANT,
    "p3": Role.PARTICIPANT,
}
MEMBER_IDS = tuple(LINK_ROLES)

member_ids = st.sampled_from(MEMBER_IDS)
# Ending is final, so successful ends (a therapist, the server) are kept rare
# next to refused ones (participants, strangers): most runs stay open for long.
enders = st.sampled_from(("p1", "p2", "p3", "nobody") * 3 + ("t1", "t2", SYSTEM))
role_overrides = st.sampled_from(Role)
# Whole seconds only: boundaries (now - disconnected_at == grace_s) are hit exactly.
steps = st.one_of(
    st.sampled_from([0, 0, 1, 5, 30]),
    st.integers(min_value=0, max_value=40),
    st.sampled_from([120, 400]),
).map(float)
policies = st.builds(
    RoomPolicy,
    grace_s=st.sampled_from([0.0, 5.0, 30.0]),
    max_members=st.integers(min_value=2, max_value=4),
    idle_expiry_s=st.sampled_from([20.0, 120.0, 600.0]),
    unused_expiry_s=st.sampled_from([120.0, 900.0, 3600.0]),
    admit=st.sampled_from(AdmitPolicy),
)

SETTINGS = settings(
    max_examples=100,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def expected_refusal(room: Room, command: AnyCommand) -> str | None:
    """The code the engine must refuse `command` with, or None if it must accept."""
    match command:
        case Join():
            if room.is_over:
                return "room_ended"
            if command.role is Role.OPS:
                return "not_allowed"
            if command.member_id in room.revoked:
                return "token_revoked"
            existing = room.member(command.member_id)
            if existing is not None and existing.seated and command.resume:
                return None
            others = [m for m in room.seated() if m.id != command.member_id]
            if room.kind is RoomKind.INDIVIDUAL:
                same_role = [m for m in others if m.role is command.role]
                if len(same_role) >= INDIVIDUAL_SEATS[command.role]:
                    return "seat_taken"
            elif len(others) >= room.policy.max_members:
                return "room_full"
            returning = existing is not None and existing.seated
            if room.locked and not returning and command.role is not Role.THERAPIST:
                return "room_locked"
            return None
        case SetMedia():
            if room.is_over:
                return "room_ended"
            member = room.member(command.member_id)
            if member is None or not member.seated:
                return "not_joined"
            return None
        case EndRoom():
            if room.is_over or command.by == SYSTEM:
                return None
            member = room.member(command.by)
            if member is None or not member.seated:
                return "not_joined"
            if not member.admitted:
                return "waiting"
            if not can(member.role, Capability.MODERATE):
                return "not_allowed"
            return None
    return None


# Commands whose refusals the oracle above predicts; the rest only need a code.
ORACLE = (Join, SetMedia, EndRoom, Leave, Disconnect, Tick)


class RoomMachine(RuleBasedStateMachine):
    kind: RoomKind = RoomKind.INDIVIDUAL

    def __init__(self) -> None:
        super().__init__()
        self.room: Room | None = None
        self.now = T0
        self.last_tick: float | None = None
        self.max_epoch: dict[str, int] = {}
        self.terminal_state: RoomState | None = None
        # Members a moderator removed or denied: their links must stay dead.
        self.expelled: set[str] = set()
        self.state_log: list[RoomState] = []

    # ------------------------------------------------------------- plumbing

    @initialize(
        policy=policies,
        revoked=st.frozensets(member_ids, max_size=2),
        arrivals=st.lists(member_ids, max_size=3, unique=True),
    )
    def create(self, policy: RoomPolicy, revoked: frozenset[str], arrivals: list[str]) -> None:
        self.room = replace(new_room("room", self.kind, T0, policy), revoked=revoked)
        self.state_log.append(self.room.state)
        # Often a session is under way before the random steps start.
        for member_id in arrivals:
            self.do(Join(member_id, LINK_ROLES[member_id], f"Person {member_id}", T0))

    def advance(self, dt: float) -> float:
        self.now += dt
        return self.now

    def do(self, command: AnyCommand) -> None:
        before = self.room
        assert before is not None
        # Everything is frozen, so repr is a faithful and cheap snapshot.
        snapshot = repr(before)
        checked = isinstance(command, ORACLE)
        expected = expected_refusal(before, command)
        try:
            after, events = apply(before, command)
        except DomainError as err:
            assert isinstance(err.code, str)
            assert err.code, f"refusal of {command!r} has an empty code"
            assert err.message
            if checked:
                assert err.code == expected, f"{command!r} refused: {err.code}, want {expected}"
            # No partial state: the room we hold is exactly what it was.
            assert repr(before) == snapshot
            return
        if checked:
            assert expected is None, f"{command!r} accepted, want refusal {expected}"
        assert repr(before) == snapshot, "apply mutated its input room"
        assert before.revoked <= after.revoked, "a revoked link came back"

        state = before.state
        for event in events:
            if isinstance(event, RoomStateChanged):
                assert event.old == state, f"{event!r} but room was {state}"
                assert event.new in ALLOWED_TRANSITIONS[event.old], f"illegal {event!r}"
                state = event.new
                self.state_log.append(state)
            elif isinstance(event, MemberJoined):
                assert event.member == after.member(event.member.id)
                # A fresh join bumps the epoch: peers must drop the old connection.
                previous = before.member(event.member.id)
                want = 1 if previous is None else previous.epoch + 1
                assert event.member.epoch == want, f"{event!r} after {previous!r}"
            elif isinstance(event, MediaChanged):
                previous = before.member(event.member.id)
                assert previous is not None and previous != event.member, "no change"
            elif isinstance(event, MemberReconnected):
                # A resume keeps the peer connection, hence the epoch.
                previous = before.member(event.member.id)
                assert previous is not None and previous.seated
                assert event.member.epoch == previous.epoch
            elif isinstance(event, MemberLeft):
                assert not event.member.seated
                if event.reason in (LeaveReason.REMOVED, LeaveReason.DENIED):
                    self.expelled.add(event.member.id)
        assert after.state == state, "state changed without a RoomStateChanged event"

        if before.is_over:
            assert (after, events) == (before, ()), "an ended/expired room changed"
        if isinstance(command, Tick):
            self.last_tick = command.now
        self.room = after

    # ----------------------------------------------------------------- rules

    # Joins drive everything else, so there are three rules for them.

    @rule(member_id=member_ids, dt=steps)
    def join(self, member_id: str, dt: float) -> None:
        """A fresh page (or a second tab) opening the link."""
        role = LINK_ROLES[member_id]
        self.do(Join(member_id, role, f"Person {member_id}", self.advance(dt)))

    @rule(member_id=member_ids, dt=steps)
    def resume(self, member_id: str, dt: float) -> None:
        """The same page coming back after a transport drop."""
        role = LINK_ROLES[member_id]
        self.do(Join(member_id, role, f"Person {member_id}", self.advance(dt), resume=True))

    @rule(member_id=member_ids, role=role_overrides, resume=st.booleans(), dt=steps)
    def join_as(self, member_id: str, role: Role, resume: bool, dt: float) -> None:
        """Any role for any id, ops included: the engine trusts only the role it is given."""
        now = self.advance(dt)
        self.do(Join(member_id, role, f"Person {member_id}", now, resume=resume))

    @rule(member_id=member_ids, dt=steps)
    def leave(self, member_id: str, dt: float) -> None:
        self.do(Leave(member_id, self.advance(dt)))

    @rule(member_id=member_ids, dt=steps)
    def disconnect(self, member_id: str, dt: float) -> None:
        self.do(Disconnect(member_id, self.advance(dt)))

    @rule(member_id=member_ids, audio=st.booleans(), video=st.booleans(), dt=steps)
    def set_media(self, member_id: str, audio: bool, video: bool, dt: float) -> None:
        self.do(SetMedia(member_id, audio=audio, video=video, now=self.advance(dt)))

    @rule(by=enders, dt=steps)
    def end_room(self, by: str, dt: float) -> None:
        self.do(EndRoom(by=by, now=self.advance(dt)))

    # Moderation (group rooms; refused with a code in individual ones): admitting
    # exercises the waiting room, removing is how links get revoked mid-session.

    def _moderator(self, data: st.DataObject) -> str:
        """Mostly a seated therapist (so moderation happens), else anyone (refused)."""
        assert self.room is not None
        therapists = [m.id for m in self.room.seated() if m.role is Role.THERAPIST]
        return data.draw(st.sampled_from([*therapists * 4, *MEMBER_IDS, "nobody"]))

    def _target(self, data: st.DataObject) -> str:
        """Mostly a seated participant, else any id."""
        assert self.room is not None
        seated = [m.id for m in self.room.seated() if m.role is Role.PARTICIPANT]
        return data.draw(st.sampled_from([*seated * 4, *MEMBER_IDS]))

    @rule(data=st.data(), dt=steps)
    def admit(self, data: st.DataObject, dt: float) -> None:
        by, member_id = self._moderator(data), self._target(data)
        self.do(Admit(by=by, member_id=member_id, now=self.advance(dt)))

    @rule(data=st.data(), dt=steps)
    def remove(self, data: st.DataObject, dt: float) -> None:
        by, member_id = self._moderator(data), self._target(data)
        self.do(Remove(by=by, member_id=member_id, now=self.advance(dt)))

    @rule(data=st.data(), locked=st.sampled_from([True, True, False]), dt=steps)
    def lock(self, data: st.DataObject, locked: bool, dt: float) -> None:
        by = self._moderator(data)
        self.do(LockRoom(by=by, locked=locked, now=self.advance(dt)))

    @rule(dt=steps)
    def tick(self, dt: float) -> None:
        self.do(Tick(self.advance(dt)))

    def _grace_deadlines(self) -> list[float]:
        assert self.room is not None
        return sorted(
            m.disconnected_at + self.room.policy.grace_s
            for m in self.room.members
            if m.presence is Presence.DISCONNECTED and m.disconnected_at is not None
        )

    @precondition(lambda self: bool(self._grace_deadlines()))
    @rule(offset=st.sampled_from([-1.0, 0.0, 0.0]))
    def tick_at_grace_deadline(self, offset: float) -> None:
        # Land exactly on (or just before) a grace deadline: the boundary is >=.
        self.now = max(self.now, self._grace_deadlines()[0] + offset)
        self.do(Tick(self.now))

    @precondition(lambda self: self.room is not None and bool(self.room.connected()))
    @rule(data=st.data(), wait=st.sampled_from([-1.0, 0.0, 0.0, 1.0]), dt=steps)
    def drop_and_wait(self, data: st.DataObject, wait: float, dt: float) -> None:
        """A connected member's transport drops; time runs to around the grace deadline."""
        assert self.room is not None
        member_id = data.draw(st.sampled_from([m.id for m in self.room.connected()]))
        self.do(Disconnect(member_id, self.advance(dt)))
        self.now = max(self.now, self.now + self.room.policy.grace_s + wait)
        self.do(Tick(self.now))

    # ------------------------------------------------------------ invariants

    @invariant()
    def seats_within_limits(self) -> None:
        assert self.room is not None
        seated = self.room.seated()
        assert all(m.role is not Role.OPS for m in seated), "ops member seated"
        if self.room.kind is RoomKind.INDIVIDUAL:
            for role in Role:
                count = sum(1 for m in seated if m.role is role)
                assert count <= INDIVIDUAL_SEATS.get(role, 0), f"{count} x {role} seated"
        else:
            assert len(seated) <= self.room.policy.max_members

    @invariant()
    def member_ids_unique(self) -> None:
        assert self.room is not None
        ids = [m.id for m in self.room.members]
        assert len(ids) == len(set(ids))

    @invariant()
    def epochs_never_decrease(self) -> None:
        assert self.room is not None
        for member in self.room.members:
            assert member.epoch >= 1
            assert member.epoch >= self.max_epoch.get(member.id, 1), member
            self.max_epoch[member.id] = member.epoch
        # A member once seen never vanishes from the roster (epochs are kept).
        assert set(self.max_epoch) <= {m.id for m in self.room.members}

    @invariant()
    def over_is_final_and_empty(self) -> None:
        assert self.room is not None
        if self.terminal_state is not None:
            assert self.room.state == self.terminal_state, "left a terminal state"
        if self.room.is_over:
            assert self.room.seated() == ()
            self.terminal_state = self.room.state

    @invariant()
    def grace_enforced_by_tick(self) -> None:
        assert self.room is not None
        for member in self.room.members:
            if member.presence is Presence.DISCONNECTED:
                assert member.disconnected_at is not None
                if self.last_tick is not None:
                    held = self.last_tick - member.disconnected_at
                    assert held < self.room.policy.grace_s, f"{member} outlived grace"
            else:
                assert member.disconnected_at is None

    @invariant()
    def revoked_never_seated(self) -> None:
        assert self.room is not None
        assert self.expelled <= self.room.revoked, "a removed member's link still works"
        assert not {m.id for m in self.room.seated()} & self.room.revoked

    @invariant()
    def only_allowed_transitions(self) -> None:
        for old, new in zip(self.state_log, self.state_log[1:], strict=False):
            assert new in ALLOWED_TRANSITIONS[old], f"{old} -> {new}"
        if self.room is not None:
            assert self.room.state == self.state_log[-1]


class IndividualRoomMachine(RoomMachine):
    kind = RoomKind.INDIVIDUAL


class GroupRoomMachine(RoomMachine):
    kind = RoomKind.GROUP


TestIndividualRoom = IndividualRoomMachine.TestCase
TestIndividualRoom.settings = SETTINGS
TestGroupRoom = GroupRoomMachine.TestCase
TestGroupRoom.settings = SETTINGS
