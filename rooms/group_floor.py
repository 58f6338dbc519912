"""Floor control as room commands: capability checks, then rooms.floor.engine does the work."""

from __future__ import annotations

from dataclasses import replace

from rooms.authority import require_capability, require_group
from rooms.commands import (
    ChangeFloorSettings,
    EndTurn,
    ExtendTurn,
    FloorCommand,
    GiveFloor,
    GrantNext,
    InviteToSpeak,
    LowerHand,
    PassTurn,
    RaiseHand,
    SetFloorMode,
    SkipTurn,
    Voice,
    YieldFloor,
)
from rooms.events import FloorChanged, Outcome
from rooms.floor import engine as floor
from rooms.floor.events import FloorEvent, FloorOutcome
from rooms.floor.state import FloorState
from rooms.member import Presence
from rooms.roles import Capability, Role
from rooms.room import Room

REQUIRED: dict[type, Capability] = {
    **dict.fromkeys(
        (
            SetFloorMode,
            ChangeFloorSettings,
            GrantNext,
            GiveFloor,
            InviteToSpeak,
            EndTurn,
            SkipTurn,
            ExtendTurn,
        ),
        Capability.CONTROL_FLOOR,
    ),
    **dict.fromkeys((RaiseHand, LowerHand, YieldFloor, PassTurn), Capability.RAISE_HAND),
}


def apply_floor(room: Room, command: FloorCommand) -> Outcome:
    require_group(room)
    state = room.floor
    assert state is not None  # require_group checked it
    if isinstance(command, Voice):
        return _with_floor(room, _voice(room, state, command))
    # One capability check per command: the therapist steers, participants take part.
    require_capability(room, command.by, REQUIRED[type(command)])
    match command:
        case SetFloorMode():
            outcome = floor.set_mode(state, command.mode, command.now)
        case ChangeFloorSettings():
            outcome = floor.change_settings(state, command.settings, command.now)
        case GrantNext():
            outcome = floor.grant_next(state, command.now)
        case GiveFloor():
            outcome = floor.give_floor(state, command.member_id, command.now)
        case InviteToSpeak():
            outcome = floor.invite(state, command.member_id, command.now)
        case EndTurn():
            outcome = floor.end_turn(state, command.now)
        case SkipTurn():
            outcome = floor.skip(state, command.member_id, command.now)
        case ExtendTurn():
            outcome = floor.extend_turn(state, command.extra_s, command.now)
        case RaiseHand():
            outcome = floor.raise_hand(state, command.by, command.now)
        case LowerHand():
            outcome = floor.lower_hand(state, command.by, command.now)
        case YieldFloor():
            outcome = floor.yield_floor(state, command.by, command.now)
        case PassTurn():
            outcome = floor.pass_turn(state, command.by, command.now)
        case _:  # pragma: no cover
            raise TypeError(f"unknown command {command!r}")
    return _with_floor(room, outcome)


def _voice(room: Room, state: FloorState, command: Voice) -> FloorOutcome:
    member = room.member(command.member_id)
    privileged = member is not None and member.admitted and member.role is Role.THERAPIST
    return floor.voice(
        state, command.member_id, command.speaking, command.now, privileged=privileged
    )


def _with_floor(room: Room, outcome: FloorOutcome) -> Outcome:
    state, events = outcome
    if state == room.floor:
        return room, ()
    changed = replace(room, floor=state)
    return changed, ((FloorChanged(events),) if events else ())


def sync_floor(room: Room, now: float) -> Outcome:
    """Keep the floor's participants equal to the admitted, seated participants.

    Called after every command, so joins, leaves, admits, removals and
    send-backs all reach the floor through one path.
    """
    state = room.floor
    if state is None:
        return room, ()
    wanted = room.admitted_participants()
    events: list[FloorEvent] = []
    for member in state.participants:
        if member not in wanted:
            state, left = floor.leave(state, member, now)
            events.extend(left)
    for member in wanted:
        if member not in state.participants:
            state, joined = floor.join(state, member, now)
            events.extend(joined)
    if state == room.floor:
        return room, ()
    return replace(room, floor=state), ((FloorChanged(tuple(events)),) if events else ())


# A floor holder whose connection dropped keeps the floor this long (a blip), then the
# floor moves on; the member keeps their seat for the room's own grace period.
FLOOR_DROP_S = 10.0


def tick_floor(room: Room, now: float) -> Outcome:
    if room.floor is None or room.is_over:
        return room, ()
    room, dropped = _release_dropped_holder(room, now)
    assert room.floor is not None  # releasing a turn keeps the floor
    room, ticked = _with_floor(room, floor.tick(room.floor, now))
    return room, (*dropped, *ticked)


def _release_dropped_holder(room: Room, now: float) -> Outcome:
    state = room.floor
    holder = None if state is None else room.member(state.holder or "")
    if (
        state is None
        or holder is None
        or holder.presence is not Presence.DISCONNECTED
        or holder.disconnected_at is None
        or now - holder.disconnected_at < FLOOR_DROP_S
    ):
        return room, ()
    return _with_floor(room, floor.release_dropped(state, holder.id, now))
