"""One vocabulary: error codes are `rooms.errors.ErrorCode`, event names are the enums of
`signaling/events.py`, and nothing in rooms/, signaling/ or server/ spells one of their
values as a bare string.

A string literal equal to a code or an event name is allowed only
- in a docstring,
- in the enum that defines it,
- as a dict key or a subscript (`{"error": {...}}`, `view["waiting"]`): a JSON field
  name, not a code or an event,
- in the few definitions of another vocabulary that happen to share a spelling
  (OTHER_VOCABULARIES below, each with its reason).
Comments are not in the AST, so they never count.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Iterator
from enum import Enum
from pathlib import Path

import pytest

import signaling.events
from rooms.errors import ErrorCode

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("rooms", "signaling", "server")

EVENT_ENUMS: tuple[type[Enum], ...] = tuple(
    obj
    for _name, obj in inspect.getmembers(signaling.events, inspect.isclass)
    if issubclass(obj, Enum) and obj.__module__ == signaling.events.__name__
)
# (file, class) -> where the vocabulary is defined.
DEFINITIONS = frozenset(
    {
        ("rooms/errors.py", "ErrorCode"),
        *(("signaling/events.py", enum.__name__) for enum in EVENT_ENUMS),
    }
)
# (file, class, value) -> why a member of another enum is spelled like a code or an event.
OTHER_VOCABULARIES = {
    (
        "rooms/member.py",
        "Admission",
        "waiting",
    ): "a member's admission; ErrorCode.WAITING refuses a member in that state",
    (
        "signaling/frame_guard.py",
        "FrameKind",
        "unknown_event",
    ): "a metric label: the kind of bad frame answered with ErrorCode.UNKNOWN_EVENT",
    (
        "signaling/frame_guard.py",
        "FrameKind",
        "not_connected",
    ): "a metric label: the kind of bad frame answered with ErrorCode.NOT_CONNECTED",
}


def vocabulary() -> dict[str, str]:
    """value -> what it is ("ErrorCode.ROOM_ENDED", "ServerEvent.ERROR", ...)."""
    words: dict[str, str] = {}
    for enum in (ErrorCode, *EVENT_ENUMS):
        for member in enum:
            words.setdefault(str(member.value), f"{enum.__name__}.{member.name}")
    return words


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}


def _allowed(node: ast.Constant, parents: dict[ast.AST, ast.AST], where: str) -> bool:
    parent = parents.get(node)
    if isinstance(parent, ast.Expr):
        return True  # a docstring (or any bare string statement)
    if isinstance(parent, ast.Dict) and any(key is node for key in parent.keys):
        return True  # a JSON field name
    if isinstance(parent, ast.Subscript) and parent.slice is node:
        return True  # a JSON field name
    # An enum member: NAME = "value" (or NAME = "value", "message") in a class body.
    assign = parents.get(parent) if isinstance(parent, ast.Tuple) else parent
    owner = parents.get(assign) if isinstance(assign, ast.Assign) else None
    if isinstance(owner, ast.ClassDef):
        if (where, owner.name) in DEFINITIONS:
            return True
        if (where, owner.name, node.value) in OTHER_VOCABULARIES:
            return True
    return False


def bare_words(source: str, where: str, words: dict[str, str]) -> Iterator[str]:
    """`file:line: 'value' (what it is)` for every bare use in the source."""
    tree = ast.parse(source)
    parents = _parents(tree)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value in words
            and not _allowed(node, parents, where)
        ):
            yield f"{where}:{node.lineno}: {node.value!r} (use {words[node.value]})"


def _sources() -> Iterator[tuple[str, str]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")


def test_no_code_or_event_name_is_a_bare_string() -> None:
    words = vocabulary()
    found = [hit for where, source in _sources() for hit in bare_words(source, where, words)]
    assert not found, "spell these with their enum:\n" + "\n".join(found)


def test_the_exceptions_still_exist() -> None:
    """An exception whose definition is gone is removed from the list, not kept 'just in case'."""
    words = vocabulary()
    for (where, cls, value), _why in OTHER_VOCABULARIES.items():
        assert value in words, (where, cls, value)
        tree = ast.parse((ROOT / where).read_text(encoding="utf-8"))
        classes = [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == cls]
        assert classes, f"{where} no longer defines {cls}"
        values = {n.value for n in ast.walk(classes[0]) if isinstance(n, ast.Constant)}
        assert value in values, f"{where}: {cls} no longer has {value!r}"


def test_the_scan_finds_bare_codes_and_events() -> None:
    source = '''
"""A docstring may say "room_ended"."""
from enum import StrEnum

class Other(StrEnum):
    WAITING = "waiting"

def f(reply):
    raise DomainError("room_ended", "This session has ended.")
    emit("peer.joined", {"error": reply["waiting"]})
    return {"code": "not_allowed"}
'''
    hits = list(bare_words(source, "server/example.py", vocabulary()))
    assert [hit.split(": ", 1)[1].split(" ")[0] for hit in hits] == [
        "'waiting'",
        "'room_ended'",
        "'peer.joined'",
        "'not_allowed'",
    ], hits


@pytest.mark.parametrize("enum", [ErrorCode, *EVENT_ENUMS], ids=lambda e: e.__name__)
def test_no_value_is_an_alias(enum: type[Enum]) -> None:
    # Two members with one value make the second an alias of the first, silently.
    aliases = [name for name, member in enum.__members__.items() if member.name != name]
    assert not aliases, aliases


def test_every_error_code_has_a_message() -> None:
    assert len(ErrorCode) >= 60
    for code in ErrorCode:
        assert code.value == code.name.lower(), code
        assert code.message.strip() and code.message[-1] in ".?!", code
