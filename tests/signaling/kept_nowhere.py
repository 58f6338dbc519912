"""For tests of what must never be kept (chat, emergency information): which files of
a data directory hold any of the given texts."""

from __future__ import annotations

from pathlib import Path


def files_holding(directory: Path | str, *texts: str) -> list[Path]:
    needles = [text.encode() for text in texts]
    return [
        path
        for path in Path(directory).rglob("*")
        if path.is_file() and any(needle in path.read_bytes() for needle in needles)
    ]
