"""Join, resume and ops tokens: EdDSA JWTs, algorithm allow-listed, each refusal named."""

from __future__ import annotations

import secrets
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from rooms.errors import ErrorCode
from rooms.roles import Role
from rooms.room import RoomKind

ALGORITHM = "EdDSA"
ISSUER = "telehealth"
MAX_NAME_LENGTH = 64
# Clock skew between the issuing host and this one.
LEEWAY_S = 30


class Audience(StrEnum):
    JOIN = "telehealth:join"
    RESUME = "telehealth:resume"
    OPS = "telehealth:ops"


@dataclass(frozen=True)
class Grant:
    """What a verified token says; the connection's identity for its whole life."""

    room: str
    kind: RoomKind
    role: Role
    name: str
    subject: str
    jti: str
    expires_at: float
    audience: Audience
    # The patient confirms their location and an emergency contact before joining
    # (individual rooms that ask for it); carried by the link, since the room keeps
    # no such setting.
    checkin: bool = False


class TokenRefused(Exception):
    def __init__(self, code: ErrorCode, message: str | None = None) -> None:
        message = code.message if message is None else message
        super().__init__(message)
        self.code = code
        self.message = message


def clean_display_name(raw: str) -> str:
    """Names are shown to others: no control characters, bounded length."""
    name = "".join(ch for ch in unicodedata.normalize("NFC", raw) if ch.isprintable()).strip()
    if not name:
        raise ValueError("display name must not be blank")
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"display name is longer than {MAX_NAME_LENGTH} characters")
    return name


def new_subject() -> str:
    return "p_" + secrets.token_urlsafe(9)


class TokenIssuer:
    def __init__(self, key: Ed25519PrivateKey, clock: Callable[[], float] = time.time) -> None:
        self._key = key
        self._clock = clock

    def issue(
        self,
        *,
        room: str,
        kind: RoomKind,
        role: Role,
        name: str,
        ttl_s: float,
        subject: str | None = None,
        audience: Audience = Audience.JOIN,
        checkin: bool = False,
    ) -> str:
        if ttl_s <= 0:
            raise ValueError("ttl must be positive")
        now = int(self._clock())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": audience.value,
            "sub": subject or new_subject(),
            "room": room,
            "kind": kind.value,
            "role": role.value,
            "name": clean_display_name(name),
            "iat": now,
            "nbf": now,
            "exp": now + int(ttl_s),
            "jti": secrets.token_urlsafe(12),
        }
        if checkin:
            claims["checkin"] = True
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)

    def issue_ops(self, *, ttl_s: float, name: str = "Ops") -> str:
        """A token for the ops dashboard: it opens no room and sees no media."""
        now = int(self._clock())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": Audience.OPS.value,
            "sub": "ops_" + secrets.token_urlsafe(6),
            "role": Role.OPS.value,
            "name": clean_display_name(name),
            "iat": now,
            "nbf": now,
            "exp": now + int(ttl_s),
            "jti": secrets.token_urlsafe(12),
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)

    def reissue(self, grant: Grant, *, audience: Audience, ttl_s: float) -> str:
        return self.issue(
            room=grant.room,
            kind=grant.kind,
            role=grant.role,
            name=grant.name,
            ttl_s=ttl_s,
            subject=grant.subject,
            audience=audience,
            checkin=grant.checkin,
        )


_REFUSALS: tuple[tuple[type[Exception], ErrorCode, str | None], ...] = (
    # Order matters: subclasses before their bases. None: the code's own message.
    (jwt.ExpiredSignatureError, ErrorCode.TOKEN_EXPIRED, None),
    (jwt.ImmatureSignatureError, ErrorCode.TOKEN_NOT_YET_VALID, None),
    (jwt.InvalidAudienceError, ErrorCode.TOKEN_BAD_AUDIENCE, None),
    (jwt.InvalidAlgorithmError, ErrorCode.TOKEN_BAD_ALGORITHM, None),
    (jwt.InvalidSignatureError, ErrorCode.TOKEN_BAD_SIGNATURE, None),
    (
        jwt.InvalidIssuerError,
        ErrorCode.TOKEN_BAD_AUDIENCE,
        "This link was not made by this server.",
    ),
    (jwt.MissingRequiredClaimError, ErrorCode.TOKEN_MALFORMED, None),
    (jwt.InvalidTokenError, ErrorCode.TOKEN_MALFORMED, "This link is not a valid session link."),
)


class TokenVerifier:
    def __init__(self, key: Ed25519PublicKey, clock: Callable[[], float] = time.time) -> None:
        self._key = key
        self._clock = clock

    def verify_ops(self, token: object) -> str:
        """Check an ops token; returns its subject."""
        claims = self._decode(token, frozenset({Audience.OPS}))
        if claims.get("role") != Role.OPS.value:
            raise TokenRefused(ErrorCode.NOT_ALLOWED, "This link does not open the ops dashboard.")
        return str(claims["sub"])

    def verify(self, token: object, accept: frozenset[Audience]) -> Grant:
        return _grant_from_claims(self._decode(token, accept))

    def _decode(self, token: object, accept: frozenset[Audience]) -> dict[str, Any]:
        if not isinstance(token, str) or not token:
            raise TokenRefused(ErrorCode.TOKEN_MISSING)
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=[a.value for a in accept],
                issuer=ISSUER,
                leeway=LEEWAY_S,
                options={"require": ["exp", "iat", "nbf", "sub", "aud", "jti", "iss"]},
            )
        except jwt.PyJWTError as error:
            for kind, code, message in _REFUSALS:
                if isinstance(error, kind):
                    raise TokenRefused(code, message) from None
            raise
        return claims


def _grant_from_claims(claims: dict[str, Any]) -> Grant:
    try:
        return Grant(
            room=str(claims["room"]),
            kind=RoomKind(claims["kind"]),
            role=Role(claims["role"]),
            name=clean_display_name(str(claims["name"])),
            subject=str(claims["sub"]),
            jti=str(claims["jti"]),
            expires_at=float(claims["exp"]),
            audience=Audience(claims["aud"]),
            checkin=claims.get("checkin") is True,
        )
    except (KeyError, ValueError):
        raise TokenRefused(ErrorCode.TOKEN_MALFORMED) from None
