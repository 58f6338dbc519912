"""The JSON module python-socketio and python-engineio decode with: depth-bounded.

CPython's decoder recurses once per nesting level, so `[[[[...` 1,000 deep (6 KB) raised
RecursionError from inside the transport. `loads` refuses anything nested deeper than
MAX_DEPTH before decoding, with `NestingTooDeep` (a ValueError, which the libraries
already treat as "not JSON").

The check costs about what json.loads itself costs, and nothing for ordinary messages:
a text with at most MAX_DEPTH opening brackets cannot be too deep. Otherwise strings
(which may hold brackets) and everything but brackets are cut out with two regular
expressions; then each pass deletes the innermost `[]`/`{}` pairs, and a run of more
than MAX_DEPTH openers means too deep. At most MAX_DEPTH + 1 passes, each in C.
"""

from __future__ import annotations

import json
import re
from typing import Any

from engineio.json import loads as _engineio_loads

MAX_DEPTH = 32
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_TOO_DEEP_RUN = re.compile(r"[\[{]{" + str(MAX_DEPTH + 1) + "}")


class NestingTooDeep(ValueError):
    def __init__(self) -> None:
        super().__init__(f"JSON nested deeper than {MAX_DEPTH} levels")


def too_deep(text: str) -> bool:
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return False
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    for _ in range(MAX_DEPTH + 1):
        if _TOO_DEEP_RUN.search(brackets):
            return True
        before = len(brackets)
        brackets = brackets.replace("[]", "").replace("{}", "")
        if len(brackets) == before:
            return False  # balanced and shallow, or not JSON (json.loads will say so)
    return bool(brackets)


def loads(s: str | bytes | bytearray, *args: Any, **kwargs: Any) -> Any:
    text = s if isinstance(s, str) else bytes(s).decode("utf-8")
    if too_deep(text):
        raise NestingTooDeep()
    # engineio's loads also refuses integers of more than 100 digits (int() is quadratic).
    return _engineio_loads(text, *args, **kwargs)


dumps = json.dumps
