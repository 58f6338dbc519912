"""A member's audio-only choice: kept with its media state, no video either way."""

from __future__ import annotations

import pytest

from rooms.commands import SetMedia
from rooms.engine import apply
from rooms.events import MediaChanged
from rooms.gates import media_gates
from rooms.member import MediaState
from signaling.codec import peer_view
from tests.stores.sample_rooms import T0, group_room


def test_audio_only_turns_the_camera_off_and_stays_until_the_member_ends_it() -> None:
    room, events = apply(group_room(), SetMedia("p_ther", True, True, T0 + 10, audio_only=True))
    therapist = room.require_member("p_ther")
    assert therapist.media == MediaState(audio=True, video=False, audio_only=True)
    assert events == (MediaChanged(therapist),)
    # A media update that does not mention it (an older page, the mic button) keeps it.
    room, _ = apply(room, SetMedia("p_ther", False, True, T0 + 11))
    assert room.require_member("p_ther").media == MediaState(False, False, audio_only=True)
    room, _ = apply(room, SetMedia("p_ther", True, True, T0 + 12, audio_only=False))
    assert room.require_member("p_ther").media == MediaState(audio=True, video=True)


def test_an_audio_only_member_has_its_video_gate_closed_and_its_audio_kept() -> None:
    room, _ = apply(group_room(), SetMedia("p_ther", True, False, T0 + 10, audio_only=True))
    gates = media_gates(room)
    assert gates["p_ther"].video is False
    assert gates["p_ther"].audio is True


def test_peers_see_who_is_audio_only() -> None:
    room, _ = apply(group_room(), SetMedia("p_ther", True, False, T0 + 10, audio_only=True))
    assert peer_view(room.require_member("p_ther"))["media"]["audio_only"] is True
    assert peer_view(room.require_member("p_b"))["media"]["audio_only"] is False


def test_audio_only_with_the_camera_on_is_not_a_state() -> None:
    with pytest.raises(ValueError):
        MediaState(video=True, audio_only=True)
