"""Room <-> JSON for stores that keep bytes. Versioned so a format change is explicit.

Every field of every dataclass is written and read by name, here: no `asdict`, no
`**data`. A field added to the domain must be added here too (the store contract
tests compare the field lists), and a change of meaning bumps `FORMAT_VERSION`.

Version 2 added the group-room state: `locked`, the floor (settings, talk-time
ledger, hands, turn, go-around, voice activity) and each member's admission and
moderator flags. Version 1 could only ever hold individual rooms (a group room's
floor did not serialize), so a version-1 document still reads, with those defaults.

Version 3 added the sharing state of both room kinds: `members_chat` (a therapist
turned members' chat off), `screen_sharer` and `share_allowed`. Versions 1 and 2 read
with chat on, nobody sharing and nobody allowed.

Version 4 added each member's `audio_only` choice (in `media`). Versions 1-3 read with
nobody audio-only.
"""

from __future__ import annotations

import json
from typing import Any

from rooms.floor.state import (
    FloorMode,
    FloorSettings,
    FloorState,
    GoAround,
    HandRaise,
    QueuePolicy,
    Turn,
    TurnLimitAction,
)
from rooms.member import Admission, MediaState, Member, Presence
from rooms.roles import Role
from rooms.room import AdmitPolicy, Room, RoomKind, RoomPolicy, RoomState
from rooms.talk_time import MemberTalk, TalkTimeLedger

FORMAT_VERSION = 4
READABLE_VERSIONS = frozenset({1, 2, 3, 4})

Json = dict[str, Any]


# --- encoding ---------------------------------------------------------------------------


def room_to_json(room: Room) -> str:
    # One command's room may be written more than once (the save, and with several
    # processes the answer to an `execute` request): rooms are immutable, so the text is
    # reused.
    cached = _recent.get(id(room))
    if cached is not None and cached[0] is room:
        return cached[1]
    text = json.dumps(room_to_data(room), separators=(",", ":"), allow_nan=False)
    if len(_recent) >= _RECENT_ROOMS:
        del _recent[next(iter(_recent))]
    _recent[id(room)] = (room, text)
    return text


# The last rooms encoded, by identity (holding the room keeps its id from being reused).
_RECENT_ROOMS = 32
_recent: dict[int, tuple[Room, str]] = {}


def room_to_data(room: Room) -> Json:
    policy = room.policy
    return {
        "v": FORMAT_VERSION,
        "id": room.id,
        "kind": room.kind.value,
        "created_at": room.created_at,
        "policy": {
            "grace_s": policy.grace_s,
            "max_members": policy.max_members,
            "idle_expiry_s": policy.idle_expiry_s,
            "unused_expiry_s": policy.unused_expiry_s,
            "admit": policy.admit.value,
        },
        "state": room.state.value,
        "members": [_member_to_data(m) for m in room.members],
        "revoked": sorted(room.revoked),
        "last_activity_at": room.last_activity_at,
        "locked": room.locked,
        "floor": None if room.floor is None else _floor_to_data(room.floor),
        "members_chat": room.members_chat,
        "screen_sharer": room.screen_sharer,
        "share_allowed": sorted(room.share_allowed),
    }


def _member_to_data(member: Member) -> Json:
    return {
        "id": member.id,
        "role": member.role.value,
        "name": member.name,
        "presence": member.presence.value,
        "epoch": member.epoch,
        "disconnected_at": member.disconnected_at,
        "joined_at": member.joined_at,
        "media": {
            "audio": member.media.audio,
            "video": member.media.video,
            "audio_only": member.media.audio_only,
        },
        "admission": member.admission.value,
        "muted_by_moderator": member.muted_by_moderator,
        "video_stopped_by_moderator": member.video_stopped_by_moderator,
    }


