"""Audit log: the chain, tamper detection at the right line, rotation, resume, deny-list."""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.audit.log import (
    CURRENT_FILE,
    GENESIS_HASH,
    AuditEvent,
    AuditLog,
    AuditLogError,
    audit_chains,
    canonical_json,
    current_file_name,
    encode_line,
    lock_file_name,
    rotated_file_name,
)
from server.audit.verify import (
    Breakage,
    VerifyReport,
    run_verify,
    verify_chain,
    verify_directory,
)
from server.cli.main import main as cli_main

FAKE_JWT = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJwXzEyMyJ9.c2lnbmF0dXJlLWJ5dGVz"


def ticking_clock() -> Callable[[], datetime]:
    moments: Iterator[datetime] = (
        datetime(2025, 1, 6, 9, 0, tzinfo=UTC) + timedelta(seconds=n) for n in range(10**9)
    )
    return lambda: next(moments)


def write_entries(directory: Path, count: int, **options: int) -> AuditLog:
    log = AuditLog(directory, clock=ticking_clock(), **options)  # type: ignore[arg-type]
    append_entries(log, count)
    return log


def append_entries(log: AuditLog, count: int, start: int = 0) -> None:
    for n in range(start, start + count):
        log.append(
            AuditEvent.JOIN if n % 2 == 0 else AuditEvent.LEAVE,
            room="r_7f3a",
            subject=f"p_{n:04d}",
            role="participant",
            details={"kind": "group", "n": n},
        )


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def forge(line: bytes, **changes: object) -> bytes:
    """Change fields of an entry and recompute its own hash, as a careful forger would."""
    fields = json.loads(line)
    del fields["hash"]
    fields.update(changes)
    return encode_line(fields)[1]


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    write_entries(tmp_path, 10).close()
    return tmp_path


def current(log_dir: Path) -> Path:
    return log_dir / CURRENT_FILE


def broken(report: VerifyReport) -> tuple[int, Breakage]:
    assert report.broken is not None, str(report)
    return report.broken.line, report.broken.kind


# -- the chain -------------------------------------------------------------------


def test_entries_form_a_chain_from_genesis(tmp_path: Path) -> None:
    with write_entries(tmp_path, 3) as log:
        first, second, third = log.entries()
        assert [first.seq, second.seq, third.seq] == [1, 2, 3]
        assert first.prev == GENESIS_HASH
        assert second.prev == first.hash and third.prev == second.hash
        assert log.last_seq == 3 and log.last_hash == third.hash
        assert first.ts == "2025-01-06T09:00:00.000000Z"
        assert first.details == {"kind": "group", "n": 0}


def test_hash_is_sha256_of_canonical_json_without_hash(log_dir: Path) -> None:
    for line in lines_of(current(log_dir)):
        fields = json.loads(line)
        claimed = fields.pop("hash")
        assert hashlib.sha256(canonical_json(fields)).hexdigest() == claimed


def test_append_returns_what_is_written(tmp_path: Path) -> None:
    with AuditLog(tmp_path) as log:
        entry = log.append(
            AuditEvent.MUTE, room="r_1", subject="p_2", role="therapist", details={"by": "p_1"}
        )
        assert list(log.entries()) == [entry]


def test_intact_log_verifies(log_dir: Path) -> None:
    report = verify_chain(log_dir)
    assert report.intact and report.entries == 10 and report.last_seq == 10
    assert str(report).startswith("intact, 10 entries")


