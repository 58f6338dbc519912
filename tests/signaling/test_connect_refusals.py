"""A bad link is refused at connect time, each reason with its own code in err.data."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import TYPE_CHECKING

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from rooms.roles import Role
from rooms.room import RoomKind
from server.auth.keys import load_or_create
from server.auth.tokens import Audience, TokenIssuer

if TYPE_CHECKING:
    from tests.conftest import Connector, LiveServer, StartServer


def issuer_for(server: LiveServer, clock: float | None = None) -> TokenIssuer:
    keys = load_or_create(server.settings.data_dir)
    if clock is None:
        return TokenIssuer(keys.signing_key)
    return TokenIssuer(keys.signing_key, clock=lambda: clock)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims_of(token: str) -> dict[str, object]:
    return jwt.decode(token, options={"verify_signature": False})


async def test_token_missing(live_server: LiveServer, connect: Connector) -> None:
    data = await connect.refused(live_server, None)
    assert data["code"] == "token_missing"
    assert data["message"]
    data = await connect.refused(live_server, None, auth="not a dict")
    assert data["code"] == "token_missing"


async def test_token_malformed(live_server: LiveServer, connect: Connector) -> None:
    data = await connect.refused(live_server, "not-a-jwt")
    assert data["code"] == "token_malformed"


async def test_token_expired(live_server: LiveServer, connect: Connector) -> None:
    room = await live_server.create_room("individual")
    token = issuer_for(live_server, clock=time.time() - 7200).issue(
        room=room["room"], kind=RoomKind.INDIVIDUAL, role=Role.PARTICIPANT, name="Pat", ttl_s=600
    )
    data = await connect.refused(live_server, token)
    assert data["code"] == "token_expired"
    assert "expired" in data["message"]


async def test_token_not_yet_valid(live_server: LiveServer, connect: Connector) -> None:
    room = await live_server.create_room("individual")
    token = issuer_for(live_server, clock=time.time() + 3600).issue(
        room=room["room"], kind=RoomKind.INDIVIDUAL, role=Role.PARTICIPANT, name="Pat", ttl_s=600
    )
    data = await connect.refused(live_server, token)
    assert data["code"] == "token_not_yet_valid"


async def test_token_tampered(live_server: LiveServer, connect: Connector) -> None:
    room_id, _, patient = await live_server.individual_tokens()
    header, _, signature = patient.split(".")
    claims = claims_of(patient)
    claims["role"] = "therapist"  # a patient promoting itself
    forged_payload = b64(json.dumps(claims).encode())
    data = await connect.refused(live_server, f"{header}.{forged_payload}.{signature}")
    assert data["code"] == "token_bad_signature"

    other_key = Ed25519PrivateKey.generate()
    foreign = TokenIssuer(other_key).issue(
        room=room_id, kind=RoomKind.INDIVIDUAL, role=Role.THERAPIST, name="Mallory", ttl_s=600
    )
    data = await connect.refused(live_server, foreign)
    assert data["code"] == "token_bad_signature"


async def test_token_bad_algorithm(live_server: LiveServer, connect: Connector) -> None:
    _, _, patient = await live_server.individual_tokens()
    claims = claims_of(patient)
    unsigned = jwt.encode(claims, None, algorithm="none")
    data = await connect.refused(live_server, unsigned)
    assert data["code"] == "token_bad_algorithm"

    # The classic key-confusion forgery: HS256 keyed with the (public) verify key.
    public = load_or_create(live_server.settings.data_dir).verify_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = (
        b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        + "."
        + b64(json.dumps(claims).encode())
    )
    mac = hmac.new(public, signing_input.encode(), hashlib.sha256).digest()
    data = await connect.refused(live_server, f"{signing_input}.{b64(mac)}")
    assert data["code"] == "token_bad_algorithm"


async def test_token_bad_audience(live_server: LiveServer, connect: Connector) -> None:
    room = await live_server.create_room("individual")
    token = issuer_for(live_server).issue(
        room=room["room"],
        kind=RoomKind.INDIVIDUAL,
        role=Role.THERAPIST,
        name="Dr Ops",
        ttl_s=600,
        audience=Audience.OPS,
    )
    data = await connect.refused(live_server, token)
    assert data["code"] == "token_bad_audience"


async def test_room_not_found(live_server: LiveServer, connect: Connector) -> None:
    token = issuer_for(live_server).issue(
        room="r_doesnotexist", kind=RoomKind.INDIVIDUAL, role=Role.THERAPIST, name="Dr A", ttl_s=600
    )
    data = await connect.refused(live_server, token)
    assert data["code"] == "room_not_found"


async def test_origin_from_another_site_refused(
    live_server: LiveServer, connect: Connector
) -> None:
    _, therapist, _ = await live_server.individual_tokens()
    data = await connect.refused(live_server, therapist, headers={"Origin": "https://evil.example"})
    assert data["code"] == "origin_not_allowed"
    # Same host, other port or scheme: another origin too.
    data = await connect.refused(
        live_server, therapist, headers={"Origin": f"https://127.0.0.1:{live_server.port}"}
    )
    assert data["code"] == "origin_not_allowed"


async def test_same_origin_and_no_origin_allowed(
    live_server: LiveServer, connect: Connector
) -> None:
    _, therapist, patient = await live_server.individual_tokens()
    same = await connect(live_server, therapist, headers={"Origin": live_server.base_url})
    assert same.connected
    absent = await connect(live_server, patient)
    assert absent.connected


async def test_extra_allowed_origin(start_server: StartServer, connect: Connector) -> None:
    server = await start_server(allowed_origins=("https://portal.clinic.example",))
    _, therapist, _ = await server.individual_tokens()
    client = await connect(server, therapist, headers={"Origin": "https://portal.clinic.example"})
    assert client.connected
