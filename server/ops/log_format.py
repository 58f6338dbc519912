"""Structured (JSON lines) logging and the redaction every log record passes through.

Join links carry a bearer token in their fragment (`/join#t=TOKEN`). Servers never
see fragments, but our own code might still format a link or a token into a
message by mistake; the redaction filter is the net under that mistake.
"""

from __future__ import annotations

import json as _json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, Final, TextIO

REDACTED: Final = "[redacted]"

# A JWT is three base64url segments. Every JWT header is a JSON object, so its
# first segment starts with "eyJ" (base64 of '{"'); the second alternative catches
# other long three-segment tokens without touching dotted names such as
# "www.example.com" or "server.audit.log" (their segments are short).
_JWT = (
    r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"
    r"|[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}"
)
# `t=VALUE` as a parameter of a link fragment or query: `/join#t=...`, `&t=...`.
_LINK_TOKEN = r"(?<=[#&?])t=[^&\s\"'<>]*"
SECRET_PATTERN: Final = re.compile(rf"(?<![A-Za-z0-9_-])(?:{_JWT})(?![A-Za-z0-9_-])|{_LINK_TOKEN}")

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD_RECORD_ATTRS: Final = frozenset(
    vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None))
) | {"message", "asctime", "taskName"}

# Extra fields that name a person rather than a pseudonymous id: fine while
# debugging on a developer machine, never in production logs.
_PERSONAL_EXTRA_FIELDS: Final = ("display_name",)


def looks_like_secret(text: str) -> bool:
    """True when `text` contains something shaped like a JWT or a `t=` link token."""
    return SECRET_PATTERN.search(text) is not None


def redact(text: str) -> str:
    """`text` with every JWT-looking token and `t=` link fragment replaced by [redacted]."""
    return SECRET_PATTERN.sub(REDACTED, text)


class RedactionFilter(logging.Filter):
    """Scrubs tokens from every record and drops personal extra fields at INFO and above.

    Installed on the handler (not a logger) so that records propagated from any
    child logger pass through it too.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = redact(message)
        if scrubbed != message:
            record.msg = scrubbed
            record.args = None
        if record.exc_info and not record.exc_text:
            # Format the traceback now so that its text can be scrubbed too:
            # exception messages are a classic way tokens leak.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        for name, value in list(vars(record).items()):
            if name not in _STANDARD_RECORD_ATTRS and isinstance(value, str):
                setattr(record, name, redact(value))
        if record.levelno >= logging.INFO:
            for name in _PERSONAL_EXTRA_FIELDS:
                record.__dict__.pop(name, None)
        return True


def _utc_timestamp(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, then any `extra=` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": _utc_timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for name, value in vars(record).items():
            if name not in _STANDARD_RECORD_ATTRS and not name.startswith("_"):
                entry[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return _json.dumps(entry, default=str, ensure_ascii=False)


class _TextFormatter(logging.Formatter):
    """Human-readable lines for a terminal; shows the same extra fields as key=value."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = [
            f"{name}={value}"
            for name, value in vars(record).items()
            if name not in _STANDARD_RECORD_ATTRS and not name.startswith("_")
        ]
        if not extras:
            return line
        head, newline, rest = line.partition("\n")
        return f"{head} [{' '.join(extras)}]{newline}{rest}"


class _ConfiguredHandler(logging.StreamHandler[TextIO]):
    """Marks the handler configure_logging installed, so a second call replaces it."""


def configure_logging(
    level: str = "INFO", json: bool = True, *, stream: TextIO | None = None
) -> logging.Handler:
    """Send all logging to `stream` (stderr) as JSON lines (or text), with redaction.

    Safe to call more than once: the handler installed by an earlier call is replaced.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _ConfiguredHandler):
            root.removeHandler(handler)
            handler.close()
    handler = _ConfiguredHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if json else _TextFormatter())
    handler.addFilter(RedactionFilter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    return handler
