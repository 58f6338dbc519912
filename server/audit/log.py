"""Append-only, hash-chained audit log of who joined, left, was admitted, muted, refused.

One JSON object per line. Each entry carries the hash of the previous one (`prev`)
and its own (`hash`), so editing, deleting, inserting or reordering a line breaks
the chain at that point; `server.audit.verify` finds the first broken link.
The format is written down in docs/audit.md.

A directory holds one chain per writer. A process of the embedded (SQLite)
deployment writes the directory's original chain, `audit.jsonl`; each process of
a Redis deployment, where several share one data directory, writes its own chain
named by its process id, `audit-pid<pid>.jsonl` (`AuditLog(pid=...)`). Each chain
has its own rotation, hash chain and lock.

Nothing clinical and nothing secret is ever recorded: `details` keys are checked
against a deny-list, values that look like tokens are refused, and IP addresses
are refused unless the deployment opts in with `record_ip=True`.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Final, Self

from server.ops.log_format import looks_like_secret

try:  # Advisory lock so that two processes never write one chain; POSIX only.
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

DetailValue = str | int | float | bool | None

GENESIS_HASH: Final = "0" * 64
CURRENT_FILE: Final = "audit.jsonl"
LOCK_FILE: Final = "audit.lock"
DEFAULT_MAX_BYTES: Final = 10 * 1024 * 1024
# Every line ends with this field followed by 64 hex digits and `"}\n`: the hash is
# written last so that the hashed bytes are exactly the line without it.
HASH_FIELD_PREFIX: Final = b',"hash":"'
HASH_HEX_LEN: Final = 64

MAX_DETAILS: Final = 16
MAX_TEXT_LEN: Final = 200
_EVENT_NAME = re.compile(r"[a-z][a-z0-9_.]{0,63}")
_ROTATED_NAME = re.compile(r"audit-(\d+)\.jsonl")
_PID_CURRENT_NAME = re.compile(r"audit-pid(\d+)\.jsonl")
_PID_ROTATED_NAME = re.compile(r"audit-pid(\d+)-(\d+)\.jsonl")

# A chain's writer: None for the directory's original chain (`audit.jsonl`), else
# the process id in its file names.
ChainId = int | None


class AuditEvent(StrEnum):
    """The events the server records. `append` takes any lower-case name; use these."""

    ROOM_CREATED = "room_created"
    JOIN = "join"
    LEAVE = "leave"
    ADMIT = "admit"
    SEND_BACK = "send_back"
    DENY = "deny"
    MUTE = "mute"
    STOP_VIDEO = "stop_video"
    REMOVE = "remove"
    LOCK = "lock"
    FLOOR = "floor"
    ROOM_END = "room_end"
    TOKEN_REFUSED = "token_refused"
    # Written by AuditLog itself when it finds a half-written last line on start.
    LOG_RECOVERED = "log_recovered"


# Key fragments that mean "secret" or "clinical" wherever they appear in a key.
_DENIED_KEY_FRAGMENTS: Final = (
    "token", "jwt", "passw", "secret", "credential", "authoriz", "cookie", "apikey",
    "api_key", "private_key", "signature", "diagnos", "clinical", "medicat", "prescri",
    "symptom", "display_name", "displayname",
)  # fmt: skip
# Whole words (after splitting on `_`, `-`, `.` and camelCase) that are free text or
# personal data. Matched as words so that e.g. "kind" or "reason" stay allowed.
_DENIED_KEY_WORDS: Final = frozenset(
    {
        "note", "notes", "name", "names", "email", "phone", "address", "dob", "birth",
        "birthdate", "ssn", "mrn", "key", "auth", "treatment", "therapy", "transcript",
        "chat", "message", "text", "content", "body", "comment", "comments",
    }
)  # fmt: skip
_IP_KEY_WORDS: Final = frozenset({"ip", "ipv4", "ipv6", "addr", "peername", "forwarded"})
_IPV4_ANYWHERE = re.compile(r"(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?![\d.])")
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_WORD_SPLIT = re.compile(r"[^a-z0-9]+")


class AuditLogError(RuntimeError):
    """The audit directory cannot be used (locked by another process, or corrupt)."""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    ts: str
    event: str
    room: str | None
    subject: str | None
    role: str | None
    details: Mapping[str, DetailValue]
    prev: str
    hash: str


_CANONICAL_ENCODER: Final = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
)


def canonical_json(fields: Mapping[str, object]) -> bytes:
    """The bytes an entry's hash is computed over: sorted keys, no spaces, ASCII only."""
    return _CANONICAL_ENCODER.encode(fields).encode("ascii")


