"""The capability table: one place that says what each role may do."""

from __future__ import annotations

import pytest

from rooms.roles import CAPABILITIES, Capability, Role, can


def test_every_role_has_an_entry() -> None:
    assert set(CAPABILITIES) == set(Role)
    for role in Role:
        assert isinstance(CAPABILITIES[role], frozenset)
        assert CAPABILITIES[role], f"{role} can do nothing at all"


def test_the_table_only_names_known_capabilities() -> None:
    for capabilities in CAPABILITIES.values():
        assert all(isinstance(c, Capability) for c in capabilities)


def test_every_capability_belongs_to_some_role() -> None:
    granted = frozenset().union(*CAPABILITIES.values())
    assert granted == set(Capability)


def test_therapist_moderates_and_controls_the_floor() -> None:
    for capability in (
        Capability.JOIN_ROOM,
        Capability.PUBLISH_MEDIA,
        Capability.SIGNAL_PEER,
        Capability.MODERATE,
        Capability.CONTROL_FLOOR,
        Capability.VIEW_TALK_TIME,
        Capability.VIEW_EVERYONES_QUALITY,
    ):
        assert can(Role.THERAPIST, capability), capability


def test_therapist_does_not_raise_hands_or_view_ops() -> None:
    assert not can(Role.THERAPIST, Capability.RAISE_HAND)
    assert not can(Role.THERAPIST, Capability.VIEW_OPS)


def test_participant_joins_and_raises_a_hand_but_does_not_moderate() -> None:
    assert can(Role.PARTICIPANT, Capability.JOIN_ROOM)
    assert can(Role.PARTICIPANT, Capability.PUBLISH_MEDIA)
    assert can(Role.PARTICIPANT, Capability.SIGNAL_PEER)
    assert can(Role.PARTICIPANT, Capability.RAISE_HAND)
    for capability in (
        Capability.MODERATE,
        Capability.CONTROL_FLOOR,
        Capability.VIEW_TALK_TIME,
        Capability.VIEW_EVERYONES_QUALITY,
        Capability.VIEW_OPS,
    ):
        assert not can(Role.PARTICIPANT, capability), capability


def test_ops_only_views_ops() -> None:
    assert CAPABILITIES[Role.OPS] == frozenset({Capability.VIEW_OPS})
    assert can(Role.OPS, Capability.VIEW_OPS)
    for capability in set(Capability) - {Capability.VIEW_OPS}:
        assert not can(Role.OPS, capability), capability


def test_only_ops_views_ops() -> None:
    assert [r for r in Role if can(r, Capability.VIEW_OPS)] == [Role.OPS]


def test_only_therapists_moderate() -> None:
    assert [r for r in Role if can(r, Capability.MODERATE)] == [Role.THERAPIST]
    assert [r for r in Role if can(r, Capability.CONTROL_FLOOR)] == [Role.THERAPIST]


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("capability", list(Capability))
def test_can_reads_the_table(role: Role, capability: Capability) -> None:
    assert can(role, capability) == (capability in CAPABILITIES[role])


def test_roles_and_capabilities_have_wire_values() -> None:
    assert {r.value for r in Role} == {"therapist", "participant", "ops"}
    assert Role("therapist") is Role.THERAPIST
    assert all(c.value == c.name.lower() for c in Capability)
