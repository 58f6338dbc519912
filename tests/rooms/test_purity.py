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
EXPECTED_MODULES = frozenset(
    {"errors", "roles", "member", "room", "events", "commands", "engine"}
)


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
