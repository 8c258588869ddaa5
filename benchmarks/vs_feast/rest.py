"""fsnb's feature server against ``feast serve`` (Feast 0.67.0), side by side on the same data and Redis.

    .venv/bin/python benchmarks/vs_feast/rest.py [--quick] [--customers N] [--duration S]

Feast is installed into its own virtualenv under /tmp (``--venv``, default /tmp/fsnb-feast-venv) with pip
(``feast_setup.py``, shared with ``direct.py``); it is never a dependency of fsnb. Both servers read the banking
example (same Parquet files, materialized into two databases of one private redis-server) and run with one
worker. Latency: the same keep-alive ``http.client``
client, the same request body (``feature_service: realtime_scoring``), A B A B interleaved blocks, 50 warm-up
and 200 timed calls per case. Throughput: 10 client processes for ``--duration`` seconds per server, run
A B A B in halves; CPU used by each side is reported.
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
from feast_setup import build_feast_repo, ensure_feast  # noqa: E402  (benchmarks/vs_feast/feast_setup.py)

from tests.servers import RedisServer, free_port, wait_for_port  # noqa: E402


@contextlib.contextmanager
def feast_server(repo: Path, feast: Path, workers: int = 1) -> Iterator[tuple[int, Any]]:
    port = free_port()
    cmd = [str(feast), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
           "--no-access-log"]
    proc = subprocess.Popen(cmd, cwd=repo, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, timeout=120)
        yield port, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--customers", type=int, default=None)
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--duration", type=float, default=None, help="throughput seconds per server")
    ap.add_argument("--venv", default="/tmp/fsnb-feast-venv")
    ap.add_argument("--no-install", action="store_true")
    args = ap.parse_args(argv)
    customers = args.customers or (2_000 if args.quick else 10_000)
    duration = args.duration or (6.0 if args.quick else 15.0)
    feast = ensure_feast(Path(args.venv), not args.no_install)

    redis = RedisServer().start()
    tmp = Path(tempfile.mkdtemp(prefix="fsnb-vs-feast-"))
    try:
        repo = tmp / "banking"
        bench.build_repo(repo, redis.url, customers)
        t0 = time.monotonic()
        build_feast_repo(tmp / "feast_repo", repo / "data", redis.port, feast)
        print(f"feast apply + materialize: {time.monotonic() - t0:.1f}s", flush=True)
        with bench.feature_server(repo, redis.url, 1) as (_, fsnb_port, fsnb_proc), \
                feast_server(tmp / "feast_repo", feast) as (feast_port, feast_proc):
            import random

            rng = random.Random(42)
            a, b = bench.RestClient(fsnb_port), bench.RestClient(feast_port)

            def body(n: int) -> dict[str, Any]:
                return {"feature_service": bench.SERVICE,
                        "entities": {"customer_id": [rng.randint(1, customers) for _ in range(n)]}}

            check_a = a.post("/get-online-features", {"feature_service": bench.SERVICE,
                                                      "entities": {"customer_id": [1]}})
            check_b = b.post("/get-online-features", {"feature_service": bench.SERVICE,
                                                      "entities": {"customer_id": [1]}})
            print("fsnb names:", check_a["metadata"]["feature_names"][:4], "...")
            print("feast names:", check_b["metadata"]["feature_names"][:4], "...")
            lat = bench.interleaved({
                "fsnb REST 1 row": lambda: a.post("/get-online-features", body(1)),
                "feast REST 1 row": lambda: b.post("/get-online-features", body(1)),
                "fsnb REST 10 rows": lambda: a.post("/get-online-features", body(10)),
                "feast REST 10 rows": lambda: b.post("/get-online-features", body(10)),
            }, args.calls)
            print("\n## latency, 1 worker each (ms)")
            for name, r in lat.items():
                print(f"  {name:22s} p50 {r['p50']:7.3f}  p95 {r['p95']:7.3f}  p99 {r['p99']:7.3f}  "
                      f"max {r['max']:7.3f}")
            for n in ("1 row", "10 rows"):
                ratio = lat[f"fsnb REST {n}"]["p50"] / lat[f"feast REST {n}"]["p50"]
                print(f"  fsnb / feast p50, {n}: {ratio:.3f}")

            tp: dict[str, list[dict[str, Any]]] = {"fsnb": [], "feast": []}
            for _ in range(2):  # A B A B, half the duration each
                tp["fsnb"].append(bench.throughput(fsnb_port, fsnb_proc.pid, customers, duration / 2))
                tp["feast"].append(bench.throughput(feast_port, feast_proc.pid, customers, duration / 2))
            print(f"\n## throughput, 1 worker each, 10 client processes, {duration:.0f} s per server (A B A B)")
            rates = {}
            for name, runs in tp.items():
                ok = sum(r["ok"] for r in runs)
                rates[name] = ok / duration
                print(f"  {name:6s} {rates[name]:8.1f} req/s  errors {sum(r['errors'] for r in runs)}  "
                      f"server CPU {sum(r['server_cpu_s_per_s'] for r in runs) / 2:.2f} s/s  "
                      f"clients CPU {sum(r['client_cpu_s_per_s'] for r in runs) / 2:.2f} s/s")
            print(f"  fsnb / feast requests/s: {rates['fsnb'] / rates['feast']:.2f}")
    finally:
        redis.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
