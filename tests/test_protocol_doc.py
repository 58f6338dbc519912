"""docs/protocol.md against the code: every event, error code and reason the server can
send is documented, and the error-code table lists nothing the code cannot send.

Error codes are `rooms.errors.ErrorCode`: the table under "## Error codes" lists exactly
its values, and every member is used somewhere in server/, signaling/ or rooms/ (so the
enum, and with it the table, holds no code nothing sends). tests/test_vocabulary.py keeps
codes from being written as bare strings. Events and reasons are collected from the source
with `ast`; enum members used there are resolved by importing their enum.
"""

from __future__ import annotations

import ast
import importlib
import re
import typing
from collections.abc import Iterator
from enum import Enum
from pathlib import Path

import pytest

from rooms.errors import ErrorCode
from signaling.events import ClientEvent, OpsEvent, ServerEvent

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "protocol.md"
PACKAGES = ("server", "signaling", "rooms")

# Calls that put an event on the wire with its name as a plain string.
EMIT_CALLS = frozenset(
    {
        "emit",
        "_emit",
        "emit_to_sid",
        "send_to_member",
        "_send_to_member",
        "send_to_moderators",
        "_notify_member",
        "_notify_moderators",
        "on",
    }
)
EVENT_NAME = re.compile(r"^[a-z_]+\.[a-z_]+$")
# Events only the transport raises, registered with sio.on() like any other.
TRANSPORT_EVENTS = frozenset({"connect", "disconnect", "connect_error", "*"})


def _sources() -> Iterator[tuple[Path, ast.Module]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _call_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _imported_names(tree: ast.Module) -> dict[str, str]:
    """Name -> module it was imported from (`from X import Name`)."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                names[alias.asname or alias.name] = node.module
    return names


def _enum_member(node: ast.expr, tree: ast.Module, path: Path) -> Enum | None:
    """`SomeEnum.MEMBER` -> the member, importing the enum from where the module got it."""
    if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)):
        return None
    module = _imported_names(tree).get(node.value.id)
    if module is None:
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    enum = getattr(importlib.import_module(module), node.value.id, None)
    if isinstance(enum, type) and issubclass(enum, Enum):
        return enum[node.attr]
    return None


def collect_error_code_uses() -> dict[ErrorCode, set[str]]:
    """ErrorCode member -> the files that name it (`ErrorCode.X`), the enum's own aside."""
    found: dict[ErrorCode, set[str]] = {}
    for path, tree in _sources():
        if path == ROOT / "rooms" / "errors.py":
            continue
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "ErrorCode"
            ):
                found.setdefault(ErrorCode[node.attr], set()).add(str(path.relative_to(ROOT)))
    return found


def collect_bare_event_names() -> set[str]:
    """Event names server/ and signaling/ put on the wire without the enums."""
    names: set[str] = set()
    for _path, tree in _sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _call_name(node) in EMIT_CALLS:
                for arg in node.args:
                    if (
                        isinstance(arg, ast.Constant)
                        and isinstance(arg.value, str)
                        and EVENT_NAME.match(arg.value)
                    ):
                        names.add(arg.value)
            elif isinstance(node, ast.Assign):
                # a module constant such as EVENT_OFFER = "relay.offer"
                for target in node.targets:
                    if (
                        isinstance(target, ast.Name)
                        and target.id.startswith("EVENT_")
                        and isinstance(node.value, ast.Constant)
                        and isinstance(node.value.value, str)
                        and EVENT_NAME.match(node.value.value)
                    ):
                        names.add(node.value.value)
    return names


# --- reasons the codec can send ---------------------------------------------------


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}


def _enum_values_in(node: ast.AST, tree: ast.Module, path: Path) -> list[str]:
    values = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.Attribute):
            member = _enum_member(sub, tree, path)
            if member is not None:
                values.append(str(member.value))
    return values