def encode_line(fields: Mapping[str, object]) -> tuple[str, bytes]:
    """(hash, line) for an entry given without its `hash` field."""
    body = canonical_json(fields)
    digest = hashlib.sha256(body).hexdigest()
    return digest, body[:-1] + HASH_FIELD_PREFIX + digest.encode("ascii") + b'"}\n'


def current_file_name(pid: ChainId = None) -> str:
    return CURRENT_FILE if pid is None else f"audit-pid{pid}.jsonl"


def lock_file_name(pid: ChainId = None) -> str:
    return LOCK_FILE if pid is None else f"audit-pid{pid}.lock"


def rotated_file_name(first_seq: int, pid: ChainId = None) -> str:
    """Zero-padded so that names sort in chain order."""
    if pid is None:
        return f"audit-{first_seq:012d}.jsonl"
    return f"audit-pid{pid}-{first_seq:012d}.jsonl"


def _chain_of(name: str) -> tuple[ChainId, int | None] | None:
    """(chain, first seq of a rotated file or None for a current file) for an audit name."""
    if name == CURRENT_FILE:
        return None, None
    if match := _ROTATED_NAME.fullmatch(name):
        return None, int(match.group(1))
    if match := _PID_CURRENT_NAME.fullmatch(name):
        return int(match.group(1)), None
    if match := _PID_ROTATED_NAME.fullmatch(name):
        return int(match.group(1)), int(match.group(2))
    return None


def audit_chains(directory: Path) -> dict[ChainId, list[Path]]:
    """Every chain in the directory, each as its files in chain order (see audit_files).

    The original chain (None) comes first, then the per-process chains by pid.
    """
    rotated: dict[ChainId, list[tuple[int, Path]]] = {}
    current: dict[ChainId, Path] = {}
    for path in directory.iterdir():
        found = _chain_of(path.name)
        if found is None or not path.is_file():
            continue
        chain, first_seq = found
        if first_seq is None:
            current[chain] = path
        else:
            rotated.setdefault(chain, []).append((first_seq, path))
    chains: dict[ChainId, list[Path]] = {}
    for chain in sorted(rotated.keys() | current.keys(), key=lambda c: -1 if c is None else c):
        files = [path for _, path in sorted(rotated.get(chain, []))]
        if chain in current:
            files.append(current[chain])
        chains[chain] = files
    return chains


def audit_files(directory: Path, pid: ChainId = None) -> list[Path]:
    """One chain's files in chain order: rotated ones by first seq, then the current one."""
    return audit_chains(directory).get(pid, [])


def _key_words(key: str) -> list[str]:
    return _WORD_SPLIT.split(_CAMEL_BOUNDARY.sub("_", key).lower())


# Keys, roles, rooms and subjects repeat endlessly, so their verdicts are cached:
# this keeps append() cheap on the event loop.
@functools.lru_cache(maxsize=4096)
def _text_problem(value: str, record_ip: bool) -> str | None:
    if len(value) > MAX_TEXT_LEN:
        return f"is longer than {MAX_TEXT_LEN} characters"
    if looks_like_secret(value):
        return "looks like a token; tokens are never recorded"
    if not record_ip and _looks_like_ip(value):
        return "looks like an IP address; see record_ip"
    return None


@functools.lru_cache(maxsize=1024)
def _key_problem(key: str, record_ip: bool) -> str | None:
    lowered = key.lower()
    words = _key_words(key)
    if any(fragment in lowered for fragment in _DENIED_KEY_FRAGMENTS) or any(
        word in _DENIED_KEY_WORDS for word in words
    ):
        return "is on the deny-list (secret, clinical or personal)"
    if not record_ip and any(word in _IP_KEY_WORDS for word in words):
        return "would record an IP address; see record_ip"
    return None


def _check_text(what: str, value: str, *, record_ip: bool) -> None:
    problem = _text_problem(value, record_ip)
    if problem is not None:
        raise ValueError(f"audit {what} {problem}")


def _looks_like_ip(value: str) -> bool:
    if _IPV4_ANYWHERE.search(value):
        return True
    if ":" not in value:
        return False
    try:
        ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        return False
    return True


