"""Structured logging: one JSON object per line, tokens redacted, display names kept out."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from server.ops.log_format import configure_logging, looks_like_secret, redact

JWT = "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJwXzEyMyIsInJvb20iOiJyXzEifQ.c2lnbmF0dXJl"


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    buffer = io.StringIO()
    yield buffer
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)


def records(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_one_json_object_per_record_with_extra_fields(stream: io.StringIO) -> None:
    configure_logging("INFO", stream=stream)
    logging.getLogger("server.rooms").info(
        "member %s admitted", "p_2", extra={"room": "r_1", "participant": "p_2", "event": "admit"}
    )
    [record] = records(stream)
    assert record["level"] == "INFO"
    assert record["logger"] == "server.rooms"
    assert record["msg"] == "member p_2 admitted"
    assert (record["room"], record["participant"], record["event"]) == ("r_1", "p_2", "admit")
    assert record["ts"].endswith("Z") and record["ts"][10] == "T"


def test_level_filters_records(stream: io.StringIO) -> None:
    configure_logging("WARNING", stream=stream)
    logging.getLogger("x").info("quiet")
    logging.getLogger("x").warning("loud")
    assert [record["msg"] for record in records(stream)] == ["loud"]


def test_exceptions_are_one_line_of_json(stream: io.StringIO) -> None:
    configure_logging(stream=stream)
    try:
        raise RuntimeError(f"bad token {JWT}")
    except RuntimeError:
        logging.getLogger("x").exception("failed")
    [record] = records(stream)
    assert "RuntimeError" in record["exc"]
    assert JWT not in stream.getvalue()


def test_jwts_and_link_fragments_are_redacted_at_every_level(stream: io.StringIO) -> None:
    configure_logging("DEBUG", stream=stream)
    log = logging.getLogger("server.auth")
    log.debug("token %s refused", JWT)
    log.info("link http://127.0.0.1:8080/join#t=abc.def-ghi sent")
    log.warning("in an extra", extra={"event": f"refused {JWT}"})
    output = stream.getvalue()
    assert JWT not in output and "abc.def-ghi" not in output
    messages = [record["msg"] for record in records(stream)]
    assert messages[0] == "token [redacted] refused"
    assert messages[1] == "link http://127.0.0.1:8080/join#[redacted] sent"
    assert records(stream)[2]["event"] == "refused [redacted]"


def test_display_name_is_dropped_at_info_and_kept_at_debug(stream: io.StringIO) -> None:
    configure_logging("DEBUG", stream=stream)
    log = logging.getLogger("server.signaling")
    log.debug("joined", extra={"participant": "p_1", "display_name": "Alex"})
    log.info("joined", extra={"participant": "p_1", "display_name": "Alex"})
    debug, info = records(stream)
    assert debug["display_name"] == "Alex"
    assert "display_name" not in info and info["participant"] == "p_1"


def test_text_mode_is_redacted_too(stream: io.StringIO) -> None:
    configure_logging("INFO", json=False, stream=stream)
    logging.getLogger("x").info("got %s", JWT, extra={"room": "r_1", "display_name": "Alex"})
    line = stream.getvalue()
    assert "got [redacted]" in line and "room=r_1" in line
    assert JWT not in line and "Alex" not in line


def test_configuring_twice_keeps_one_handler(stream: io.StringIO) -> None:
    configure_logging(stream=stream)
    configure_logging(stream=stream)
    logging.getLogger("x").warning("once")
    assert len(records(stream)) == 1


@pytest.mark.parametrize(
    "text",
    ["www.example.com", "server.audit.verify", "v1.2.3", "p_123", "rate=20 burst=60", "start=5"],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert not looks_like_secret(text)
    assert redact(text) == text


def test_unsigned_and_long_tokens_are_recognised() -> None:
    assert looks_like_secret("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")
    assert looks_like_secret("Bearer abcdefghijklmnopqrstu.abcdefghijklmnopqrstu.abcdefghijklmnop")
    assert redact("?t=xyz&room=1") == "?[redacted]&room=1"