def _floor_to_data(floor: FloorState) -> Json:
    return {
        "settings": _settings_to_data(floor.settings),
        "talk": _ledger_to_data(floor.talk),
        "clock": floor.clock,
        "mode": floor.mode.value,
        "participants": list(floor.participants),
        "hands": [
            {"member": h.member, "raised_at": h.raised_at, "seq": h.seq} for h in floor.hands
        ],
        "turn": None if floor.turn is None else _turn_to_data(floor.turn),
        "go_around": None if floor.go_around is None else _go_around_to_data(floor.go_around),
        "voice_active": sorted(floor.voice_active),
        "next_seq": floor.next_seq,
    }


def _settings_to_data(settings: FloorSettings) -> Json:
    return {
        "queue_policy": settings.queue_policy.value,
        "auto_advance": settings.auto_advance,
        "turn_limit_s": settings.turn_limit_s,
        "go_around_turn_s": settings.go_around_turn_s,
        "warn_at_fraction": settings.warn_at_fraction,
        "on_turn_limit": settings.on_turn_limit.value,
        "fair_share_limits": settings.fair_share_limits,
        "fair_share_min_fraction": settings.fair_share_min_fraction,
        "fair_share_min_s": settings.fair_share_min_s,
    }


def _ledger_to_data(ledger: TalkTimeLedger) -> Json:
    # A list of pairs, not an object: the report lists members in first-seen order.
    return {
        "started_at": ledger.started_at,
        "members": [
            [
                member,
                {
                    "spoken_s": talk.spoken_s,
                    "speaking_since": talk.speaking_since,
                    "turns": talk.turns,
                    "longest_wait_s": talk.longest_wait_s,
                },
            ]
            for member, talk in ledger.members.items()
        ],
    }


def _turn_to_data(turn: Turn) -> Json:
    return {
        "member": turn.member,
        "started_at": turn.started_at,
        "limit_s": turn.limit_s,
        "warned": turn.warned,
        "limit_reported": turn.limit_reported,
    }


def _go_around_to_data(go_around: GoAround) -> Json:
    return {
        "order": list(go_around.order),
        "taken": sorted(go_around.taken),
        "return_mode": go_around.return_mode.value,
    }


# --- decoding ---------------------------------------------------------------------------


def room_from_json(text: str | bytes) -> Room:
    # With several processes the same room arrives twice for one command (on the room's
    # channel and in the owner's answer): decoding is the costly half, so the room
    # decoded from the very same text is reused (rooms are immutable).
    cached = _decoded.get(text)
    if cached is not None:
        return cached
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("a stored room must be a JSON object")
    room = room_from_data(data)
    if len(_decoded) >= _RECENT_ROOMS:
        del _decoded[next(iter(_decoded))]
    _decoded[text] = room
    return room


_decoded: dict[str | bytes, Room] = {}


def room_from_data(data: Json) -> Room:
    version = data.get("v")
    if version not in READABLE_VERSIONS:
        raise ValueError(f"unsupported room format {version!r}")
    policy = data["policy"]
    floor = data.get("floor") if version >= 2 else None
    return Room(
        id=_str(data["id"]),
        kind=RoomKind(data["kind"]),
        created_at=_float(data["created_at"]),
        policy=RoomPolicy(
            grace_s=_float(policy["grace_s"]),
            max_members=_int(policy["max_members"]),
            idle_expiry_s=_float(policy["idle_expiry_s"]),
            unused_expiry_s=_float(policy["unused_expiry_s"]),
            admit=AdmitPolicy(policy["admit"]),
        ),
        state=RoomState(data["state"]),
        members=tuple(_member(m, version) for m in data["members"]),
        revoked=frozenset(_str(m) for m in data["revoked"]),
        last_activity_at=_float(data["last_activity_at"]),
        locked=_bool(data["locked"]) if version >= 2 else False,
        floor=None if floor is None else _floor(floor),
        members_chat=_bool(data["members_chat"]) if version >= 3 else True,
        screen_sharer=_opt_str(data["screen_sharer"]) if version >= 3 else None,
        share_allowed=(
            frozenset(_str(m) for m in data["share_allowed"]) if version >= 3 else frozenset()
        ),
    )


