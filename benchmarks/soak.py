"""Load-and-fault soak of the feature server (not part of the test command; run it by hand or in a nightly job).

``wrk`` (``scripts/setup.d/wrk.sh``) drives 50 keep-alive connections for 60 s against 3 workers recycled every
~1,000 requests, while a pusher writes increasing values over ``/push``. Mid-run one worker is SIGKILLed and Redis is
killed and restarted (append-only file, fsync always: what Redis acknowledged survives). Reported: wrk's requests,
errors and p99, the pushes acknowledged / refused, and whether every acknowledged push is still read back.

    .venv/bin/python benchmarks/soak.py [--seconds 60] [--connections 50]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.test_server_support import ServerProcess, build_banking_repo  # noqa: E402
from tests.servers import free_port, wait_for_port  # noqa: E402

READ = {"feature_service": "realtime_scoring", "entities": {"customer_id": [1, 2, 3]}}
PUSHED = 20  # customers the pusher writes to
WRK_LUA = """wrk.method = "POST"
wrk.body = '%s'
wrk.headers["Content-Type"] = "application/json"
"""


class DurableRedis:
    """A redis-server on loopback with an append-only file fsynced on every write, killable and restartable."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.port, self.proc = folder, free_port(), None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", str(self.folder), "--appendonly", "yes", "--appendfsync", "always", "--save", ""],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port)

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()


class Pusher(threading.Thread):
    """Pushes increasing ``txn_count_24h`` values round-robin over PUSHED customers; remembers what was acked."""

    def __init__(self, url: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.url, self.stop = url + "/push", stop
        self.acked: dict[int, int] = {}
        self.counts = {"acked": 0, "refused": 0, "failed": 0}

    def run(self) -> None:
        seq = 0
        with requests.Session() as s:
            while not self.stop.is_set():
                seq += 1
                cid = seq % PUSHED + 1
                when = datetime.now(UTC).isoformat()
                df = {"customer_id": [cid], "txn_count_24h": [seq], "txn_count_7d": [1], "txn_amount_sum_24h": [1.0],
                      "txn_amount_avg_7d": [1.0], "txn_amount_max_7d": [1.0], "declined_ratio_7d": [0.0],
                      "foreign_txn_ratio_30d": [0.0], "chargeback_count_90d": [0], "event_timestamp": [when]}
                try:
                    r = s.post(self.url, json={"push_source_name": "transaction_stats_push", "df": df}, timeout=10)
                    if r.status_code == 200:
                        self.acked[cid] = seq
                        self.counts["acked"] += 1
                    else:
                        self.counts["refused"] += 1
                except requests.RequestException:
                    self.counts["failed"] += 1
                time.sleep(0.01)


def parse_wrk(text: str) -> dict[str, object]:
    def num(pattern: str) -> float:
        m = re.search(pattern, text)
        return float(m.group(1)) if m else 0.0

    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", text)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    return {
        "requests": int(num(r"(\d+) requests in")),
        "non_2xx": int(num(r"Non-2xx or 3xx responses: (\d+)")),
        "socket_errors": dict(zip(("connect", "read", "write", "timeout"), map(int, socket.groups())))
        if socket else {},
        "p99_ms": float(p99.group(1)) * scale[p99.group(2)] if p99 else None,
        "requests_per_s": num(r"Requests/sec:\s+([\d.]+)"),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--connections", type=int, default=50)
    args = ap.parse_args()
    if not shutil.which("wrk"):
        print("wrk is not installed: run scripts/setup.d/wrk.sh", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="fsnb-soak-"))
    redis = DurableRedis(work)
    redis.start()
    repo = build_banking_repo(work / "banking", redis.url, customers=200)
    server = ServerProcess(repo, redis.url, workers=3, args=["--max-requests", "1000", "--max-requests-jitter", "100"])
    server.start()
    lua = work / "read.lua"
    lua.write_text(WRK_LUA % json.dumps(READ))
    stop = threading.Event()
    pusher = Pusher(server.url, stop)
    events: list[str] = []
    try:
        wrk = subprocess.Popen(["wrk", "-t2", f"-c{args.connections}", f"-d{args.seconds}s", "--latency", "--timeout",
                                "10s", "-s", str(lua), server.url + "/get-online-features"],
                               stdout=subprocess.PIPE, text=True)
        pusher.start()
        t0 = time.monotonic()
        time.sleep(args.seconds * 0.25)
        victim = server.worker_pids()[0]
        os.kill(victim, signal.SIGKILL)
        events.append(f"{time.monotonic() - t0:.1f}s SIGKILL worker {victim}")
        time.sleep(args.seconds * 0.25)
        redis.kill()
        events.append(f"{time.monotonic() - t0:.1f}s Redis killed")
        time.sleep(2)
        redis.start()
        events.append(f"{time.monotonic() - t0:.1f}s Redis restarted (AOF replayed)")
        out, _ = wrk.communicate(timeout=args.seconds + 60)
        stop.set()
        pusher.join(timeout=15)
        report = parse_wrk(out)
        # every acknowledged push must still be there (a later, unacknowledged one may have landed too)
        r = requests.post(server.url + "/get-online-features", timeout=10, json={
            "features": ["transaction_stats:txn_count_24h"], "entities": {"customer_id": sorted(pusher.acked)}})
        doc = r.json()
        got = dict(zip(doc["results"][0]["values"], doc["results"][1]["values"]))
        lost = {cid: (seq, got.get(cid)) for cid, seq in pusher.acked.items() if (got.get(cid) or -1) < seq}
        report.update(pushes=pusher.counts, acknowledged_writes_lost=len(lost), lost_detail=lost, events=events,
                      server_alive=server.proc is not None and server.proc.poll() is None,
                      workers_recycled=server.log().count("Maximum request limit"))
        print(json.dumps(report, indent=2))
        print(out, file=sys.stderr)
        return 0 if not lost else 1
    finally:
        stop.set()
        server.stop()
        redis.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