def test_concurrent_appends_from_threads_keep_one_chain(tmp_path: Path) -> None:
    with AuditLog(tmp_path) as log:

        def worker(name: str) -> None:
            for _ in range(300):
                log.append("floor", room="r_1", subject=name, role="participant")

        threads = [threading.Thread(target=worker, args=(f"p_{n}",)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    report = verify_chain(tmp_path)
    assert report.intact and report.entries == 1200


# -- tampering, each found at the right line ---------------------------------------


def test_edited_field_is_a_bad_hash_on_that_line(log_dir: Path) -> None:
    lines = lines_of(current(log_dir))
    lines[3] = lines[3].replace(b'"p_0003"', b'"p_9999"')
    current(log_dir).write_bytes(b"".join(lines))
    assert broken(verify_chain(log_dir)) == (4, Breakage.BAD_HASH)


def test_edited_field_with_recomputed_hash_breaks_the_next_prev(log_dir: Path) -> None:
    lines = lines_of(current(log_dir))
    lines[3] = forge(lines[3], subject="p_9999")
    current(log_dir).write_bytes(b"".join(lines))
    assert broken(verify_chain(log_dir)) == (5, Breakage.WRONG_PREV)


def test_deleted_line_is_found_where_it_was(log_dir: Path) -> None:
    lines = lines_of(current(log_dir))
    del lines[4]
    current(log_dir).write_bytes(b"".join(lines))
    report = verify_chain(log_dir)
    assert broken(report) == (5, Breakage.WRONG_PREV)
    assert report.broken is not None and "seq 6 where 5 was due" in report.broken.detail
    assert report.entries == 4


def test_deleted_line_with_rewritten_tail_is_a_seq_gap(log_dir: Path) -> None:
    lines = lines_of(current(log_dir))
    del lines[4]
    prev = json.loads(lines[3])["hash"]
    for index in range(4, len(lines)):
        lines[index] = forge(lines[index], prev=prev)
        prev = json.loads(lines[index])["hash"]
    current(log_dir).write_bytes(b"".join(lines))
    assert broken(verify_chain(log_dir)) == (5, Breakage.SEQ_GAP)


def test_reordered_lines_are_found(log_dir: Path) -> None:
    lines = lines_of(current(log_dir))
    lines[6], lines[7] = lines[7], lines[6]
    current(log_dir).write_bytes(b"".join(lines))
    assert broken(verify_chain(log_dir)) == (7, Breakage.WRONG_PREV)


def test_truncated_last_line_is_reported(log_dir: Path) -> None:
    data = current(log_dir).read_bytes()
    current(log_dir).write_bytes(data[:-40])
    report = verify_chain(log_dir)
    assert broken(report) == (10, Breakage.TRUNCATED)
    assert report.entries == 9


def test_inserted_forged_line_is_caught_by_the_next_prev(log_dir: Path) -> None:
    lines = lines_of(current(log_dir))
    after = json.loads(lines[2])
    forged = forge(lines[2], seq=after["seq"] + 1, prev=after["hash"], subject="p_ghost")
    lines.insert(3, forged)
    current(log_dir).write_bytes(b"".join(lines))
    assert broken(verify_chain(log_dir)) == (5, Breakage.WRONG_PREV)


def test_garbage_line_is_unparsable(log_dir: Path) -> None:
    lines = lines_of(current(log_dir))
    lines[2] = b"not json at all\n"
    current(log_dir).write_bytes(b"".join(lines))
    assert broken(verify_chain(log_dir)) == (3, Breakage.UNPARSABLE)


def test_valid_json_out_of_the_entry_format_is_unparsable(log_dir: Path) -> None:
    lines = lines_of(current(log_dir))
    fields = json.loads(lines[2])
    lines[2] = json.dumps(fields, indent=None).encode() + b"\n"  # spaces after separators
    current(log_dir).write_bytes(b"".join(lines))
    report = verify_chain(log_dir)
    assert broken(report) == (3, Breakage.UNPARSABLE)
    assert report.broken is not None and "entry format" in report.broken.detail


def test_removing_whole_last_lines_shows_only_against_a_published_head(log_dir: Path) -> None:
    # A hash chain alone cannot see its tail cut off at a line boundary; the
    # report's last seq and head hash are what an operator compares with the
    # head published elsewhere (docs/audit.md).
    lines = lines_of(current(log_dir))
    current(log_dir).write_bytes(b"".join(lines[:-2]))
    report = verify_chain(log_dir)
    assert report.intact and report.last_seq == 8


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_single_byte_change_is_detected(data: st.DataObject) -> None:
    original = _reference_log()
    position = data.draw(st.integers(0, len(original) - 1), label="position")
    replacement = data.draw(
        st.integers(0, 255).filter(lambda byte: byte != original[position]), label="byte"
    )
    tampered = bytearray(original)
    tampered[position] = replacement
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / CURRENT_FILE
        path.write_bytes(bytes(tampered))
        assert not verify_chain(Path(directory)).intact


detail_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
)


@settings(max_examples=100, deadline=None)
@given(
    details=st.dictionaries(
        st.from_regex(r"[a-z]{1,3}(_[a-z]{1,3})?", fullmatch=True), detail_values, max_size=5
    ),
    subject=st.none() | st.text(max_size=30),
)
def test_any_allowed_entry_verifies(details: dict[str, object], subject: str | None) -> None:
    with tempfile.TemporaryDirectory() as directory:
        with AuditLog(Path(directory)) as log:
            try:
                log.append("mute", room="r_1", subject=subject, role=None, details=details)  # type: ignore[arg-type]
            except ValueError:
                return  # refused content (deny-listed key, IP- or token-like text) is fine
            log.append("leave", room="r_1", subject="p_1", role="participant")
        report = verify_chain(Path(directory))
        assert report.intact and report.entries == 2, str(report)


_reference_cache: list[bytes] = []


def _reference_log() -> bytes:
    if not _reference_cache:
        with tempfile.TemporaryDirectory() as directory:
            log = write_entries(Path(directory), 6)
            log.append("deny", room="r_é", subject="p_1", role=None, details={"reason": "n/a"})
            log.close()
            _reference_cache.append((Path(directory) / CURRENT_FILE).read_bytes())
    return _reference_cache[0]


# -- rotation and resume ---------------------------------------------------------------


def test_rotation_continues_the_chain_across_files(tmp_path: Path) -> None:
    write_entries(tmp_path, 40, max_bytes=2048).close()
    rotated = sorted(tmp_path.glob("audit-*.jsonl"))
    assert len(rotated) >= 3
    assert rotated[0].name == rotated_file_name(1)
    for path in [*rotated, current(tmp_path)]:
        assert path.stat().st_size <= 2048
    last_of_first = json.loads(lines_of(rotated[0])[-1])
    first_of_second = json.loads(lines_of(rotated[1])[0])
    assert first_of_second["prev"] == last_of_first["hash"]
    assert rotated[1].name == rotated_file_name(first_of_second["seq"])
    report = verify_chain(tmp_path)
    assert report.intact and report.entries == 40 and len(report.files) == len(rotated) + 1


def test_a_single_rotated_file_verifies_on_its_own(tmp_path: Path) -> None:
    write_entries(tmp_path, 40, max_bytes=2048).close()
    second = sorted(tmp_path.glob("audit-*.jsonl"))[1]
    assert verify_chain(second).intact


def test_missing_rotated_file_breaks_the_directory_chain(tmp_path: Path) -> None:
    write_entries(tmp_path, 40, max_bytes=2048).close()
    rotated = sorted(tmp_path.glob("audit-*.jsonl"))
    rotated[1].unlink()
    report = verify_chain(tmp_path)
    assert broken(report) == (1, Breakage.WRONG_PREV)
    assert report.broken is not None and report.broken.file == rotated[2]


def test_restart_resumes_the_chain(tmp_path: Path) -> None:
    write_entries(tmp_path, 3).close()
    with AuditLog(tmp_path) as log:
        entry = log.append("room_end", room="r_7f3a", subject=None, role=None)
    assert entry.seq == 4
    assert verify_chain(tmp_path).entries == 4


def test_restart_right_after_rotation_resumes_from_the_rotated_file(tmp_path: Path) -> None:
    log = write_entries(tmp_path, 40, max_bytes=2048)
    last = log.last_hash
    log.close()
    # As if the process stopped between renaming audit.jsonl and creating the next one.
    first_seq = json.loads(lines_of(current(tmp_path))[0])["seq"]
    current(tmp_path).rename(tmp_path / rotated_file_name(first_seq))
    with AuditLog(tmp_path, max_bytes=2048) as log:
        entry = log.append("join", room="r_1", subject="p_1", role="participant")
    assert entry.seq == 41 and entry.prev == last
    assert verify_chain(tmp_path).intact


def test_half_written_last_line_is_cut_and_recorded(tmp_path: Path) -> None:
    write_entries(tmp_path, 3).close()
    with current(tmp_path).open("ab") as file:
        file.write(b'{"details":{},"event":"jo')
    with AuditLog(tmp_path) as log:
        recovered = list(log.entries())[-1]
    assert recovered.event == AuditEvent.LOG_RECOVERED
    assert recovered.details == {"discarded_bytes": 25}
    assert verify_chain(tmp_path).entries == 4


def test_corrupt_last_line_refuses_to_start(tmp_path: Path) -> None:
    write_entries(tmp_path, 3).close()
    lines = lines_of(current(tmp_path))
    lines[-1] = lines[-1].replace(b'"p_0002"', b'"p_0009"')
    current(tmp_path).write_bytes(b"".join(lines))
    with pytest.raises(AuditLogError, match="audit verify"):
        AuditLog(tmp_path)


def test_second_writer_on_one_directory_is_refused(tmp_path: Path) -> None:
    with AuditLog(tmp_path), pytest.raises(AuditLogError, match="another process"):
        AuditLog(tmp_path)


# -- what is never recorded -----------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "token", "access_token", "idToken", "jwt", "password", "client_secret", "note",
        "session_notes", "diagnosis", "display_name", "displayName", "name", "email",
        "medication", "api_key", "message",
    ],
)  # fmt: skip
def test_denied_detail_keys_are_refused(tmp_path: Path, key: str) -> None:
    with AuditLog(tmp_path) as log, pytest.raises(ValueError, match="deny-list"):
        log.append("deny", room="r_1", subject="p_1", role="participant", details={key: "x"})


