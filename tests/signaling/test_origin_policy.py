"""signaling.origin.OriginPolicy: same-origin by default, an allow-list, proxies."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from signaling.origin import OriginPolicy


def environ(
    origin: str | None, host: str = "sessions.example:8080", scheme: str = "http", **headers: str
) -> dict[str, Any]:
    env: dict[str, Any] = {"HTTP_HOST": host, "aiohttp.request": SimpleNamespace(scheme=scheme)}
    if origin is not None:
        env["HTTP_ORIGIN"] = origin
    env.update(headers)
    return env


def test_same_origin_is_allowed() -> None:
    assert OriginPolicy().allows(environ("http://sessions.example:8080"))


@pytest.mark.parametrize(
    "origin", ["HTTP://Sessions.Example:8080", "http://sessions.example:8080/"]
)
def test_case_and_a_trailing_slash_do_not_matter(origin: str) -> None:
    assert OriginPolicy().allows(environ(origin))


@pytest.mark.parametrize(
    "origin",
    [
        "http://evil.example",
        "https://sessions.example:8080",  # another scheme is another origin
        "http://sessions.example:8081",  # so is another port
        "http://sessions.example",
        "http://sessions.example:8080.evil.example",
        "null",
    ],
)
def test_other_origins_are_refused(origin: str) -> None:
    assert not OriginPolicy().allows(environ(origin))


def test_https_is_taken_from_the_request() -> None:
    assert OriginPolicy().allows(
        environ("https://sessions.example", host="sessions.example", scheme="https")
    )


def test_no_origin_is_not_a_browser_and_is_allowed() -> None:
    assert OriginPolicy().allows(environ(None))
    assert OriginPolicy().allows(environ(""))


def test_the_allow_list_adds_origins() -> None:
    policy = OriginPolicy(("https://portal.example/", "HTTPS://Clinic.Example"))
    assert policy.allows(environ("https://portal.example"))
    assert policy.allows(environ("https://clinic.example"))
    assert not policy.allows(environ("https://other.example"))


def test_forwarded_headers_are_ignored_unless_the_proxy_is_trusted() -> None:
    behind = environ(
        "https://public.example",
        host="127.0.0.1:8080",
        HTTP_X_FORWARDED_PROTO="https",
        HTTP_X_FORWARDED_HOST="public.example",
    )
    assert not OriginPolicy().allows(behind)
    assert OriginPolicy(trust_proxy=True).allows(behind)


def test_a_trusted_proxy_chain_uses_the_first_value() -> None:
    behind = environ(
        "https://public.example",
        host="127.0.0.1:8080",
        HTTP_X_FORWARDED_PROTO="https, http",
        HTTP_X_FORWARDED_HOST="public.example, internal.lan",
    )
    assert OriginPolicy(trust_proxy=True).allows(behind)


def test_a_trusted_proxy_without_forwarded_headers_falls_back_to_the_request() -> None:
    assert OriginPolicy(trust_proxy=True).allows(environ("http://sessions.example:8080"))
    assert not OriginPolicy(trust_proxy=True).allows(environ("http://evil.example"))


def test_without_a_request_object_the_scheme_is_http() -> None:
    env = {"HTTP_HOST": "sessions.example", "HTTP_ORIGIN": "http://sessions.example"}
    assert OriginPolicy().allows(env)
    env["HTTP_ORIGIN"] = "https://sessions.example"
    assert not OriginPolicy().allows(env)
