"""Materialization throughput and memory: the banking example's 3 customer views into a private local Redis.

    .venv/bin/python benchmarks/materialize.py            # 1,000,000 customers, 3 windows, 3 repeats
    .venv/bin/python benchmarks/materialize.py --quick    # 20,000 customers, 1 repeat

Each run is a fresh process (so its peak RSS is its own) materializing ``customer_demographics``,
``transaction_stats`` and ``behavior_profile`` into a flushed Redis, then building the ``realtime_scoring``
vectors. Windows of growing length (more rows scanned per entity, same entities) show whether memory stays flat.
Reported: entity-rows/s per view (median over repeats), vectors/s, peak RSS; Feast 0.67 reference: 12.2k rows/s.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import runpy
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VIEWS = ["customer_demographics", "transaction_stats", "behavior_profile"]
FEAST_ROWS_PER_S = 12_200
NOW = datetime(2026, 1, 1, tzinfo=UTC)
#: window (days before NOW) → how many of each entity's snapshots it covers in the banking data
WINDOWS = {"6d": 6, "50d": 50, "all": 400}


def _store(repo: str, registry: str, redis_url: str) -> object:
    import fsnb
    from fsnb.config import Config, OnlineStoreConfig, RegistryConfig

    cfg = Config(
        project="bench",
        repo_path=Path(repo),
        registry=RegistryConfig(url=f"sqlite:///{registry}", cache_ttl_seconds=60),
        online_store=OnlineStoreConfig(type="redis", url=redis_url),
    )
    return fsnb.Store(config=cfg)


def _definitions() -> list[object]:
    from fsnb.definitions import DataSource, Entity, FeatureService, FeatureView
    from fsnb.on_demand import OnDemandFeatureView

    ns = runpy.run_path(str(ROOT / "fsnb" / "templates" / "banking" / "definitions.py"))
    kinds = (Entity, DataSource, FeatureView, FeatureService, OnDemandFeatureView)
    return [v for v in ns.values() if isinstance(v, kinds)]


def child(args: argparse.Namespace) -> None:
    """One materialization; prints a JSON line with the summary and peak RSS."""
    store = _store(args.repo, args.registry, args.redis)
    start = NOW - timedelta(days=args.days)
    began, cpu = time.perf_counter(), time.process_time()
    summary = store.materialize(start, NOW, VIEWS, progress=False)  # type: ignore[attr-defined]
    total, cpu = time.perf_counter() - began, time.process_time() - cpu
    store.close()  # type: ignore[attr-defined]
    out = {
        "rows_per_s": dict(zip(summary["view"], summary["rows_per_s"])),
        "rows": dict(zip(summary["view"], summary["rows"])),
        "seconds": total,
        "cpu_seconds": cpu,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    print(json.dumps(out))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="20,000 customers, one repeat")
    parser.add_argument("--customers", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=None)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--repo", help=argparse.SUPPRESS)
    parser.add_argument("--registry", help=argparse.SUPPRESS)
    parser.add_argument("--redis", help=argparse.SUPPRESS)
    parser.add_argument("--days", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    if args.child:
        child(args)
        return 0
    customers = args.customers or (20_000 if args.quick else 1_000_000)
    repeat = args.repeat or (1 if args.quick else 3)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop our redis-server on kill, too
    import redis

    from tests.servers import RedisServer

    with tempfile.TemporaryDirectory(prefix="fsnb-bench-mat-") as tmp:
        t = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "fsnb.examples.banking", tmp, "--customers", str(customers),
             "--now", NOW.isoformat()],
            check=True, stdout=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        print(f"generated {customers:,} customers in {time.perf_counter() - t:.1f} s")
        server = RedisServer().start()
        try:
            registry = str(Path(tmp) / "registry.db")
            store = _store(tmp, registry, server.url)
            store.apply(_definitions())  # type: ignore[attr-defined]
            store.close()  # type: ignore[attr-defined]
            client = redis.Redis.from_url(server.url, socket_timeout=300)
            results: dict[str, list[dict[str, object]]] = {}
            for label, days in WINDOWS.items():
                for _ in range(repeat):
                    client.flushall()
                    done = subprocess.run(
                        [sys.executable, __file__, "--child", "--repo", tmp, "--registry", registry,
                         "--redis", server.url, "--days", str(days)],
                        capture_output=True, text=True,
                    )
                    if done.returncode != 0:
                        raise SystemExit(f"materialize run failed:\n{done.stderr}")
                    out = done.stdout.strip().splitlines()[-1]
                    results.setdefault(label, []).append(json.loads(out))
                    print(f"  window {label}: {out}", flush=True)
            client.close()
        finally:
            server.stop()
    print(f"\nmaterialize {customers:,} customers x 3 views into local Redis (median of {repeat}):")
    print(f"{'window':>7} {'view':<40} {'rows':>10} {'rows/s':>10} {'x Feast':>8}")
    for label, runs in results.items():
        for view in runs[0]["rows_per_s"]:  # type: ignore[union-attr]
            rates = [r["rows_per_s"][view] for r in runs]  # type: ignore[index]
            rate = statistics.median(rates)
            rows = runs[0]["rows"][view]  # type: ignore[index]
            ratio = f"{rate / FEAST_ROWS_PER_S:.1f}" if not view.startswith("vectors") else ""
            print(f"{label:>7} {view:<40} {rows:>10,} {rate:>10,.0f} {ratio:>8}")
        rss = statistics.median(r["peak_rss_mb"] for r in runs)  # type: ignore[misc]
        secs = statistics.median(r["seconds"] for r in runs)  # type: ignore[misc]
        cpu = statistics.median(r["cpu_seconds"] for r in runs)  # type: ignore[misc]
        print(f"{label:>7} total {secs:.1f} s (this process's CPU: {cpu:.1f} s), peak RSS {rss:,.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
