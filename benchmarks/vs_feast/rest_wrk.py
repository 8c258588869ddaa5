"""``wrk`` against ``feast serve`` (Feast 0.67.0) and ``fsnb serve``, side by side on the same data and Redis.

    .venv/bin/python benchmarks/vs_feast/rest_wrk.py [--quick] [--workers 1] [--seconds 8] [--rounds 2]
    .venv/bin/python benchmarks/vs_feast/rest_wrk.py --workers -1      # 2 x cores + 1 workers each

Both servers read the banking example (the same Parquet files, materialized into two databases of one private
redis-server) and run ``--workers`` workers (``-1``: 2 x cores + 1, each server's own rule). ``wrk`` (one thread,
``scripts/setup.d/wrk.sh``) POSTs 1-row ``realtime_scoring`` reads by name, cycling over 1,000 pre-built bodies
(fixed seed), at 1, 10 and 50 keep-alive connections; the servers alternate run by run (A B B A ...), each run
starting once both servers are idle again (a server still draining the last run's backlog would steal the CPU),
and each figure is the median of ``--rounds`` runs. Reported per server and connection count: requests/s, p50,
p99, errors (socket errors + non-2xx) and the server's CPU time per request (all its processes, from /proc). Feast
is installed into its own virtualenv (``feast_setup.py``); it is never a dependency of fsnb. Only loopback targets.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks"), str(HERE)]

import rest as bench  # noqa: E402  (benchmarks/rest.py)
import rest_wrk as W  # noqa: E402  (benchmarks/rest_wrk.py)
from feast_setup import build_feast_repo, ensure_feast  # noqa: E402  (benchmarks/vs_feast/feast_setup.py)

from tests.servers import free_port, wait_for_port  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="2,000 customers, 3 s runs, 1 round")
    ap.add_argument("--customers", type=int, default=None)
    ap.add_argument("--workers", type=int, default=1, help="per server; -1 = 2 x cores + 1")
    ap.add_argument("--connections", default="1,10,50")
    ap.add_argument("--seconds", type=float, default=None, help="per wrk run")
    ap.add_argument("--rounds", type=int, default=None, help="runs per server and connection count")
    ap.add_argument("--venv", default="/tmp/fsnb-feast-venv")
    ap.add_argument("--no-install", action="store_true")
    args = ap.parse_args(argv)
    customers = args.customers or (2_000 if args.quick else 10_000)
    seconds = args.seconds or (3.0 if args.quick else 8.0)
    rounds = args.rounds or (1 if args.quick else 2)
    conns = [int(c) for c in args.connections.split(",")]
    feast = ensure_feast(Path(args.venv), not args.no_install)
    workers = args.workers if args.workers > 0 else -1
    feast_workers = workers if workers > 0 else 2 * (os.cpu_count() or 1) + 1

    from tests.servers import RedisServer

    redis = RedisServer().start()
    tmp = Path(tempfile.mkdtemp(prefix="fsnb-vs-feast-wrk-"))
    try:
        repo = tmp / "banking"
        bench.build_repo(repo, redis.url, customers)
        t0 = time.monotonic()
        build_feast_repo(tmp / "feast_repo", repo / "data", redis.port, feast)
        print(f"feast apply + materialize: {time.monotonic() - t0:.1f}s", flush=True)
        script = W.wrk_script(tmp, W.read_bodies(customers))
        with contextlib.ExitStack() as stack:
            fsnb_url, fsnb_proc = stack.enter_context(W.fsnb_server(repo, redis.url, workers))
            feast_port, feast_proc = stack.enter_context(
                _feast_server(tmp / "feast_repo", feast, feast_workers))
            feast_url = f"http://127.0.0.1:{feast_port}/get-online-features"
            servers = {"fsnb": (fsnb_url, fsnb_proc), "feast": (feast_url, feast_proc)}
            print(f"# {workers if workers > 0 else '2 x cores + 1'} worker(s) each, wrk 1 thread, {seconds:g} s per "
                  f"run, median of {rounds} interleaved run(s), 1-row {W.SERVICE} by name, {customers} customers")
            print(W.HEADER)
            got = W.interleaved_runs(servers, script, conns, seconds, rounds)
            for c in conns:
                for name in servers:
                    print(W.row(f"{name} wrk conns", c, got[(name, c)]), flush=True)
            print(f"\n# fsnb / feast:  {'conns':>5s} {'req/s':>8s} {'p50':>8s} {'p99':>8s} {'CPU/req':>8s}")
            for c in conns:
                a, b = got[("fsnb", c)], got[("feast", c)]
                print(f"ratio fsnb/feast {c:>5d} {a['requests_per_s'] / b['requests_per_s']:>8.2f} "
                      f"{a['p50_ms'] / b['p50_ms']:>8.3f} {a['p99_ms'] / b['p99_ms']:>8.3f} "
                      f"{a['server_cpu_us'] / b['server_cpu_us']:>8.3f}")
    finally:
        redis.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


@contextlib.contextmanager
def _feast_server(repo: Path, feast: Path, workers: int) -> Iterator[tuple[int, Any]]:
    """``feast serve`` with ``workers`` workers on a free loopback port: (port, process)."""
    port = free_port()
    cmd = [str(feast), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
           "--no-access-log"]
    proc = subprocess.Popen(cmd, cwd=repo, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, timeout=120)
        yield port, proc
    finally:
        bench.stop(proc)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
