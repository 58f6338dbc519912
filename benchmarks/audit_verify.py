"""Audit log throughput: appends per second, and verifying 100,000 entries (target < 2 s).

Run alone: `python benchmarks/audit_verify.py`; the last line is the JSON result.
`benchmarks/ops.py` calls `measure(tmpdir)` (or the two functions) instead.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `server` importable from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from server.audit.log import AuditEvent, AuditLog
from server.audit.verify import verify_chain

ENTRIES = 100_000
_EVENTS = (AuditEvent.JOIN, AuditEvent.ADMIT, AuditEvent.FLOOR, AuditEvent.MUTE, AuditEvent.LEAVE)


def write_entries(directory: Path, count: int = ENTRIES) -> float:
    """Append `count` realistic entries (default 10 MiB rotation); return appends per second."""
    with AuditLog(directory) as log:
        started = time.perf_counter()
        for n in range(count):
            log.append(
                _EVENTS[n % len(_EVENTS)],
                room=f"r_{n // 500:06x}",  # rooms of a few hundred events each
                subject=f"p_{n % 4000:08x}",
                role="participant" if n % 7 else "therapist",
                details={"kind": "group", "reason": "ok"},
            )
        elapsed = time.perf_counter() - started
    return count / elapsed


def time_verify(directory: Path, expected_entries: int = ENTRIES) -> tuple[float, float]:
    """(wall seconds, CPU seconds) to verify; CPU time is the steadier figure on a busy host."""
    started, started_cpu = time.perf_counter(), time.process_time()
    report = verify_chain(directory)
    elapsed, elapsed_cpu = time.perf_counter() - started, time.process_time() - started_cpu
    if not report.intact or report.entries != expected_entries:
        raise RuntimeError(f"benchmark log did not verify: {report}")
    return elapsed, elapsed_cpu


def measure_verify_100k(tmpdir: Path | str) -> float:
    """Seconds to verify a 100,000-entry log written into a fresh directory under `tmpdir`."""
    directory = Path(tempfile.mkdtemp(prefix="audit-bench-", dir=tmpdir))
    write_entries(directory)
    return time_verify(directory)[0]


def measure(tmpdir: Path | str) -> dict[str, float]:
    """All figures, from one 100,000-entry log."""
    directory = Path(tempfile.mkdtemp(prefix="audit-bench-", dir=tmpdir))
    appends_per_s = write_entries(directory)
    wall, cpu = time_verify(directory)
    return {
        "audit_verify_100k_s": round(wall, 4),
        "audit_verify_100k_cpu_s": round(cpu, 4),
        "audit_append_per_s": round(appends_per_s),
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as tmpdir:
        result = measure(tmpdir)
        size = sum(path.stat().st_size for path in Path(tmpdir).rglob("audit*.jsonl"))
    rate = result["audit_append_per_s"]
    print(f"appended {ENTRIES} entries at {rate:.0f}/s ({size / 2**20:.1f} MiB on disk)")
    wall, cpu = result["audit_verify_100k_s"], result["audit_verify_100k_cpu_s"]
    print(f"verified {ENTRIES} entries in {wall:.3f} s ({cpu:.3f} s CPU; target < 2 s)")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
