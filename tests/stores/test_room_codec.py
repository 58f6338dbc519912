"""The room codec is explicit: every field of every stored dataclass, by name."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import replace
from typing import Any

import pytest

from rooms.floor.state import FloorSettings, FloorState, GoAround, HandRaise, Turn
from rooms.member import Admission, MediaState, Member
from rooms.room import Room, RoomPolicy
from rooms.talk_time import MemberTalk, TalkTimeLedger
from server.stores.room_codec import FORMAT_VERSION, room_from_json, room_to_data, room_to_json
from tests.stores.sample_rooms import T0, group_room, individual_room


def names(cls: type[Any]) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def test_every_dataclass_field_is_written() -> None:
    """A field added to the domain fails here until the codec learns it."""
    data = room_to_data(group_room())
    assert set(data) == names(Room) | {"v"}
    assert set(data["policy"]) == names(RoomPolicy)
    for member in data["members"]:
        assert set(member) == names(Member)
        assert set(member["media"]) == names(MediaState)
    floor = data["floor"]
    assert set(floor) == names(FloorState)
    assert set(floor["settings"]) == names(FloorSettings)
    assert set(floor["talk"]) == names(TalkTimeLedger)
    for _, talk in floor["talk"]["members"]:
        assert set(talk) == names(MemberTalk)
    for hand in floor["hands"]:
        assert set(hand) == names(HandRaise)
    assert set(floor["turn"]) == names(Turn)
    assert set(floor["go_around"]) == names(GoAround)


def test_encoding_is_deterministic_plain_json() -> None:
    room = group_room()
    text = room_to_json(room)
    assert text == room_to_json(group_room())
    data = json.loads(text)
    assert data["v"] == FORMAT_VERSION == 4
    assert data["share_allowed"] == ["p_a", "p_b"]
    assert data["revoked"] == ["p_denied", "p_gone"]
    assert data["floor"]["voice_active"] == ["p_a", "p_b"]
    assert data["floor"]["go_around"]["taken"] == ["p_a", "p_b"]
    assert [m for m, _ in data["floor"]["talk"]["members"]] == ["p_d", "p_a", "p_b"]
    assert room_from_json(text.encode()) == room


def test_reads_a_version_1_document() -> None:
    """Version 1 stored individual rooms without admission, moderator flags or lock."""
    v1 = {
        "id": "r_v1",
        "kind": "individual",
        "created_at": T0,
        "policy": {
            "grace_s": 30.0,
            "max_members": 16,
            "idle_expiry_s": 1800.0,
            "unused_expiry_s": 86400.0,
            "admit": "manual",
        },
        "state": "active",
        "members": [
            {
                "id": "p_t",
                "role": "therapist",
                "name": "T",
                "presence": "connected",
                "epoch": 1,
                "disconnected_at": None,
                "joined_at": T0,
                "media": {"audio": True, "video": False},
            }
        ],
        "revoked": [],
        "last_activity_at": T0,
        "v": 1,
    }
    room = room_from_json(json.dumps(v1))
    assert room.id == "r_v1"
    [member] = room.members
    assert member.admission is Admission.ADMITTED
    assert member.media == MediaState(audio=True, video=False)
    assert (room.locked, room.floor) == (False, None)


def test_reads_a_version_2_document_with_chat_on_and_nobody_sharing() -> None:
    data = room_to_data(group_room())
    for field in ("members_chat", "screen_sharer", "share_allowed"):
        del data[field]
    data["v"] = 2
    room = room_from_json(json.dumps(data))
    assert (room.members_chat, room.screen_sharer, room.share_allowed) == (True, None, frozenset())
    assert room.floor == group_room().floor


def test_reads_a_version_3_document_with_nobody_audio_only() -> None:
    room = group_room()
    audio_only = replace(room.members[0], media=MediaState(video=False, audio_only=True))
    data = room_to_data(room.with_member(audio_only))
    assert data["members"][0]["media"]["audio_only"] is True
    for member in data["members"]:
        del member["media"]["audio_only"]
    data["v"] = 3
    old = room_from_json(json.dumps(data))
    assert not any(m.media.audio_only for m in old.members)
    assert old.members[0].media == MediaState(video=False)


@pytest.mark.parametrize("version", [None, 0, 5, "2"])
def test_unknown_versions_are_refused(version: Any) -> None:
    data = room_to_data(individual_room())
    data["v"] = version
    with pytest.raises(ValueError, match="unsupported room format"):
        room_from_json(json.dumps(data))


@pytest.mark.parametrize(
    ("path", "bad"),
    [
        (("members", 0, "epoch"), "3"),
        (("members", 0, "admission"), "maybe"),
        (("locked",), 1),
        (("members_chat",), "off"),
        (("screen_sharer",), 7),
        (("share_allowed",), [1]),
        (("floor", "next_seq"), 1.5),
        (("floor", "turn", "warned"), "yes"),
        (("floor", "settings", "turn_limit_s"), "180"),
    ],
)
def test_a_document_of_the_wrong_shape_fails_loudly(path: tuple[Any, ...], bad: Any) -> None:
    data = room_to_data(group_room())
    target = data
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = bad
    with pytest.raises(ValueError):
        room_from_json(json.dumps(data))


def test_not_a_json_object_is_refused() -> None:
    with pytest.raises(ValueError):
        room_from_json("[]")