def check_details(details: Mapping[str, DetailValue], *, record_ip: bool = False) -> None:
    """Raise ValueError unless `details` is small and free of secret or clinical fields."""
    if len(details) > MAX_DETAILS:
        raise ValueError(f"audit details take at most {MAX_DETAILS} fields")
    for key, value in details.items():
        if not isinstance(key, str) or not key:
            raise ValueError("audit detail keys must be non-empty strings")
        problem = _key_problem(key, record_ip)
        if problem is not None:
            raise ValueError(f"audit detail {key!r} {problem}")
        if isinstance(value, str):
            _check_text(f"detail {key!r}", value, record_ip=record_ip)
        elif value is not None and not isinstance(value, int | float):
            raise ValueError(f"audit detail {key!r} must be str, int, float, bool or None")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _iso_utc(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("audit clock must return timezone-aware datetimes")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


@dataclass(frozen=True, slots=True)
class _ChainHead:
    seq: int
    hash: str


def _last_complete_line(fd: int, size: int) -> bytes:
    """The last newline-terminated line of a file whose last byte is a newline."""
    chunk = 8192
    end = size
    tail = b""
    while end > 0:
        start = max(0, end - chunk)
        tail = os.pread(fd, end - start, start) + tail
        end = start
        newline = tail.rfind(b"\n", 0, len(tail) - 1)
        if newline >= 0:
            return tail[newline + 1 :]
    return tail


def _first_line(path: Path) -> bytes:
    with path.open("rb") as file:
        return file.readline()


def _head_of_line(line: bytes, path: Path) -> _ChainHead:
    """Read seq and hash from a complete line, checking the line's own hash on the way."""
    try:
        entry = json.loads(line)
        seq, digest = entry["seq"], entry["hash"]
        body = line[: line.rindex(HASH_FIELD_PREFIX)] + b"}"
    except (ValueError, KeyError, TypeError) as error:
        raise AuditLogError(
            f"last entry of {path} is unreadable ({error}); run `telehealth audit verify`"
        ) from error
    if type(seq) is not int or hashlib.sha256(body).hexdigest() != digest:
        raise AuditLogError(f"last entry of {path} fails its hash; run `telehealth audit verify`")
    return _ChainHead(seq, digest)


class AuditLog:
    """The one writer of one chain of an audit directory.

    With `pid=None` that is the directory's original chain (`audit.jsonl`), as the
    single embedded process writes it; with a pid, that process's own chain
    (`audit-pid<pid>.jsonl`), so that several processes can share one directory.

    `append` is a short synchronous write (one `write` syscall, plus `fsync` when
    asked), fine to call from the event loop; a lock makes it thread-safe.
    """

    def __init__(
        self,
        directory: Path,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        fsync: bool = False,
        record_ip: bool = False,
        clock: Callable[[], datetime] = _utc_now,
        pid: ChainId = None,
    ) -> None:
        if max_bytes < 1024:
            raise ValueError("max_bytes must be at least 1024")
        if pid is not None and pid < 0:
            raise ValueError("pid must not be negative")
        self.directory = directory
        self.pid = pid
        self._current_name = current_file_name(pid)
        self._max_bytes = max_bytes
        self._fsync = fsync
        self._record_ip = record_ip
        self._clock = clock
        self._lock = threading.Lock()
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._lock_fd = self._take_directory_lock()
        self._fd = -1
        self._size = 0
        self._first_seq: int | None = None  # of the current file, for its rotated name
        try:
            discarded = self._open_current()
            self._head = self._resume_head()
        except BaseException:
            self.close()
            raise
        if discarded:
            logger.warning(
                "audit log: discarded a half-written last line (%d bytes) of %s",
                discarded,
                self._current_name,
            )
            self.append(
                AuditEvent.LOG_RECOVERED,
                room=None,
                subject=None,
                role=None,
                details={"discarded_bytes": discarded},
            )

    @property
    def last_seq(self) -> int:
        return self._head.seq

    @property
    def last_hash(self) -> str:
        """Publishing this elsewhere (e.g. daily) anchors the chain against tail deletion."""
        return self._head.hash

    def append(
        self,
        event: str,
        *,
        room: str | None,
        subject: str | None,
        role: str | None,
        details: Mapping[str, DetailValue] | None = None,
    ) -> AuditEntry:
        """Record one event; raises ValueError for anything that must not be recorded."""
        details = dict(details or {})
        self._check(event, room, subject, role, details)
        with self._lock:
            if self._fd < 0:
                raise AuditLogError("audit log is closed")
            seq = self._head.seq + 1
            fields = {
                "details": details,
                "event": str(event),
                "prev": self._head.hash,
                "role": role,
                "room": room,
                "seq": seq,
                "subject": subject,
                "ts": _iso_utc(self._clock()),
            }
            digest, line = encode_line(fields)
            if self._size > 0 and self._size + len(line) > self._max_bytes:
                self._rotate()
            self._write(line)
            if self._first_seq is None:
                self._first_seq = seq
            self._head = _ChainHead(seq, digest)
        return AuditEntry(
            seq=seq,
            ts=str(fields["ts"]),
            event=str(event),
            room=room,
            subject=subject,
            role=role,
            details=details,
            prev=str(fields["prev"]),
            hash=digest,
        )

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
            if self._lock_fd >= 0:
                os.close(self._lock_fd)  # closing releases the flock
                self._lock_fd = -1

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def entries(self) -> Iterator[AuditEntry]:
        """Every entry on disk, oldest first (for tools and tests; not verified)."""
        for path in audit_files(self.directory, self.pid):
            with path.open("rb") as file:
                for line in file:
                    if line.endswith(b"\n"):
                        yield AuditEntry(**json.loads(line))

    # -- internals ---------------------------------------------------------------

    def _check(
        self,
        event: str,
        room: str | None,
        subject: str | None,
        role: str | None,
        details: Mapping[str, DetailValue],
    ) -> None:
        if not _EVENT_NAME.fullmatch(event):
            raise ValueError(f"audit event name {event!r} must be a short lower-case name")
        for what, value in (("room", room), ("subject", subject), ("role", role)):
            if value is not None:
                _check_text(what, value, record_ip=self._record_ip)
        check_details(details, record_ip=self._record_ip)

    def _take_directory_lock(self) -> int:
        """Lock this chain only: other processes' chains have locks of their own."""
        fd = os.open(self.directory / lock_file_name(self.pid), os.O_RDWR | os.O_CREAT, 0o600)
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as error:
                os.close(fd)
                if self.pid is None:
                    message = (
                        f"{self.directory} is in use by another process: one writer per directory"
                    )
                else:
                    message = (
                        f"the audit chain of pid {self.pid} in {self.directory} is in use by"
                        " another process (one with the same pid in another container?)"
                    )
                raise AuditLogError(message) from error
        return fd

    def _open_current(self) -> int:
        """Open the current file for appending; return how many half-written bytes were cut."""
        path = self.directory / self._current_name
        self._fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        self._size = os.fstat(self._fd).st_size
        discarded = 0
        if self._size and os.pread(self._fd, 1, self._size - 1) != b"\n":
            # A crash mid-write leaves a line without its newline. It was never
            # acknowledged to the caller; cut it so the next entry starts a clean
            # line, and record the cut in the chain itself.
            keep = _last_complete_line_end(self._fd, self._size)
            os.ftruncate(self._fd, keep)
            discarded, self._size = self._size - keep, keep
        first = _first_line(path) if self._size else b""
        self._first_seq = _head_of_line(first, path).seq if first else None
        return discarded

    def _resume_head(self) -> _ChainHead:
        if self._size:
            line = _last_complete_line(self._fd, self._size)
            return _head_of_line(line, self.directory / self._current_name)
        rotated = audit_files(self.directory, self.pid)[
            :-1
        ]  # everything but the empty current file
        if not rotated:
            return _ChainHead(0, GENESIS_HASH)
        last_file = rotated[-1]
        with last_file.open("rb") as file:
            size = os.fstat(file.fileno()).st_size
            line = _last_complete_line(file.fileno(), size)
        return _head_of_line(line, last_file)

    def _write(self, line: bytes) -> None:
        written = 0
        try:
            while written < len(line):
                written += os.write(self._fd, line[written:])
            if self._fsync:
                os.fsync(self._fd)
        except OSError:
            # Leave no half line behind (e.g. disk full): the chain on disk must
            # stay exactly the entries that append() returned.
            if written:
                os.ftruncate(self._fd, self._size)
            raise
        self._size += len(line)

    def _rotate(self) -> None:
        assert self._first_seq is not None  # the current file is not empty
        current = self.directory / self._current_name
        target = self.directory / rotated_file_name(self._first_seq, self.pid)
        if target.exists():
            raise AuditLogError(f"cannot rotate: {target} already exists")
        os.close(self._fd)
        self._fd = -1
        current.rename(target)
        self._fd = os.open(current, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        self._size = 0
        self._first_seq = None
        if self._fsync:
            _fsync_directory(self.directory)


def _last_complete_line_end(fd: int, size: int) -> int:
    """Offset just past the last newline (0 if none)."""
    chunk = 8192
    end = size
    while end > 0:
        start = max(0, end - chunk)
        newline = os.pread(fd, end - start, start).rfind(b"\n")
        if newline >= 0:
            return start + newline + 1
        end = start
    return 0


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
