"""Join/resume tokens: a round trip, and every way of refusing one, each with its own code."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from rooms.roles import Role
from rooms.room import RoomKind
from server.auth.tokens import (
    ALGORITHM,
    ISSUER,
    Audience,
    TokenIssuer,
    TokenRefused,
    TokenVerifier,
)

JOIN = frozenset({Audience.JOIN})
NOW = 1_700_000_000.0


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def issue(key: Ed25519PrivateKey, at: float = NOW, **overrides: object) -> str:
    args: dict[str, object] = {
        "room": "r_1",
        "kind": RoomKind.INDIVIDUAL,
        "role": Role.PARTICIPANT,
        "name": "Pat",
        "ttl_s": 600.0,
    }
    args.update(overrides)
    return TokenIssuer(key, clock=lambda: at).issue(**args)  # type: ignore[arg-type]


def verifier(key: Ed25519PrivateKey, at: float = NOW) -> TokenVerifier:
    return TokenVerifier(key.public_key(), clock=lambda: at)


def refusal(key: Ed25519PrivateKey, token: object, accept: frozenset[Audience] = JOIN) -> str:
    # PyJWT checks times against the real clock: tokens are issued relative to it.
    with pytest.raises(TokenRefused) as caught:
        verifier(key).verify(token, accept)
    assert caught.value.message
    return caught.value.code


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def good_claims(key: Ed25519PrivateKey) -> dict[str, object]:
    return jwt.decode(issue(key, at=time.time()), options={"verify_signature": False})


def sign(key: Ed25519PrivateKey, claims: dict[str, object]) -> str:
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def test_round_trip(key: Ed25519PrivateKey) -> None:
    token = issue(
        key, at=time.time(), role=Role.THERAPIST, name="  Dr\u0007 Lee ", subject="p_fixed"
    )
    grant = verifier(key).verify(token, JOIN)
    assert grant.room == "r_1"
    assert grant.kind is RoomKind.INDIVIDUAL
    assert grant.role is Role.THERAPIST
    assert grant.name == "Dr Lee"  # control characters and padding gone
    assert grant.subject == "p_fixed"
    assert grant.audience is Audience.JOIN
    assert grant.jti
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "EdDSA"
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == ISSUER and claims["exp"] - claims["iat"] == 600


def test_every_token_is_unique(key: Ed25519PrivateKey) -> None:
    first, second = issue(key, at=time.time()), issue(key, at=time.time())
    a = jwt.decode(first, options={"verify_signature": False})
    b = jwt.decode(second, options={"verify_signature": False})
    assert a["jti"] != b["jti"] and a["sub"] != b["sub"]


def test_resume_audience_round_trip(key: Ed25519PrivateKey) -> None:
    issuer = TokenIssuer(key)
    grant = verifier(key).verify(issue(key, at=time.time()), JOIN)
    resume = issuer.reissue(grant, audience=Audience.RESUME, ttl_s=60)
    back = verifier(key).verify(resume, frozenset({Audience.JOIN, Audience.RESUME}))
    assert (back.subject, back.role, back.room) == (grant.subject, grant.role, grant.room)
    assert back.audience is Audience.RESUME


def test_missing(key: Ed25519PrivateKey) -> None:
    assert refusal(key, None) == "token_missing"
    assert refusal(key, "") == "token_missing"
    assert refusal(key, 42) == "token_missing"


def test_malformed(key: Ed25519PrivateKey) -> None:
    assert refusal(key, "hello") == "token_malformed"
    assert refusal(key, "a.b.c") == "token_malformed"


def test_expired(key: Ed25519PrivateKey) -> None:
    token = issue(key, at=time.time() - 3600, ttl_s=600)
    assert refusal(key, token) == "token_expired"


def test_expired_within_leeway_still_accepted(key: Ed25519PrivateKey) -> None:
    token = issue(key, at=time.time() - 610, ttl_s=600)
    verifier(key).verify(token, JOIN)


def test_not_yet_valid(key: Ed25519PrivateKey) -> None:
    token = issue(key, at=time.time() + 3600)
    assert refusal(key, token) == "token_not_yet_valid"


def test_wrong_audience(key: Ed25519PrivateKey) -> None:
    token = issue(key, at=time.time(), audience=Audience.OPS)
    assert refusal(key, token) == "token_bad_audience"
    resume = issue(key, at=time.time(), audience=Audience.RESUME)
    assert refusal(key, resume, JOIN) == "token_bad_audience"


def test_wrong_issuer(key: Ed25519PrivateKey) -> None:
    claims = good_claims(key)
    claims["iss"] = "someone-else"
    assert refusal(key, sign(key, claims)) == "token_bad_audience"


def test_alg_none(key: Ed25519PrivateKey) -> None:
    token = jwt.encode(good_claims(key), None, algorithm="none")
    assert refusal(key, token) == "token_bad_algorithm"


def test_hs256_forged_with_public_key(key: Ed25519PrivateKey) -> None:
    claims = good_claims(key)
    public_forms = [
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw),
    ]
    for secret in public_forms:
        signing_input = (
            b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
            + "."
            + b64(json.dumps(claims).encode())
        )
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        assert refusal(key, f"{signing_input}.{b64(mac)}") == "token_bad_algorithm"


def test_tampered_payload(key: Ed25519PrivateKey) -> None:
    header, _, signature = issue(key, at=time.time()).split(".")
    claims = good_claims(key)
    claims["role"] = "therapist"
    forged = f"{header}.{b64(json.dumps(claims).encode())}.{signature}"
    assert refusal(key, forged) == "token_bad_signature"


def test_tampered_signature(key: Ed25519PrivateKey) -> None:
    header, payload, signature = issue(key, at=time.time()).split(".")
    middle = len(signature) // 2
    flipped = "A" if signature[middle] != "A" else "B"
    bad = signature[:middle] + flipped + signature[middle + 1 :]
    assert refusal(key, f"{header}.{payload}.{bad}") == "token_bad_signature"


def test_signed_by_another_key(key: Ed25519PrivateKey) -> None:
    other = Ed25519PrivateKey.generate()
    assert refusal(key, issue(other, at=time.time())) == "token_bad_signature"


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf", "sub", "aud", "jti", "iss"])
def test_missing_registered_claim(key: Ed25519PrivateKey, claim: str) -> None:
    claims = good_claims(key)
    del claims[claim]
    assert refusal(key, sign(key, claims)) == "token_malformed"


@pytest.mark.parametrize("claim", ["room", "kind", "role", "name"])
def test_missing_or_bad_session_claim(key: Ed25519PrivateKey, claim: str) -> None:
    claims = good_claims(key)
    del claims[claim]
    assert refusal(key, sign(key, claims)) == "token_malformed"
    claims = good_claims(key)
    claims[claim] = "" if claim in ("name", "room") else "superuser"
    if claim == "room":
        return  # an empty room id is simply a room that does not exist
    assert refusal(key, sign(key, claims)) == "token_malformed"


def test_codes_are_distinct(key: Ed25519PrivateKey) -> None:
    codes = {
        "expired": refusal(key, issue(key, at=time.time() - 3600)),
        "audience": refusal(key, issue(key, at=time.time(), audience=Audience.OPS)),
        "algorithm": refusal(key, jwt.encode(good_claims(key), None, algorithm="none")),
        "signature": refusal(key, issue(Ed25519PrivateKey.generate(), at=time.time())),
        "not_yet": refusal(key, issue(key, at=time.time() + 3600)),
        "malformed": refusal(key, "x"),
        "missing": refusal(key, None),
    }
    assert len(set(codes.values())) == len(codes), codes


def test_issue_refuses_bad_input(key: Ed25519PrivateKey) -> None:
    with pytest.raises(ValueError):
        issue(key, ttl_s=0)
    with pytest.raises(ValueError):
        issue(key, name="   ")
    with pytest.raises(ValueError):
        issue(key, name="x" * 65)
