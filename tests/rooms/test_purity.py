"""The room domain stays pure: no I/O, no clocks, no randomness, no event loop.

Every .py under rooms/ is parsed (not imported) and its imports and a few
tell-tale calls are checked. Time always comes in on the command (`now`).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOMS = Path(__file__).resolve().parents[2] / "rooms"

# Top-level modules the domain must never import.
FORBIDDEN_MODULES = frozenset(
    {
        "asyncio",
        "aiohttp",
        "socketio",
        "engineio",
        "redis",
        "aiortc",
        "av",
        "time",
        "random",
        "os",
        "socket",
        "threading",
        "subprocess",
        "importlib",
    }
)
# `datetime.now()` and friends read the wall clock.
CLOCK_READS = frozenset({"now", "utcnow", "today"})
CLOCK_OWNERS = frozenset({"datetime", "date"})
# Builtins that reach outside (or around the import checks).
FORBIDDEN_CALLS = frozenset({"open", "__import__", "input"})

# Modules that must exist: if the walk finds fewer, it is looking in the wrong place.
EXPECTED_MODULES = frozenset({"errors", "roles", "member", "room", "events", "commands", "engine"})


def violations(source: str, filename: str = "<source>") -> list[str]:
    """Every impure construct in `source`, as 'line: what' strings."""
    tree = ast.parse(source, filename=filename)
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                if top in FORBIDDEN_MODULES:
                    found.append(f"{node.lineno}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom):
            top = (node.module or "").split(".")[0]
            if node.level == 0 and top in FORBIDDEN_MODULES:
                found.append(f"{node.lineno}: from {node.module} import ...")
            if node.level == 0 and top == "datetime":
                for alias in node.names:
                    if alias.name in CLOCK_READS:
                        found.append(f"{node.lineno}: from datetime import {alias.name}")
        elif isinstance(node, ast.Attribute) and node.attr in CLOCK_READS:
            owner = node.value
            name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", None)
            if name in CLOCK_OWNERS:
                found.append(f"{node.lineno}: {name}.{node.attr}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in FORBIDDEN_CALLS
        ):
            found.append(f"{node.lineno}: {node.func.id}()")
    return found


def domain_modules() -> list[Path]:
    return sorted(ROOMS.rglob("*.py"))


def test_the_walk_finds_the_domain_modules() -> None:
    paths = domain_modules()
    names = {p.stem for p in paths}
    assert names >= EXPECTED_MODULES, f"missing {EXPECTED_MODULES - names} under {ROOMS}"
    # Each of them has real code in it: the checker reads something substantial.
    for path in paths:
        if path.stem in EXPECTED_MODULES:
            tree = ast.parse(path.read_text(encoding="utf-8"))
            assert tree.body, f"{path} is empty"


@pytest.mark.parametrize("path", domain_modules(), ids=lambda p: p.relative_to(ROOMS).as_posix())
def test_domain_module_is_pure(path: Path) -> None:
    found = violations(path.read_text(encoding="utf-8"), str(path))
    assert not found, f"{path.relative_to(ROOMS.parent)} does I/O or reads a clock: {found}"


@pytest.mark.parametrize(
    "source",
    [
        "import asyncio",
        "import aiohttp.web",
        "import socketio",
        "import engineio",
        "from redis.asyncio import Redis",
        "import aiortc",
        "import av",
        "import time",
        "from time import monotonic",
        "import random as rnd",
        "from random import choice",
        "import os.path",
        "import socket",
        "import threading",
        "import subprocess",
        "import importlib",
        "from datetime import datetime\nx = datetime.now()",
        "import datetime\nx = datetime.datetime.now()",
        "import datetime\nx = datetime.date.today()",
        "from datetime import datetime\nx = datetime.utcnow()",
        "def f():\n    from time import time\n    return time()",
        "with open('x') as fh:\n    pass",
        "m = __import__('os')",
    ],
)
def test_checker_catches_impure_code(source: str) -> None:
    assert violations(source), f"checker missed: {source!r}"


@pytest.mark.parametrize(
    "source",
    [
        "from __future__ import annotations",
        "from dataclasses import dataclass, replace",
        "from enum import StrEnum",
        "from rooms.room import Room",
        "from . import floor",
        "from datetime import timedelta",
        "def f(now: float) -> float:\n    return now + 1",
        "class C:\n    def now(self):\n        return 0\nC().now()",
        "import timeit_helpers",
        "import osmosis",
    ],
)
def test_checker_allows_pure_code(source: str) -> None:
    assert violations(source) == []


# --- layers: imports go one way (docs/architecture.md) ----------------------------------
#
#   server  ->  signaling  ->  rooms
#
# `rooms` imports neither `signaling` nor `server`; `signaling` does not import `server`
# (what it needs from the process it declares in signaling/ports.py). Imports inside
# functions and `if TYPE_CHECKING:` blocks count too: a layer that needs another one's
# types depends on it.

PROJECT = ROOMS.parent
# For each layer, the layers above it, which it must never import.
LAYER_FORBIDS: dict[str, frozenset[str]] = {
    "rooms": frozenset({"signaling", "server"}),
    "signaling": frozenset({"server"}),
    "server": frozenset(),
}


def imported_modules(source: str, module: str) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in `source`, the source of `module`
    (dotted, e.g. "signaling.codec"); relative imports are resolved against it."""
    package = module.split(".")[:-1]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                base = node.module or ""
            else:
                parent = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                base = ".".join([*parent, *([node.module] if node.module else [])])
            if node.module is None:
                # `from . import x`: each name may be a module of that package.
                found.extend(
                    (node.lineno, ".".join(filter(None, (base, alias.name))))
                    for alias in node.names
                )
            else:
                found.append((node.lineno, base))
    return found


