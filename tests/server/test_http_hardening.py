"""Every HTTP answer, errors included, carries the security headers and no version;
aiohttp's own 404/405 become JSON under /api/ and a small HTML page elsewhere;
/metrics answers only this machine, or a bearer token."""

from __future__ import annotations

import logging

import pytest
from aiohttp.test_utils import make_mocked_request
from yarl import URL

from server.cli.main import main
from server.ops.metrics_access import is_local, metrics_refusal
from server.settings import Settings
from tests.conftest import HttpReply, LiveServer, StartServer

TOKEN = "0123456789abcdef0123"


def assert_hardened(reply: HttpReply) -> None:
    headers = reply.headers
    assert headers["Server"] == "telehealth"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


async def test_the_csp_lets_pages_connect_to_their_own_origin_only(
    live_server: LiveServer,
) -> None:
    page = await live_server.get("/join")
    directives = dict(
        d.strip().split(" ", 1) for d in page.headers["Content-Security-Policy"].split(";")
    )
    assert directives["connect-src"] == "'self'"  # no ws:/wss: to any host


@pytest.mark.parametrize("path", ["/", "/join", "/healthz", "/static/style.css", "/metrics"])
async def test_pages_and_probes_carry_the_headers_and_no_version(
    live_server: LiveServer, path: str
) -> None:
    reply = await live_server.get(path)
    assert reply.status == 200
    assert_hardened(reply)
    assert "aiohttp" not in reply.headers["Server"].lower()


@pytest.mark.parametrize("path", ["/nothing-here", "/static/missing.js", "/join/extra"])
async def test_a_missing_page_is_a_small_html_404_with_the_headers(
    live_server: LiveServer, path: str
) -> None:
    reply = await live_server.get(path)
    assert reply.status == 404
    assert_hardened(reply)
    assert reply.headers["Content-Type"].startswith("text/html")
    assert "<title>404 Not Found</title>" in reply.body
    assert path not in reply.body  # nothing from the request is echoed


async def test_a_missing_api_route_is_json(live_server: LiveServer) -> None:
    reply = await live_server.post("/api/nothing", {})
    assert reply.status == 404
    assert_hardened(reply)
    assert reply.headers["Content-Type"].startswith("application/json")
    assert reply.body["error"]["code"] == "not_found"
    assert reply.body["error"]["message"]


async def test_a_wrong_method_is_405_json_under_api_and_html_elsewhere(
    live_server: LiveServer,
) -> None:
    api = await live_server.get("/api/rooms")
    assert api.status == 405
    assert_hardened(api)
    assert api.body["error"] == {
        "code": "method_not_allowed",
        "message": "GET is not allowed here.",
    }
    assert api.headers["Allow"] == "POST"
    page = await live_server.post("/join", {})
    assert page.status == 405
    assert_hardened(page)
    assert page.headers["Content-Type"].startswith("text/html")
    assert "Method Not Allowed" in page.body


async def test_our_own_json_errors_are_kept(live_server: LiveServer) -> None:
    reply = await live_server.post("/api/rooms", None, raw=b"{not json")
    assert reply.status == 400
    assert reply.body["error"]["code"] == "invalid_json"
    assert_hardened(reply)


async def test_metrics_refuse_a_scrape_a_proxy_forwarded(live_server: LiveServer) -> None:
    assert (await live_server.get("/metrics")).status == 200  # this machine: no step needed
    forwarded = await live_server.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert forwarded.status == 403
    assert forwarded.body["error"]["code"] == "metrics_token_required"
    assert "--metrics-token" in forwarded.body["error"]["message"]
    assert_hardened(forwarded)


async def test_metrics_with_a_token_need_it_from_everyone(start_server: StartServer) -> None:
    server = await start_server(metrics_token=TOKEN)
    missing = await server.get("/metrics")
    assert missing.status == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert missing.body["error"]["code"] == "unauthorized"
    wrong = await server.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}x"})
    assert wrong.status == 401
    right = await server.get(
        "/metrics", headers={"Authorization": f"Bearer {TOKEN}", "X-Forwarded-For": "203.0.113.9"}
    )
    assert right.status == 200
    assert "telehealth_rooms" in right.body


@pytest.mark.parametrize(
    ("remote", "local"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("192.0.2.7", False),
        ("10.0.0.2", False),
        ("2001:db8::1", False),
        ("", False),
    ],
)
def test_only_loopback_peers_are_local(remote: str, local: bool) -> None:
    request = make_mocked_request("GET", "/metrics").clone(remote=remote)
    assert is_local(request) is local
    refusal = metrics_refusal(request, None)
    assert (refusal is None) is local
    if refusal is not None:
        assert refusal.status == 403


@pytest.mark.parametrize(
    ("token", "complaint"),
    [
        ("short", "at least 16 characters"),
        ("0123456789abcdef 012", "without spaces"),
        ("0123456789abcdef\n012", "printable ASCII"),
    ],
)
def test_an_unusable_metrics_token_is_refused_clearly(
    token: str, complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ValueError, match=complaint):
        Settings(metrics_token=token)
    # `serve` configures the root logger on this test's captured stderr: put it back, or
    # later tests log into a closed stream ("I/O operation on closed file").
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    try:
        assert main(["serve", "--port", "0", "--metrics-token", token]) == 2
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
    assert complaint in capsys.readouterr().err


def test_the_metrics_token_is_not_in_the_settings_repr() -> None:
    assert TOKEN not in repr(Settings(metrics_token=TOKEN))


@pytest.mark.parametrize(
    "raw_path",
    [
        "/static/..%2Fserver%2Fapp.py",
        "/static/%2e%2e/pyproject.toml",
        "/static/ui/../../server/settings.py",
        "/static/ui",
    ],
)
async def test_static_files_stay_inside_the_static_directory(
    live_server: LiveServer, raw_path: str
) -> None:
    url = URL(live_server.base_url + raw_path, encoded=True)
    async with live_server.http.get(url) as response:
        body = await response.text()
    assert response.status == 404, body
    assert "import" not in body and "[project]" not in body
    assert response.headers["Server"] == "telehealth"
