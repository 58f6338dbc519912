"""Emergency information at check-in (individual rooms that ask for it): the patient's
link carries the ask, the information reaches only the therapist, and nothing keeps it."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pytest

from tests.signaling.kept_nowhere import files_holding

if TYPE_CHECKING:
    from tests.conftest import Connector, LiveServer

LOCATION = "12 Elm Street, Springfield, flat 3"
CONTACT = "Jordan Lee, sister, 555-0142"


async def test_the_patient_shares_it_and_only_the_therapist_sees_it(
    start_server: object, connect: Connector, caplog: pytest.LogCaptureFixture
) -> None:
    live_server: LiveServer = await start_server(embedded_store="sqlite")  # type: ignore[operator]
    caplog.set_level(logging.DEBUG)
    room = await live_server.create_room("individual", ["Pat"], emergency_info=True)
    assert room["emergency_info"] is True
    therapist_link, patient_link = (link["url"] for link in room["links"])
    patient = await connect(live_server, live_server.token_of(patient_link))
    # Asked before joining: the form comes first on the device check.
    assert (await patient.call("checkin.state", {}))["required"] is True
    therapist = await connect(live_server, live_server.token_of(therapist_link))
    assert (await therapist.call("checkin.state", {}))["required"] is False
    await therapist.join()
    patient_ack = await patient.join()

    shared = {"location": LOCATION, "contact": CONTACT}
    assert (await patient.call("checkin.share", shared))["ok"]
    info = await therapist.wait_for("checkin.info")
    assert info == {
        "member": patient_ack["self"]["id"],
        "name": "Pat",
        "location": LOCATION,
        "contact": CONTACT,
    }
    await patient.assert_none("checkin.info")
    # The therapist has nothing to share.
    assert (await therapist.call("checkin.share", shared))["error"]["code"] == "no_checkin"

    # A resumed connection still asks for it (the resume token carries the ask).
    resumed = await connect(live_server, patient_ack["resume_token"])
    assert (await resumed.call("checkin.state", {}))["required"] is True

    # Kept nowhere: not in any log, not in the data directory (the SQLite store, audit).
    assert LOCATION not in caplog.text and CONTACT not in caplog.text
    assert files_holding(live_server.settings.data_dir, LOCATION, CONTACT) == []


async def test_rooms_that_do_not_ask_refuse_it(live_server: LiveServer, connect: Connector) -> None:
    _, _, patient_token = await live_server.individual_tokens()
    patient = await connect(live_server, patient_token)
    assert (await patient.call("checkin.state", {}))["required"] is False
    await patient.join()
    refused = await patient.call("checkin.share", {"location": "x", "contact": "y"})
    assert refused["error"]["code"] == "no_checkin"


async def test_it_is_for_individual_rooms_and_bounded(
    live_server: LiveServer, connect: Connector
) -> None:
    reply = await live_server.post(
        "/api/rooms", {"kind": "group", "participants": ["Alex"], "emergency_info": True}
    )
    assert reply.status == 400 and reply.body["error"]["code"] == "invalid_request"
    room = await live_server.create_room("individual", ["Pat"], emergency_info=True)
    patient = await connect(live_server, live_server.token_of(room["links"][1]["url"]))
    await patient.join()
    for payload in (
        {"location": "x" * 301, "contact": "y"},
        {"location": "", "contact": "y"},
        {"location": "x"},
        {"location": "x", "contact": "y", "notes": "z"},
    ):
        reply = await patient.call("checkin.share", payload)
        assert reply["error"]["code"] == "invalid_payload", payload
    # An invite for another patient's link can ask for it too.
    invite = await live_server.post(
        f"/api/rooms/{room['room']}/invites",
        {"role": "participant", "name": "Robin", "emergency_info": True},
    )
    assert invite.status == 201
    robin = await connect(live_server, live_server.token_of(invite.body["url"]))
    assert (await robin.call("checkin.state", {}))["required"] is True
