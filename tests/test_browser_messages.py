"""The browser has words for every error code it can receive.

The page's message tables are `MESSAGES` in static/ui/messages.js (refusals and endings,
shown as a notice or when a join fails) and `FLOOR_REFUSALS` in static/ui/dom.js (refused
commands, announced in the status line). Together they must have an entry for every
`ErrorCode` the session page can be sent; codes only the admin API, /metrics or the ops
dashboard send are listed below with the reason.
"""

from __future__ import annotations

import re
from pathlib import Path

from rooms.errors import ErrorCode

ROOT = Path(__file__).resolve().parent.parent
TABLES = (
    (ROOT / "static" / "ui" / "messages.js", "MESSAGES"),
    (ROOT / "static" / "ui" / "dom.js", "FLOOR_REFUSALS"),
)

# Never sent to the session page (socket.io on "/"): answered over HTTP only.
NOT_FOR_THE_PAGE = {
    ErrorCode.UNAUTHORIZED: "admin API and /metrics: a missing or wrong bearer key",
    ErrorCode.INVALID_JSON: "admin API: the request body is not JSON",
    ErrorCode.INVALID_REQUEST: "admin API: the request body does not match its schema",
    ErrorCode.INVALID_NAME: "admin API: a name given to room create or invite",
    ErrorCode.TOO_MANY_PARTICIPANTS: "admin API: room create with too many names",
    ErrorCode.BODY_TOO_LARGE: "admin API: a request body over 64 KiB",
    ErrorCode.NOT_FOUND: "HTTP: no such route under /api/",
    ErrorCode.METHOD_NOT_ALLOWED: "HTTP: a route under /api/ that takes another method",
    ErrorCode.HTTP_ERROR: "HTTP: any other refusal under /api/",
    ErrorCode.INTERNAL_ERROR: "HTTP: a server bug answering under /api/",
    ErrorCode.METRICS_TOKEN_REQUIRED: "/metrics scraped from another machine",
}


def table_keys(path: Path, name: str) -> set[str]:
    """The keys of `const NAME = { key: ..., }` (one key per line, two-space indent)."""
    text = path.read_text(encoding="utf-8")
    match = re.search(rf"^const {name} = \{{\n(.*?)^\}};", text, re.M | re.S)
    assert match is not None, f"{path.name} has no table {name}"
    return set(re.findall(r"^  ([a-z_]+):", match.group(1), re.M))


def browser_words() -> set[str]:
    return set().union(*(table_keys(path, name) for path, name in TABLES))


def test_the_tables_are_found() -> None:
    for path, name in TABLES:
        # Both tables have a dozen entries or more; fewer means the regex broke.
        assert len(table_keys(path, name)) >= 12, (path.name, name)


def test_every_code_the_page_can_receive_has_words() -> None:
    words = browser_words()
    missing = sorted(
        code.value for code in ErrorCode if code not in NOT_FOR_THE_PAGE and code.value not in words
    )
    assert not missing, f"codes the session page can receive with no text in {TABLES}: {missing}"


def test_the_exclusions_are_not_in_the_tables() -> None:
    # A code with words in the page's tables is not "never sent to the page": one list is wrong.
    both = sorted(code.value for code in NOT_FOR_THE_PAGE if code.value in browser_words())
    assert not both, both
