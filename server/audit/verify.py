"""Verification of an audit log's hash chain: `telehealth audit verify PATH`.

Reads each file whole and checks every line with one regular-expression match
(the exact grammar the writer produces, which is a strict subset of JSON) and
one SHA-256: 100,000 entries take about half a second. Parsing each line with
`json.loads` instead would take several times longer.

A directory may hold several chains (the original `audit.jsonl` one and one per
process of a Redis deployment, `audit-pid<pid>.jsonl`): `verify_directory` and
the CLI check every one of them, each on its own.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final, TextIO

from server.audit.log import (
    CURRENT_FILE,
    GENESIS_HASH,
    HASH_FIELD_PREFIX,
    HASH_HEX_LEN,
    ChainId,
    audit_chains,
    audit_files,
)

# From the start of the hash field to the end of the line (newline excluded).
_HASH_TAIL_LEN: Final = len(HASH_FIELD_PREFIX) + HASH_HEX_LEN + len(b'"}')

# The grammar of a line as AuditLog writes it: canonical JSON (sorted keys, no
# spaces, ASCII with \u escapes) with the hash field last. Possessive quantifiers
# (`++`, `*+`) keep matching linear on any input.
_STRING = rb'"(?:[\x20\x21\x23-\x5b\x5d-\x7f]++|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*+"'
_NUMBER = rb"-?(?:0|[1-9][0-9]*+)(?:\.[0-9]++)?(?:[eE][-+]?[0-9]++)?"
_SCALAR = rb"(?:" + _STRING + rb"|" + _NUMBER + rb"|true|false|null)"
_STRING_OR_NULL = rb"(?:null|" + _STRING + rb")"
_DETAIL = _STRING + rb":" + _SCALAR
_LINE: Final = re.compile(
    rb'\{"details":\{(?:' + _DETAIL + rb"(?:," + _DETAIL + rb")*+)?\}"
    rb',"event":' + _STRING
    + rb',"prev":"([0-9a-f]{64})"'
    rb',"role":' + _STRING_OR_NULL
    + rb',"room":' + _STRING_OR_NULL
    + rb',"seq":([1-9][0-9]{0,17})'
    rb',"subject":' + _STRING_OR_NULL
    + rb',"ts":' + _STRING
    + rb',"hash":"([0-9a-f]{64})"\}'
)  # fmt: skip


class Breakage(StrEnum):
    TRUNCATED = "truncated"
    UNPARSABLE = "unparsable line"
    BAD_HASH = "bad hash"
    WRONG_PREV = "wrong prev"
    SEQ_GAP = "seq gap"


@dataclass(frozen=True, slots=True)
class BrokenLink:
    file: Path
    line: int  # 1-based, within `file`
    seq: int | None  # as written on the line, when readable
    kind: Breakage
    detail: str


@dataclass(frozen=True, slots=True)
class VerifyReport:
    files: tuple[Path, ...]
    entries: int  # entries verified intact (before the break, if any)
    last_seq: int | None
    last_hash: str | None
    broken: BrokenLink | None = None

    @property
    def intact(self) -> bool:
        return self.broken is None

    def __str__(self) -> str:
        if self.broken is None:
            files = "1 file" if len(self.files) == 1 else f"{len(self.files)} files"
            head = f", last seq {self.last_seq}, head {self.last_hash}" if self.entries else ""
            return f"intact, {self.entries} entries ({files}){head}"
        link = self.broken
        seq = f" (seq {link.seq})" if link.seq is not None else ""
        return (
            f"BROKEN at {link.file} line {link.line}{seq}: {link.kind}: {link.detail}\n"
            f"{self.entries} entries verified intact before it"
        )


class _Chain:
    """What the next line must continue: None until anchored by a first line."""

    def __init__(self, seq: int | None, prev: str | None) -> None:
        self.expected_seq = seq
        self.expected_prev = prev
        self.entries = 0


@dataclass(frozen=True, slots=True)
class ChainReport:
    """One chain of a directory: which writer, and its report."""

    pid: ChainId  # None for the original chain, audit.jsonl
    report: VerifyReport

    @property
    def name(self) -> str:
        return CURRENT_FILE if self.pid is None else f"pid {self.pid}"

    def __str__(self) -> str:
        return f"{self.name}: {self.report}"


def verify_chain(path: Path, pid: ChainId = None) -> VerifyReport:
    """Verify one chain of an audit directory (all its files) or a single file.

    For a directory, `pid` picks the chain: None for the original one
    (`audit.jsonl` and its rotations), else that process's (`audit-pid<pid>…`).
    A directory's chain must start at seq 1 from the genesis hash. A single file
    may be a rotated one that continues an earlier file: its first line is then
    taken as the anchor (its own hash is still checked).
    Raises OSError (FileNotFoundError included) when nothing can be read.
    """
    if path.is_dir():
        return _verify_files(audit_files(path, pid), path)
    return _verify_files([path], path, anchored=False)


def verify_directory(path: Path) -> tuple[ChainReport, ...]:
    """Verify every chain of an audit directory, each on its own.

    Raises OSError (FileNotFoundError included) when it holds no audit files.
    """
    chains = audit_chains(path)
    if not chains:
        raise FileNotFoundError(f"no audit files in {path}")
    return tuple(ChainReport(pid, _verify_files(files, path)) for pid, files in chains.items())


def _verify_files(files: list[Path], where: Path, *, anchored: bool = True) -> VerifyReport:
    if not files:
        raise FileNotFoundError(f"no audit files in {where}")
    chain = _Chain(1, GENESIS_HASH) if anchored else _Chain(None, None)
    for file in files:
        broken = _verify_file(file, file.read_bytes(), chain)
        if broken is not None:
            return VerifyReport(
                tuple(files), chain.entries, _last_seq(chain), chain.expected_prev, broken
            )
    return VerifyReport(tuple(files), chain.entries, _last_seq(chain), chain.expected_prev)


def _last_seq(chain: _Chain) -> int | None:
    return None if chain.expected_seq is None or chain.entries == 0 else chain.expected_seq - 1


def _verify_file(file: Path, data: bytes, chain: _Chain) -> BrokenLink | None:
    lines = data.split(b"\n")
    unterminated = lines.pop()  # b"" when the file ends with a newline, as it should
    for number, line in enumerate(lines, 1):
        problem = _check_line(line, chain)
        if problem is not None:
            return BrokenLink(file, number, *problem)
    if unterminated:
        detail = f"the last line is cut short ({len(unterminated)} bytes without a newline)"
        return BrokenLink(file, len(lines) + 1, None, Breakage.TRUNCATED, detail)
    return None


def _check_line(line: bytes, chain: _Chain) -> tuple[int | None, Breakage, str] | None:
    """(seq, kind, detail) of what is wrong with `line`; None after advancing `chain`."""
    match = _LINE.fullmatch(line)
    if match is None:
        return None, Breakage.UNPARSABLE, _why_unparsable(line)
    prev, seq, claimed = match[1].decode(), int(match[2]), match[3].decode()
    # The hash covers the line's bytes as written (the canonical JSON without the
    # trailing hash field), so a change to any byte is caught, even one that
    # parses to the same value (`\u00e9` -> `\u00E9`, `1.0` -> `1.00`).
    actual = hashlib.sha256(line[:-_HASH_TAIL_LEN] + b"}").hexdigest()
    if actual != claimed:
        return seq, Breakage.BAD_HASH, f"hash {claimed} but the content hashes to {actual}"
    expected_seq, expected_prev = chain.expected_seq, chain.expected_prev
    if expected_prev is None:  # an anchoring first line
        if seq == 1 and prev != GENESIS_HASH:
            return seq, Breakage.WRONG_PREV, "seq 1 must follow the genesis hash"
    elif prev != expected_prev:
        seq_note = "" if seq == expected_seq else f"; seq {seq} where {expected_seq} was due"
        return (
            seq,
            Breakage.WRONG_PREV,
            f"prev {prev} is not the hash of the entry before it ({expected_prev}){seq_note}:"
            " a line before this one was changed, removed or inserted",
        )
    if expected_seq is not None and seq != expected_seq:
        return seq, Breakage.SEQ_GAP, f"seq {seq} where {expected_seq} was due"
    chain.expected_seq, chain.expected_prev = seq + 1, claimed
    chain.entries += 1
    return None


def _why_unparsable(line: bytes) -> str:
    """Only for the (rare) line that fails the grammar: say how, for the report."""
    try:
        entry = json.loads(line)
    except ValueError as error:
        return f"not JSON ({error})"
    if not isinstance(entry, dict):
        return "not a JSON object"
    return "not in the audit entry format (its fields, their order or their types)"


def run_verify(path: str, *, out: TextIO | None = None) -> int:
    """Print the report for `path`; exit code 0 intact, 1 broken, 2 unreadable.

    For a directory, one report per chain (`audit.jsonl: …`, `pid 4242: …`), and
    exit code 1 if any chain is broken.
    """
    stream = out if out is not None else sys.stdout
    target = Path(path)
    try:
        reports = (
            verify_directory(target)
            if target.is_dir()
            else (ChainReport(None, verify_chain(target)),)
        )
    except OSError as error:
        print(f"cannot read audit log: {error}", file=stream)
        return 2
    if not target.is_dir():
        print(reports[0].report, file=stream)
    else:
        for chain in reports:
            print(chain, file=stream)
        if len(reports) > 1:
            broken = sum(not chain.report.intact for chain in reports)
            verdict = "all intact" if not broken else f"{broken} broken"
            print(f"{len(reports)} chains, {verdict}", file=stream)
    return 0 if all(chain.report.intact for chain in reports) else 1
