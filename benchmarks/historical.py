"""Training-set speed and memory: ``get_historical_features`` over the banking example's 3 customer views.

    .venv/bin/python benchmarks/historical.py           # 1,000,000 customers; 100,000 and 1,000,000 entity rows
    .venv/bin/python benchmarks/historical.py --quick   # 20,000 customers; 10,000 and 100,000 entity rows

Each measurement is a fresh process (its own peak RSS) building ``realtime_scoring`` (20 features, 3 views,
point in time with TTLs) for random customers at random times over the last 30 days, to a pandas DataFrame.
Reported: seconds (median over repeats) split into query (to Arrow) and to_df, and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import runpy
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _store(repo: str) -> object:
    import fsnb
    from fsnb.config import Config, RegistryConfig

    cfg = Config(
        project="bench",
        repo_path=Path(repo),
        registry=RegistryConfig(url=f"sqlite:///{repo}/registry.db", cache_ttl_seconds=60),
    )
    return fsnb.Store(config=cfg)


def child(args: argparse.Namespace) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(args.rows)
    entity_df = pd.DataFrame({
        "customer_id": rng.integers(1, args.customers + 1, args.rows),
        "event_timestamp": pd.Timestamp(NOW) - pd.to_timedelta(rng.integers(0, 30 * 86400, args.rows), unit="s"),
        "label": rng.random(args.rows) < 0.1,
    })
    store = _store(args.repo)
    began = time.perf_counter()
    job = store.get_historical_features(entity_df, "realtime_scoring")  # type: ignore[attr-defined]
    job.to_arrow()
    query = time.perf_counter() - began
    df = job.to_df()
    total = time.perf_counter() - began
    assert len(df) == args.rows
    print(json.dumps({
        "seconds": total, "query_seconds": query, "to_df_seconds": total - query,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "filled": float(df["txn_count_7d"].notna().mean()),
    }))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--customers", type=int, default=None)
    parser.add_argument("--rows", default=None, help="comma-separated entity-row counts")
    parser.add_argument("--repeat", type=int, default=None)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--repo", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    if args.child:
        args.rows = int(args.rows)
        child(args)
        return 0
    customers = args.customers or (20_000 if args.quick else 1_000_000)
    sizes = [int(s) for s in (args.rows or ("10000,100000" if args.quick else "100000,1000000")).split(",")]
    repeat = args.repeat or (1 if args.quick else 3)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory(prefix="fsnb-bench-hist-") as tmp:
        subprocess.run(
            [sys.executable, "-m", "fsnb.examples.banking", tmp, "--customers", str(customers),
             "--now", NOW.isoformat()],
            check=True, stdout=subprocess.DEVNULL, env=env,
        )
        from fsnb.definitions import DataSource, Entity, FeatureService, FeatureView
        from fsnb.on_demand import OnDemandFeatureView

        ns = runpy.run_path(str(ROOT / "fsnb" / "templates" / "banking" / "definitions.py"))
        store = _store(tmp)
        kinds = (Entity, DataSource, FeatureView, FeatureService, OnDemandFeatureView)
        store.apply([v for v in ns.values() if isinstance(v, kinds)])  # type: ignore[attr-defined]
        store.close()  # type: ignore[attr-defined]
        results: dict[int, list[dict[str, float]]] = {}
        for n in sizes:
            for _ in range(repeat):
                done = subprocess.run(
                    [sys.executable, __file__, "--child", "--repo", tmp, "--rows", str(n), "--customers",
                     str(customers)],
                    capture_output=True, text=True, env=env,
                )
                if done.returncode != 0:
                    raise SystemExit(f"training-set run failed:\n{done.stderr}")
                out = done.stdout.strip().splitlines()[-1]
                results.setdefault(n, []).append(json.loads(out))
    print(f"get_historical_features, realtime_scoring (3 views, 20 features), {customers:,} customers "
          f"(median of {repeat}):")
    print(f"{'entity rows':>12} {'seconds':>8} {'query':>8} {'to_df':>8} {'peak RSS MB':>12}")
    for n, runs in results.items():
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        print(f"{n:>12,} {med['seconds']:>8.2f} {med['query_seconds']:>8.2f} {med['to_df_seconds']:>8.2f} "
              f"{med['peak_rss_mb']:>12,.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