def layer_violations(source: str, module: str) -> list[str]:
    layer = module.split(".")[0]
    forbidden = LAYER_FORBIDS[layer]
    return [
        f"{line}: imports {name}"
        for line, name in imported_modules(source, module)
        if name.split(".")[0] in forbidden
    ]


def layer_modules() -> list[tuple[str, Path]]:
    """(dotted name, path) of every module of the layers that have something above them."""
    return [
        (".".join(path.relative_to(PROJECT).with_suffix("").parts), path)
        for layer in ("rooms", "signaling")
        for path in sorted((PROJECT / layer).rglob("*.py"))
    ]


def test_the_layer_walk_finds_both_lower_layers() -> None:
    names = {module for module, _ in layer_modules()}
    assert {"rooms.engine", "signaling.codec", "signaling.gateway", "signaling.ports"} <= names


@pytest.mark.parametrize(("module", "path"), [pytest.param(m, p, id=m) for m, p in layer_modules()])
def test_imports_go_one_way(module: str, path: Path) -> None:
    found = layer_violations(path.read_text(encoding="utf-8"), module)
    assert not found, f"{module} imports a layer above it: {found}"


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("rooms.engine", "import signaling"),
        ("rooms.engine", "from signaling.codec import to_wire"),
        ("rooms.engine", "import server.app"),
        ("rooms.engine", "from server import quality"),
        ("rooms.engine", "def f():\n    from signaling import ports"),
        (
            "rooms.engine",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from server.app import create_app",
        ),
        ("rooms.engine", "from .. import server"),
        ("rooms.engine", "from ..signaling import codec"),
        ("signaling.gateway", "from server.room_service import RoomService"),
        ("signaling.gateway", "import server.ops.quality as q"),
        ("signaling.gateway", "from ..server import app"),
    ],
)
def test_layer_checker_catches_upward_imports(module: str, source: str) -> None:
    assert layer_violations(source, module), f"checker missed: {source!r} in {module}"


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("rooms.engine", "from rooms.room import Room"),
        ("rooms.engine", "from . import floor"),
        ("rooms.engine", "from .floor_state import FloorState"),
        ("rooms.engine", "import servers_of_the_realm"),
        ("signaling.gateway", "from rooms.engine import apply"),
        ("signaling.gateway", "from signaling import codec"),
        ("signaling.gateway", "from . import codec"),
        ("signaling.gateway", "import socketio"),
        ("server.app", "from signaling.gateway import Signaling"),
        ("server.app", "from rooms.room import Room"),
    ],
)
def test_layer_checker_allows_downward_imports(module: str, source: str) -> None:
    assert layer_violations(source, module) == []