@pytest.mark.parametrize("key", ["reason", "kind", "by", "count", "muted", "queue_position"])
def test_plain_detail_keys_are_allowed(tmp_path: Path, key: str) -> None:
    with AuditLog(tmp_path) as log:
        log.append("deny", room="r_1", subject="p_1", role="participant", details={key: 1})


def test_token_looking_values_are_refused_anywhere(tmp_path: Path) -> None:
    with AuditLog(tmp_path) as log:
        with pytest.raises(ValueError, match="token"):
            log.append("token_refused", room=None, subject=None, role=None, details={"r": FAKE_JWT})
        with pytest.raises(ValueError, match="token"):
            log.append("join", room="r_1", subject=FAKE_JWT, role="participant")
        with pytest.raises(ValueError, match="token"):
            link = "http://127.0.0.1:8080/join#t=abc"
            log.append("join", room="r_1", subject="p_1", role=None, details={"via": link})
        assert log.last_seq == 0
    assert not lines_of(current(tmp_path))


def test_ip_addresses_need_record_ip(tmp_path: Path) -> None:
    with AuditLog(tmp_path) as log:
        with pytest.raises(ValueError, match="record_ip"):
            log.append("token_refused", room=None, subject=None, role=None, details={"ip": "x"})
        with pytest.raises(ValueError, match="IP address"):
            log.append("deny", room="r_1", subject="p_1", role=None, details={"why": "10.0.0.7"})
        with pytest.raises(ValueError, match="IP address"):
            log.append("deny", room="r_1", subject="p_1", role=None, details={"from": "::1"})
    with AuditLog(tmp_path / "with-ip", record_ip=True) as log:
        entry = log.append(
            "token_refused", room=None, subject=None, role=None, details={"ip": "::1"}
        )
        assert entry.details == {"ip": "::1"}


