"""Personal links: one random secret per person per program, kept only as its SHA-256.

The secret rides in the URL fragment (never sent to servers or proxies, like join
tokens) and is posted by the page to the API. Unlike a join token it does not expire:
it is revoked by replacing it, or by removing the person from the program.
"""

from __future__ import annotations

import hashlib
import secrets

from rooms.programs.program import PersonRole

SECRET_BYTES = 32
# token_urlsafe(32) is 43 characters; anything else is not one of ours.
SECRET_CHARS = 43
PAGES = {PersonRole.MEMBER: "program", PersonRole.THERAPIST: "today"}


def new_secret() -> str:
    return secrets.token_urlsafe(SECRET_BYTES)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def plausible(secret: object) -> bool:
    return (
        isinstance(secret, str)
        and len(secret) == SECRET_CHARS
        and all(c.isalnum() or c in "-_" for c in secret)
    )


def personal_url(base_url: str, role: PersonRole, secret: str) -> str:
    return f"{base_url.rstrip('/')}/{PAGES[role]}#k={secret}"