def _resolve_reason(
    name: str, at: ast.AST, parents: dict[ast.AST, ast.AST], tree: ast.Module, path: Path
) -> set[str]:
    """The values `name.value` can have where it is used in codec.py: narrowed by an
    enclosing `if name in (...)` or `case ... as name`, else every value of the field's enum."""
    node: ast.AST | None = at
    while node is not None:
        # if reason in (LeaveReason.REMOVED, LeaveReason.DENIED): ...
        # if reason is LeaveReason.ENDED: ...
        if isinstance(node, ast.If):
            test = node.test
            if (
                isinstance(test, ast.Compare)
                and isinstance(test.left, ast.Name)
                and test.left.id == name
                and isinstance(test.ops[0], ast.In | ast.Is)
            ):
                return set(_enum_values_in(test.comparators[0], tree, path))
        if isinstance(node, ast.match_case):
            for sub in ast.walk(node.pattern):
                # case RoomStateChanged(new=RoomState.ENDED | RoomState.EXPIRED as new)
                if isinstance(sub, ast.MatchAs) and sub.name == name and sub.pattern is not None:
                    return set(_enum_values_in(sub.pattern, tree, path))
                # case MemberLeft(member=member, reason=reason): any value of the field's type
                if isinstance(sub, ast.MatchClass):
                    for attr, pattern in zip(sub.kwd_attrs, sub.kwd_patterns, strict=True):
                        if (
                            isinstance(pattern, ast.MatchAs)
                            and pattern.name == name
                            and pattern.pattern is None
                        ):
                            cls_name = sub.cls.id if isinstance(sub.cls, ast.Name) else ""
                            module = _imported_names(tree)[cls_name]
                            cls = getattr(importlib.import_module(module), cls_name)
                            field_type = typing.get_type_hints(cls)[attr]
                            assert issubclass(field_type, Enum), (cls_name, attr)
                            return {str(m.value) for m in field_type}
        node = parents.get(node)
    raise AssertionError(f"cannot tell which values {name}.value can have in codec.py")


def collect_codec_reasons() -> dict[str, set[str]]:
    """ServerEvent value -> every `reason` the codec can put in its payload."""
    path = ROOT / "signaling" / "codec.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = _parents(tree)
    reasons: dict[str, set[str]] = {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and node.args):
            continue
        event = _enum_member(node.args[0], tree, path)
        if not isinstance(event, ServerEvent):
            continue
        for arg in node.args[1:]:
            if not isinstance(arg, ast.Dict):
                continue
            for key, value in zip(arg.keys, arg.values, strict=True):
                if not (isinstance(key, ast.Constant) and key.value == "reason"):
                    continue
                bucket = reasons.setdefault(event.value, set())
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    bucket.add(value.value)
                elif (
                    isinstance(value, ast.Attribute)
                    and value.attr == "value"
                    and isinstance(value.value, ast.Name)
                ):
                    bucket |= _resolve_reason(value.value.id, node, parents, tree, path)
                else:
                    raise AssertionError(f"unrecognised reason expression at line {value.lineno}")
    return reasons


# --- the doc ------------------------------------------------------------------------


def _doc() -> str:
    return DOC.read_text(encoding="utf-8")


def _section(heading: str) -> str:
    text = _doc()
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start:] if end == -1 else text[start:end]


def documented_codes() -> set[str]:
    """First column of the table under "## Error codes"."""
    codes = set()
    for line in _section("Error codes").splitlines():
        match = re.match(r"^\|\s*`([^`]+)`\s*\|", line)
        if match:
            codes.add(match.group(1))
    return codes


def _backticked(text: str) -> set[str]:
    return set(re.findall(r"`([^`\n]+)`", text))


def _doc_row(event: str, text: str) -> str:
    """The line of a table whose first cell is the event."""
    for line in text.splitlines():
        if re.match(rf"^\|\s*`{re.escape(event)}`\s*\|", line):
            return line
    raise AssertionError(f"docs/protocol.md has no table row for {event}")


