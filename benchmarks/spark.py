"""The Spark offline engine against DuckDB: training sets and materialization on the banking example.

    .venv/bin/python benchmarks/spark.py                          # 1,000,000 and 3,000,000 customers
    .venv/bin/python benchmarks/spark.py --customers 1000000      # one size
    .venv/bin/python benchmarks/spark.py --quick                  # 50,000 customers

Per size and engine (DuckDB, Spark ``local[1]``, Spark ``local[2]``), each a fresh process so its peak memory is
its own:

- training set: one entity row per customer (at random times in the last 100 days) joined to the 20 features of
  ``realtime_scoring`` (3 views), as Arrow on the driver (``to_arrow``) and, for Spark, written by the executors
  (``to_parquet``);
- materialization of ``customer_demographics``, ``transaction_stats`` and ``behavior_profile`` (all their rows)
  into a flushed private Redis, then the ``realtime_scoring`` vectors.

Reported: seconds, rows/s, the peak RSS of the Python driver and, for Spark, of its JVM (in ``local[N]`` the JVM is
the driver *and* the executors; ``spark.driver.memory`` 3g). The Python driver must stay flat as customers grow.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import runpy
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VIEWS = ["customer_demographics", "transaction_stats", "behavior_profile"]
NOW = datetime(2026, 1, 1, tzinfo=UTC)
ENGINES = {
    "duckdb": {"type": "duckdb"},
    "spark local[1]": {"type": "spark", "master": "local[1]"},
    "spark local[2]": {"type": "spark", "master": "local[2]"},
}
SPARK_CONF = {"spark.sql.shuffle.partitions": "4", "spark.driver.memory": "3g", "spark.driver.maxResultSize": "4g"}


def _store(repo: str, registry: str, redis_url: str, engine: str) -> object:
    import fsnb
    from fsnb.config import Config, OfflineStoreConfig, OnlineStoreConfig, RegistryConfig

    offline = dict(ENGINES[engine])
    if offline["type"] == "spark":
        offline["conf"] = SPARK_CONF  # type: ignore[assignment]
    cfg = Config(
        project="bench",
        repo_path=Path(repo),
        registry=RegistryConfig(url=f"sqlite:///{registry}", cache_ttl_seconds=60),
        online_store=OnlineStoreConfig(type="redis", url=redis_url, timeouts={"read": 120}),
        offline_store=OfflineStoreConfig(**offline),  # type: ignore[arg-type]
    )
    return fsnb.Store(config=cfg)


def _definitions() -> list[object]:
    from fsnb.definitions import DataSource, Entity, FeatureService, FeatureView
    from fsnb.on_demand import OnDemandFeatureView

    ns = runpy.run_path(str(ROOT / "fsnb" / "templates" / "banking" / "definitions.py"))
    kinds = (Entity, DataSource, FeatureView, FeatureService, OnDemandFeatureView)
    return [v for v in ns.values() if isinstance(v, kinds)]


class _JvmPeak:
    """Samples the RSS of this process's Java children (Spark's JVM) every 0.2 s; ``peak_mb`` is the largest."""

    def __init__(self) -> None:
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psutil

        me = psutil.Process()
        while not self._stop.wait(0.2):
            total = 0
            for p in me.children(recursive=True):
                try:
                    if p.name() == "java":
                        total += p.memory_info().rss
                except psutil.Error:
                    continue
            self.peak_mb = max(self.peak_mb, total / 2**20)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_mb


def child(args: argparse.Namespace) -> None:
    """One measurement (``--what training|materialize``); prints a JSON line."""
    import numpy as np
    import pandas as pd

    store = _store(args.repo, args.registry, args.redis, args.engine)
    jvm = _JvmPeak()
    out: dict[str, object] = {}
    if args.what == "training":
        rng = np.random.default_rng(0)
        n = args.customers
        edf = pd.DataFrame({
            "customer_id": rng.permutation(n) + 1,
            "event_timestamp": pd.Timestamp(NOW) - pd.to_timedelta(rng.integers(0, 100 * 86400, n), unit="s"),
        })
        began = time.perf_counter()
        table = store.get_historical_features(edf, "realtime_scoring").to_arrow()  # type: ignore[attr-defined]
        out["to_arrow_s"] = time.perf_counter() - began
        out["rows"] = table.num_rows
        del table
        if args.engine.startswith("spark"):
            began = time.perf_counter()
            job = store.get_historical_features(edf, "realtime_scoring")  # type: ignore[attr-defined]
            job.to_parquet(os.path.join(args.scratch, "training"))
            out["to_parquet_s"] = time.perf_counter() - began
    else:
        began = time.perf_counter()
        summary = store.materialize(NOW - timedelta(days=400), NOW, VIEWS, progress=False)  # type: ignore[attr-defined]
        out["seconds"] = time.perf_counter() - began
        out["rows"] = dict(zip(summary["view"], summary["rows"]))
        out["rows_per_s"] = dict(zip(summary["view"], summary["rows_per_s"]))
    out["jvm_peak_rss_mb"] = jvm.stop()
    out["driver_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    store.close()  # type: ignore[attr-defined]
    print(json.dumps(out))


def _run_child(what: str, engine: str, customers: int, repo: str, registry: str, redis_url: str) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--child", "--what", what, "--engine", engine, "--customers", str(customers),
         "--repo", repo, "--registry", registry, "--redis", redis_url, "--scratch", repo],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    if done.returncode != 0:
        causes = [line for line in done.stderr.splitlines() if "Exception" in line or "Error" in line]
        raise SystemExit(f"{what} on {engine} failed:\n" + "\n".join(causes[:10]) + done.stderr[-1500:])
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="50,000 customers")
    parser.add_argument("--customers", type=int, action="append", help="customers (repeatable)")
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated, from: " + ", ".join(ENGINES))
    parser.add_argument("--only", choices=["training", "materialize"], help="run one of the two measurements")
    parser.add_argument("--data", default="", help="keep generated repos under this folder (reused when present)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    for hidden in ("what", "engine", "repo", "registry", "redis", "scratch"):
        parser.add_argument(f"--{hidden}", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    if args.child:
        args.customers = args.customers[0]
        child(args)
        return 0
    sizes = args.customers or ([50_000] if args.quick else [1_000_000, 3_000_000])
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop our redis-server on kill, too
    import tempfile

    import redis

    from tests.servers import RedisServer

    data = Path(args.data or tempfile.mkdtemp(prefix="fsnb-bench-spark-"))
    server = RedisServer().start()
    rows: list[tuple[int, str, dict, dict]] = []
    try:
        client = redis.Redis.from_url(server.url, socket_timeout=600)
        for customers in sizes:
            repo = data / f"banking-{customers}"
            if not (repo / "data" / "behavior_profile.parquet").exists():
                repo.mkdir(parents=True, exist_ok=True)
                t = time.perf_counter()
                subprocess.run(
                    [sys.executable, "-m", "fsnb.examples.banking", str(repo), "--customers", str(customers),
                     "--now", NOW.isoformat()],
                    check=True, stdout=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(ROOT)},
                )
                print(f"generated {customers:,} customers in {time.perf_counter() - t:.1f} s", flush=True)
            for engine in engines:
                registry = str(repo / f"registry-{engine.replace(' ', '-')}.db")
                if os.path.exists(registry):
                    os.unlink(registry)
                store = _store(str(repo), registry, server.url, engine)
                store.apply(_definitions())  # type: ignore[attr-defined]
                store.close()  # type: ignore[attr-defined]
                training: dict = {}
                mat: dict = {}
                if args.only != "materialize":
                    training = _run_child("training", engine, customers, str(repo), registry, server.url)
                    print(f"  {customers:,} {engine} training: {json.dumps(training)}", flush=True)
                if args.only != "training":
                    client.flushall()
                    mat = _run_child("materialize", engine, customers, str(repo), registry, server.url)
                    print(f"  {customers:,} {engine} materialize: {json.dumps(mat)}", flush=True)
                rows.append((customers, engine, training, mat))
        client.close()
    finally:
        server.stop()
    print("\ntraining set (realtime_scoring, 20 features of 3 views), one entity row per customer:")
    print(f"{'customers':>10} {'engine':<15} {'to_arrow s':>10} {'rows/s':>10} {'to_parquet s':>12} "
          f"{'driver MB':>10} {'JVM MB':>8}")
    for customers, engine, t, _ in rows:
        if not t:
            continue
        parquet = f"{t['to_parquet_s']:.1f}" if "to_parquet_s" in t else "-"
        print(f"{customers:>10,} {engine:<15} {t['to_arrow_s']:>10.1f} {t['rows'] / t['to_arrow_s']:>10,.0f} "
              f"{parquet:>12} {t['driver_peak_rss_mb']:>10,.0f} {t['jvm_peak_rss_mb']:>8,.0f}")
    print("\nmaterialization (3 customer views, all rows, into Redis; then the realtime_scoring vectors):")
    print(f"{'customers':>10} {'engine':<15} {'seconds':>8} " + " ".join(f"{v[:12]:>12}" for v in VIEWS)
          + f" {'vectors/s':>10} {'driver MB':>10} {'JVM MB':>8}")
    for customers, engine, _, m in rows:
        if not m:
            continue
        rates = m["rows_per_s"]
        vec = next((r for k, r in rates.items() if k.startswith("vectors")), None)
        print(f"{customers:>10,} {engine:<15} {m['seconds']:>8.1f} " + " ".join(f"{rates[v]:>12,.0f}" for v in VIEWS)
              + f" {vec or 0:>10,.0f} {m['driver_peak_rss_mb']:>10,.0f} {m['jvm_peak_rss_mb']:>8,.0f}")
    print("(rows/s per view: entities written per second)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
