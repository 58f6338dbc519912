"""The admin API and the HTTP routes, against the real app on a loopback port."""

from __future__ import annotations

from typing import TYPE_CHECKING

import jwt
import pytest

if TYPE_CHECKING:
    from tests.conftest import LiveServer, StartServer


def claims(url: str) -> dict[str, object]:
    token = url.split("#t=", 1)[1]
    return jwt.decode(token, options={"verify_signature": False})


async def test_requires_the_admin_key(live_server: LiveServer) -> None:
    body = {"kind": "individual"}
    for key in ("", "wrong-key-" + "x" * 40, live_server.admin_key + "x"):
        reply = await live_server.post("/api/rooms", body, key=key)
        assert reply.status == 401, key
        assert reply.body["error"]["code"] == "unauthorized"
    reply = await live_server.post(
        "/api/rooms/r_x/invites", {"role": "participant", "name": "A"}, key="nope"
    )
    assert reply.status == 401
    # Basic auth with the right key is not bearer auth.
    async with live_server.http.post(
        live_server.base_url + "/api/rooms",
        json=body,
        headers={"Authorization": f"Basic {live_server.admin_key}"},
    ) as resp:
        assert resp.status == 401


@pytest.mark.parametrize(
    ("body", "code", "needle"),
    [
        ({"kind": "triad"}, "invalid_request", "kind"),
        ({}, "invalid_request", "kind"),
        ({"kind": "group", "admit": "sometimes"}, "invalid_request", "admit"),
        ({"kind": "group", "participants": "Alex"}, "invalid_request", "participants"),
        ({"kind": "group", "surprise": 1}, "invalid_request", "surprise"),
        ({"kind": "group", "participants": ["  "]}, "invalid_name", "blank"),
        ({"kind": "group", "participants": ["x" * 65]}, "invalid_name", "longer than 64"),
        ([1, 2], "invalid_request", "body"),
    ],
)
async def test_bad_body_is_400_with_a_clear_message(
    live_server: LiveServer, body: object, code: str, needle: str
) -> None:
    reply = await live_server.post("/api/rooms", body)
    assert reply.status == 400, reply.body
    assert reply.body["error"]["code"] == code
    assert needle in reply.body["error"]["message"], reply.body


async def test_not_json_is_400(live_server: LiveServer) -> None:
    reply = await live_server.post("/api/rooms", None, raw=b"{not json")
    assert reply.status == 400
    assert reply.body["error"] == {
        "code": "invalid_json",
        "message": "The body must be a JSON object.",
    }


async def test_individual_room_with_two_participants_refused(live_server: LiveServer) -> None:
    reply = await live_server.post("/api/rooms", {"kind": "individual", "participants": ["A", "B"]})
    assert reply.status == 400
    assert reply.body["error"]["code"] == "too_many_participants"


async def test_group_of_seventeen_refused(live_server: LiveServer) -> None:
    names = [f"Member {i}" for i in range(16)]  # + the therapist = 17 people
    reply = await live_server.post("/api/rooms", {"kind": "group", "participants": names})
    assert reply.status == 400
    assert reply.body["error"]["code"] == "too_many_participants"
    assert "16" in reply.body["error"]["message"]
    ok = await live_server.post("/api/rooms", {"kind": "group", "participants": names[:15]})
    assert ok.status == 201
    assert len(ok.body["links"]) == 16


async def test_individual_room_created(live_server: LiveServer) -> None:
    reply = await live_server.post(
        "/api/rooms", {"kind": "individual", "therapist": "Dr Lee", "participants": ["Sam"]}
    )
    assert reply.status == 201
    body = reply.body
    assert body["room"].startswith("r_") and body["kind"] == "individual"
    therapist, patient = body["links"]
    assert therapist["role"] == "therapist" and therapist["name"] == "Dr Lee"
    assert patient["role"] == "participant" and patient["name"] == "Sam"
    for link in body["links"]:
        assert link["url"].startswith(f"{live_server.base_url}/join#t=")
        c = claims(link["url"])
        assert c["room"] == body["room"] and c["role"] == link["role"]
        assert c["aud"] == "telehealth:join"
    # Default names.
    default = await live_server.create_room("individual")
    assert [(x["role"], x["name"]) for x in default["links"]] == [
        ("therapist", "Therapist"),
        ("participant", "Patient"),
    ]


async def test_group_room_created(live_server: LiveServer) -> None:
    room = await live_server.create_room("group", ["Alex", "Sam"], admit="auto")
    assert room["kind"] == "group" and room["admit"] == "auto"
    assert [(x["role"], x["name"]) for x in room["links"]] == [
        ("therapist", "Therapist"),
        ("participant", "Alex"),
        ("participant", "Sam"),
    ]
    assert (await live_server.create_room("group"))["admit"] == "manual"


async def test_ttl_minutes(live_server: LiveServer) -> None:
    room = await live_server.create_room("individual", ttl_minutes=5)
    c = claims(room["links"][0]["url"])
    assert c["exp"] - c["iat"] == 300  # type: ignore[operator]


async def test_invites(live_server: LiveServer) -> None:
    room = await live_server.create_room("individual")
    invite = await live_server.invite(room["room"], "participant", "Sam")
    assert invite["room"] == room["room"]
    assert invite["role"] == "participant" and invite["name"] == "Sam"
    assert claims(invite["url"])["room"] == room["room"]

    reply = await live_server.post(
        "/api/rooms/r_unknown/invites", {"role": "participant", "name": "Sam"}
    )
    assert reply.status == 404
    assert reply.body["error"]["code"] == "room_not_found"
    reply = await live_server.post(
        f"/api/rooms/{room['room']}/invites", {"role": "ops", "name": "Sam"}
    )
    assert reply.status == 400 and "role" in reply.body["error"]["message"]


async def test_public_url_in_links(start_server: StartServer) -> None:
    server = await start_server(public_url="https://telehealth.clinic.example/")
    room = await server.create_room("individual")
    assert room["links"][0]["url"].startswith("https://telehealth.clinic.example/join#t=")


async def test_health_and_readiness(live_server: LiveServer) -> None:
    health = await live_server.get("/healthz")
    assert health.status == 200 and health.body == {"status": "ok"}
    ready = await live_server.get("/readyz")
    assert ready.status == 200 and ready.body == {"ready": True, "store": "memory"}


async def test_join_page_security_headers(live_server: LiveServer) -> None:
    page = await live_server.get("/join")
    assert page.status == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["X-Frame-Options"] == "DENY"
    csp = page.headers["Content-Security-Policy"]
    for directive in ("default-src 'self'", "script-src 'self'", "frame-ancestors 'none'"):
        assert directive in csp
    assert "camera=(self)" in page.headers["Permissions-Policy"]
    # Screen share (getDisplayMedia) for the page itself, nobody else.
    assert "display-capture=(self)" in page.headers["Permissions-Policy"]
    # Every page gets them, JSON included.
    health = await live_server.get("/healthz")
    assert health.headers["Referrer-Policy"] == "no-referrer"


async def test_oversize_body_is_413_json(live_server: LiveServer) -> None:
    names = ["x" * 60] * 1200  # about 80 KB of JSON, over the 64 KiB body limit
    reply = await live_server.post("/api/rooms", {"kind": "group", "participants": names})
    assert reply.status == 413
    assert reply.body["error"]["code"] == "body_too_large"
    assert reply.headers["Content-Type"].startswith("application/json")
