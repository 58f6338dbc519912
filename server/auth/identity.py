"""Signaling's Authenticator, backed by our tokens: a Grant becomes an Identity."""

from __future__ import annotations

from server.auth.tokens import Audience, Grant, TokenIssuer, TokenRefused, TokenVerifier
from signaling.ports import Identity, Refusal

SESSION_AUDIENCES = frozenset({Audience.JOIN, Audience.RESUME})


class TokenAuthenticator:
    def __init__(self, issuer: TokenIssuer, verifier: TokenVerifier, resume_ttl_s: float) -> None:
        self._issuer = issuer
        self._verifier = verifier
        self._resume_ttl_s = resume_ttl_s

    def authenticate(self, token: object) -> Identity:
        try:
            grant = self._verifier.verify(token, SESSION_AUDIENCES)
        except TokenRefused as refused:
            raise Refusal(refused.code, refused.message) from None
        return Identity(
            room=grant.room,
            kind=grant.kind,
            role=grant.role,
            name=grant.name,
            member_id=grant.subject,
            checkin=grant.checkin,
        )

    def resume_token(self, identity: Identity) -> str:
        grant = Grant(
            room=identity.room,
            kind=identity.kind,
            role=identity.role,
            name=identity.name,
            subject=identity.member_id,
            jti="",
            expires_at=0.0,
            audience=Audience.RESUME,
            checkin=identity.checkin,
        )
        return self._issuer.reissue(grant, audience=Audience.RESUME, ttl_s=self._resume_ttl_s)
