"""The shipper of ``fsnb serve``: a process beside the workers that turns their spooled segments into Parquet.

Workers only append bytes and, once per flush, leave a segment file in the spool folder; decoding the responses and
building Arrow tables happen here, on another core, never under a worker's interpreter lock. The master starts the
shipper with a pipe on its standard input and keeps the other end: when the master is gone (stopped, or killed)
the pipe closes and the shipper converts what is left, then exits. It ignores SIGINT and SIGTERM, which the
terminal or a supervisor may send to the whole process group before the workers wrote their last segments.

A segment is deleted only after its files were written, and its files are named after it: a shipper killed
between the two rewrites the same files next time (:mod:`fsnb.served_log.convert`). A damaged segment is moved to
``<spool>/damaged/`` and reported. The shipper also applies ``retention_days``. Outcomes are counted in the
server's ``/metrics`` (``fsnb_feature_server_served_log_records``) when Prometheus' multiprocess folder is set.

    python -m fsnb.server.log_shipper SPOOL ROOT --interval S --retention-days N
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import select
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from fsnb.served_log.convert import Retention, write_segment

__all__ = ["Shipper", "ship_pending"]

log = logging.getLogger("fsnb.served_log")



def ship_pending(spool: Path, root: Path, count: Callable[[str, int], None] | None = None) -> int:
    """Convert every segment waiting in ``spool``, oldest first; returns the reads written."""
    def lost(n: int, why: str) -> None:
        log.error("served-feature log: %s", why)
        if count is not None:
            count("dropped", n)

    written = 0
    try:
        segments = sorted(spool.glob("*.seg"), key=lambda p: p.stat().st_mtime_ns)
    except FileNotFoundError:  # a segment went between the listing and its stat: the next pass takes the rest
        segments = sorted(spool.glob("*.seg"))
    for seg in segments:
        try:
            data = seg.read_bytes()
        except FileNotFoundError:
            continue
        try:
            n = write_segment(data, root, seg.stem, on_lost=lost)
        except ValueError as exc:  # damaged: keep it aside for a person, never convert it half
            damaged = spool / "damaged"
            damaged.mkdir(exist_ok=True)
            os.replace(seg, damaged / seg.name)
            lost(1, f"segment {seg.name} is damaged ({exc}); moved to {damaged}")
            continue
        seg.unlink(missing_ok=True)
        written += n
        if count is not None and n:
            count("written", n)
    return written


class Shipper:
    """The master's handle on its shipper process: :meth:`start` it before the workers fork, :meth:`ensure_running`
    it while they serve, :meth:`stop` it after they are gone (it converts what they left, then exits)."""

    def __init__(self, spool: Path, root: Path, interval: float, retention_days: float) -> None:
        self.spool = spool
        self.root = root
        self.interval = interval
        self.retention_days = retention_days
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.spool.mkdir(parents=True, exist_ok=True)
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "fsnb.server.log_shipper", str(self.spool), str(self.root),
             "--interval", str(self.interval), "--retention-days", str(self.retention_days)],
            stdin=subprocess.PIPE,
        )

    def ensure_running(self) -> None:
        """Start another shipper if this one died (the master calls this about once a second): segments never
        pile up in the spool behind a crashed shipper."""
        proc = self._proc
        if proc is None or proc.poll() is None:
            return
        log.error("the served-log shipper exited (status %s); starting another", proc.returncode)
        if proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        self.start()

    def stop(self, timeout: float = 120.0) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            log.error("the served-log shipper did not finish in %.0f s; segments left in %s are converted at the "
                      "next start", timeout, self.spool)
            proc.kill()
        except ChildProcessError:  # reaped by the process manager already
            pass


def _background() -> None:
    """Run only on otherwise idle CPU time (Linux ``SCHED_IDLE``, else the lowest ``nice``): segments wait in the
    spool while the workers, the online store and the clients keep every core busy, and are converted in the
    slack."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))  # type: ignore[attr-defined,unused-ignore]
    except (AttributeError, OSError):
        with contextlib.suppress(OSError):
            os.nice(19)


def _counter() -> Callable[[str, int], None] | None:
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return None
    try:
        from fsnb.server.metrics import metrics
    except ImportError:
        return None
    records = metrics().served_log
    return lambda outcome, n: records.labels(outcome).inc(n)


def _closed(stdin: IO[bytes], timeout: float) -> bool:
    """Wait up to ``timeout`` seconds; whether the master closed the pipe."""
    ready, _, _ = select.select([stdin], [], [], timeout)
    return bool(ready) and not os.read(stdin.fileno(), 4096)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m fsnb.server.log_shipper", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("spool", type=Path)
    ap.add_argument("root", type=Path)
    ap.add_argument("--interval", type=float, default=1.0)
    ap.add_argument("--retention-days", type=float, default=0)
    args = ap.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _background()
    logging.basicConfig(level=logging.INFO, format="[fsnb served-log shipper] %(message)s")
    count: Any = _counter()
    retention = Retention(args.root, args.retention_days)
    done = False
    while not done:
        done = _closed(sys.stdin.buffer, args.interval)
        try:
            ship_pending(args.spool, args.root, count)
        except Exception:
            log.exception("converting served-log segments failed; retrying")
        retention.sweep()
    return 0


if __name__ == "__main__":
    sys.exit(main())