# --- tests --------------------------------------------------------------------------


@pytest.mark.parametrize("event", sorted({*ClientEvent, *ServerEvent, *OpsEvent}, key=str))
def test_every_enum_event_is_documented(event: str) -> None:
    assert f"`{event}`" in _doc(), f"{event} is missing from docs/protocol.md"


def test_no_event_is_sent_or_handled_by_a_bare_string() -> None:
    """Every event name lives in signaling/events.py (ClientEvent, ServerEvent, OpsEvent),
    whose members the test above holds to the doc."""
    names = collect_bare_event_names()
    assert not names, f"events sent or handled with bare strings, not enum members: {names}"


def test_every_server_event_has_a_row_in_the_server_to_client_table() -> None:
    table = _section("Server to client")
    for event in ServerEvent:
        _doc_row(event.value, table)


def test_the_doc_table_lists_each_code_once() -> None:
    rows = [
        match.group(1)
        for line in _section("Error codes").splitlines()
        if (match := re.match(r"^\|\s*`([^`]+)`\s*\|", line))
    ]
    assert len(rows) == len(set(rows)), sorted(r for r in rows if rows.count(r) > 1)


def test_every_error_code_is_in_the_doc_table() -> None:
    missing = sorted(code.value for code in ErrorCode if code.value not in documented_codes())
    assert not missing, f"ErrorCode values missing from the table in docs/protocol.md: {missing}"


def test_the_doc_table_lists_only_error_codes() -> None:
    stale = sorted(documented_codes() - {code.value for code in ErrorCode})
    assert not stale, f"docs/protocol.md documents codes that are not ErrorCode values: {stale}"


def test_every_error_code_is_sent_from_somewhere() -> None:
    uses = collect_error_code_uses()
    # A plausible number: far fewer files means the collection broke, not that codes went.
    assert len({path for paths in uses.values() for path in paths}) >= 10, uses
    unused = sorted(code.value for code in ErrorCode if code not in uses)
    assert not unused, f"ErrorCode members nothing in server/, signaling/, rooms/ sends: {unused}"


def test_codec_reason_collection_finds_the_reasoned_events() -> None:
    reasons = collect_codec_reasons()
    assert set(reasons) == {"peer.left", "session.removed", "session.ended"}, reasons
    assert {"left", "timeout", "removed", "ended", "sent_back"} <= reasons["peer.left"]
    assert reasons["session.removed"] == {"removed", "denied"}
    assert reasons["session.ended"] == {"ended", "expired"}


@pytest.mark.parametrize("event", ["peer.left", "session.removed", "session.ended"])
def test_every_reason_the_codec_sends_is_documented(event: str) -> None:
    reasons = collect_codec_reasons()[event]
    row = _doc_row(event, _section("Server to client"))
    # A reason is documented in the event's own row, or (peer.left) in its reason table.
    documented = _backticked(row) | set(re.findall(r"[\"|]([a-z_]+)(?=[|\"])", row))
    if event == "peer.left":
        section = _section("Server to client")
        start = section.index("**`peer.left` reasons**")
        end = section.find("**`FLOOR_EVENT`**", start)
        reasons_table = section[start:] if end == -1 else section[start:end]
        documented |= {m for m in re.findall(r"^\|\s*`([a-z_]+)`", reasons_table, re.M)}
        documented |= _backticked(reasons_table)
    missing = sorted(reasons - documented)
    assert not missing, f"{event} reasons missing from docs/protocol.md: {missing}"


def test_peer_left_doc_lists_no_reason_the_codec_cannot_send() -> None:
    row = _doc_row("peer.left", _section("Server to client"))
    match = re.search(r'"reason":\s*"([a-z_|]+)"', row)
    assert match is not None, row
    listed = set(match.group(1).split("|"))
    # `replaced` was listed once and never sent: a listed reason must be one the codec has.
    assert listed <= collect_codec_reasons()["peer.left"], listed