def _member(data: Json, version: int) -> Member:
    if version >= 2:
        admission = Admission(data["admission"])
        muted = _bool(data["muted_by_moderator"])
        video_stopped = _bool(data["video_stopped_by_moderator"])
    else:
        admission, muted, video_stopped = Admission.ADMITTED, False, False
    media = data["media"]
    return Member(
        id=_str(data["id"]),
        role=Role(data["role"]),
        name=_str(data["name"]),
        presence=Presence(data["presence"]),
        epoch=_int(data["epoch"]),
        disconnected_at=_opt_float(data["disconnected_at"]),
        joined_at=_float(data["joined_at"]),
        media=MediaState(
            audio=_bool(media["audio"]),
            video=_bool(media["video"]),
            audio_only=_bool(media["audio_only"]) if version >= 4 else False,
        ),
        admission=admission,
        muted_by_moderator=muted,
        video_stopped_by_moderator=video_stopped,
    )


def _floor(data: Json) -> FloorState:
    turn = data["turn"]
    go_around = data["go_around"]
    return FloorState(
        settings=_settings(data["settings"]),
        talk=_ledger(data["talk"]),
        clock=_float(data["clock"]),
        mode=FloorMode(data["mode"]),
        participants=tuple(_str(m) for m in data["participants"]),
        hands=tuple(
            HandRaise(
                member=_str(h["member"]), raised_at=_float(h["raised_at"]), seq=_int(h["seq"])
            )
            for h in data["hands"]
        ),
        turn=None if turn is None else _turn(turn),
        go_around=None if go_around is None else _go_around(go_around),
        voice_active=frozenset(_str(m) for m in data["voice_active"]),
        next_seq=_int(data["next_seq"]),
    )


def _settings(data: Json) -> FloorSettings:
    return FloorSettings(
        queue_policy=QueuePolicy(data["queue_policy"]),
        auto_advance=_bool(data["auto_advance"]),
        turn_limit_s=_opt_float(data["turn_limit_s"]),
        go_around_turn_s=_float(data["go_around_turn_s"]),
        warn_at_fraction=_float(data["warn_at_fraction"]),
        on_turn_limit=TurnLimitAction(data["on_turn_limit"]),
        fair_share_limits=_bool(data["fair_share_limits"]),
        fair_share_min_fraction=_float(data["fair_share_min_fraction"]),
        fair_share_min_s=_float(data["fair_share_min_s"]),
    )


def _ledger(data: Json) -> TalkTimeLedger:
    members: dict[str, MemberTalk] = {}
    for member, talk in data["members"]:
        members[_str(member)] = MemberTalk(
            spoken_s=_float(talk["spoken_s"]),
            speaking_since=_opt_float(talk["speaking_since"]),
            turns=_int(talk["turns"]),
            longest_wait_s=_float(talk["longest_wait_s"]),
        )
    return TalkTimeLedger(started_at=_float(data["started_at"]), members=members)


def _turn(data: Json) -> Turn:
    return Turn(
        member=_str(data["member"]),
        started_at=_float(data["started_at"]),
        limit_s=_opt_float(data["limit_s"]),
        warned=_bool(data["warned"]),
        limit_reported=_bool(data["limit_reported"]),
    )


def _go_around(data: Json) -> GoAround:
    return GoAround(
        order=tuple(_str(m) for m in data["order"]),
        taken=frozenset(_str(m) for m in data["taken"]),
        return_mode=FloorMode(data["return_mode"]),
    )


# --- scalars: a stored document of the wrong shape fails loudly -------------------------


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {value!r}")
    return value


def _opt_str(value: Any) -> str | None:
    return None if value is None else _str(value)


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected a boolean, got {value!r}")
    return value


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected an integer, got {value!r}")
    return value


def _float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {value!r}")
    return float(value)


def _opt_float(value: Any) -> float | None:
    return None if value is None else _float(value)