def test_details_values_must_be_scalars(tmp_path: Path) -> None:
    with AuditLog(tmp_path) as log, pytest.raises(ValueError, match="must be str"):
        log.append("deny", room="r_1", subject="p_1", role=None, details={"x": [1]})  # type: ignore[dict-item]


def test_event_names_are_short_lower_case(tmp_path: Path) -> None:
    with AuditLog(tmp_path) as log, pytest.raises(ValueError, match="event name"):
        log.append("Join Room!", room="r_1", subject="p_1", role=None)


# -- the CLI entry point ------------------------------------------------------------


def test_run_verify_exit_codes(log_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    out = io.StringIO()
    assert run_verify(str(log_dir), out=out) == 0
    assert "intact, 10 entries" in out.getvalue()

    assert run_verify(str(current(log_dir)), out=out) == 0

    empty = tmp_path_factory.mktemp("empty")
    assert run_verify(str(empty), out=out) == 2
    assert run_verify(str(empty / "missing.jsonl"), out=out) == 2

    current(log_dir).write_bytes(current(log_dir).read_bytes()[:-5])
    out = io.StringIO()
    assert run_verify(str(log_dir), out=out) == 1
    assert "BROKEN" in out.getvalue() and "line 10" in out.getvalue()


# -- several processes on one directory (a Redis deployment) -----------------------


def two_processes(directory: Path, **options: int) -> tuple[AuditLog, AuditLog]:
    """Two writers at once on one directory, as processes 101 and 202 would be."""
    first = AuditLog(directory, clock=ticking_clock(), pid=101, **options)  # type: ignore[arg-type]
    second = AuditLog(directory, clock=ticking_clock(), pid=202, **options)  # type: ignore[arg-type]
    for n in range(0, 30, 3):  # interleaved, and unevenly
        append_entries(first, 2, start=n)
        append_entries(second, 1, start=n)
    return first, second


def test_each_process_writes_its_own_chain(tmp_path: Path) -> None:
    first, second = two_processes(tmp_path)
    assert (first.last_seq, second.last_seq) == (20, 10)
    first.close()
    second.close()
    names = {path.name for path in tmp_path.iterdir()}
    assert names == {
        current_file_name(101), lock_file_name(101), current_file_name(202), lock_file_name(202)
    }  # fmt: skip
    assert current_file_name(101) == "audit-pid101.jsonl"
    assert [entry.seq for entry in AuditLog(tmp_path, pid=202).entries()] == list(range(1, 11))
    reports = verify_directory(tmp_path)
    assert [(chain.pid, chain.report.intact, chain.report.entries) for chain in reports] == [
        (101, True, 20),
        (202, True, 10),
    ]
    assert verify_chain(tmp_path, 101).entries == 20
    with pytest.raises(FileNotFoundError):
        verify_chain(tmp_path)  # no original (audit.jsonl) chain here


def test_each_process_chain_rotates_on_its_own(tmp_path: Path) -> None:
    first, second = two_processes(tmp_path, max_bytes=2048)
    append_entries(first, 20)
    first.close()
    second.close()
    chains = audit_chains(tmp_path)
    assert set(chains) == {101, 202}
    assert len(chains[101]) > len(chains[202]) > 1
    assert chains[101][0].name == rotated_file_name(1, 101) == "audit-pid101-000000000001.jsonl"
    assert all(path.name.startswith("audit-pid202") for path in chains[202])
    assert all(chain.report.intact for chain in verify_directory(tmp_path))
    assert verify_chain(tmp_path, 101).entries == 40


def test_a_process_lock_guards_only_its_own_chain(tmp_path: Path) -> None:
    refused = pytest.raises(AuditLogError, match=r"pid 101 .* in use by another process")
    with AuditLog(tmp_path), AuditLog(tmp_path, pid=101), AuditLog(tmp_path, pid=202), refused:
        AuditLog(tmp_path, pid=101)


def test_restart_with_the_same_pid_resumes_its_chain_a_new_pid_starts_one(tmp_path: Path) -> None:
    with AuditLog(tmp_path, pid=101) as log:
        append_entries(log, 3)
    with AuditLog(tmp_path, pid=101) as log:  # pid reused, e.g. pid 1 in a container
        append_entries(log, 1)
        assert log.last_seq == 4
    with AuditLog(tmp_path, pid=303) as log:  # the usual restart: a new pid
        append_entries(log, 1)
        assert log.last_seq == 1
    reports = verify_directory(tmp_path)
    assert [(chain.pid, chain.report.entries) for chain in reports] == [(101, 4), (303, 1)]
    assert all(chain.report.intact for chain in reports)


def test_tampering_one_chain_is_reported_for_that_chain_only(tmp_path: Path) -> None:
    for log in two_processes(tmp_path):
        log.close()
    path = tmp_path / current_file_name(202)
    lines = lines_of(path)
    lines[3] = lines[3].replace(b'"p_0009"', b'"p_0099"')
    path.write_bytes(b"".join(lines))
    first, second = verify_directory(tmp_path)
    assert first.pid == 101 and first.report.intact and first.report.entries == 20
    assert second.pid == 202 and broken(second.report) == (4, Breakage.BAD_HASH)
    assert second.report.entries == 3 and second.report.broken is not None
    assert second.report.broken.file == path


def test_existing_audit_jsonl_still_verifies_beside_process_chains(tmp_path: Path) -> None:
    write_entries(tmp_path, 10, max_bytes=1024).close()  # from before per-process chains
    legacy = audit_chains(tmp_path)[None]
    assert len(legacy) > 1 and legacy[-1].name == CURRENT_FILE
    for log in two_processes(tmp_path):
        log.close()
    reports = verify_directory(tmp_path)
    assert [(chain.pid, chain.report.entries) for chain in reports] == [
        (None, 10),
        (101, 20),
        (202, 10),
    ]
    assert all(chain.report.intact for chain in reports)
    assert verify_chain(tmp_path).entries == 10  # the original chain, as before


def test_cli_verify_reports_every_chain(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for log in two_processes(tmp_path):
        log.close()
    assert cli_main(["audit", "verify", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("pid 101: intact, 20 entries (1 file), last seq 20")
    assert out[1].startswith("pid 202: intact, 10 entries (1 file), last seq 10")
    assert out[2] == "2 chains, all intact"

    path = tmp_path / current_file_name(101)
    lines = lines_of(path)
    del lines[4]
    path.write_bytes(b"".join(lines))
    assert cli_main(["audit", "verify", str(tmp_path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"pid 101: BROKEN at {path} line 5 (seq 6): wrong prev")
    assert out[1] == "4 entries verified intact before it"
    assert out[2].startswith("pid 202: intact, 10 entries")
    assert out[3] == "2 chains, 1 broken"

    # One file of a chain is still verified on its own.
    assert cli_main(["audit", "verify", str(tmp_path / current_file_name(202))]) == 0
    assert capsys.readouterr().out.startswith("intact, 10 entries")
