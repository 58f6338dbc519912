"""Fault injectors reach join pages only when the server runs with --test-hooks."""

from __future__ import annotations

from server.cli.main import _settings_from, build_parser
from server.http.pages import STATIC_DIR, TEST_HOOKS_META
from tests.conftest import StartServer


async def test_a_deployment_serves_the_join_page_without_the_test_hooks_tag(
    start_server: StartServer,
) -> None:
    server = await start_server()
    page = await server.get("/join")
    assert page.status == 200
    assert "telehealth-test-hooks" not in page.body
    assert page.body == (STATIC_DIR / "join.html").read_text(encoding="utf-8")


async def test_test_mode_marks_the_join_page_and_keeps_its_headers(
    start_server: StartServer,
) -> None:
    server = await start_server(test_hooks=True)
    page = await server.get("/join")
    assert page.status == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    head = page.body.split("</head>", 1)[0]
    assert TEST_HOOKS_META in head
    assert page.body.replace(f"  {TEST_HOOKS_META}\n", "") == (STATIC_DIR / "join.html").read_text(
        encoding="utf-8"
    )


def test_the_flag_is_off_unless_asked_for() -> None:
    parser = build_parser()
    off = parser.parse_args(["serve"])
    on = parser.parse_args(["serve", "--test-hooks"])
    assert _settings_from(off).test_hooks is False
    assert _settings_from(on).test_hooks is True


def test_the_injectors_live_outside_the_read_only_hooks() -> None:
    read_only = (STATIC_DIR / "ui" / "test-hooks.js").read_text(encoding="utf-8")
    for injector in ("dropConnection", "failMedia", "speaking:"):
        assert injector not in read_only
