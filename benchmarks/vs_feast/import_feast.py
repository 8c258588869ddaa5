"""Time ``fsnb import-feast`` and a training set of fsnb vs Feast on the banking repo (medians of N runs).

    .venv/bin/python -m benchmarks.vs_feast.import_feast [--customers 10000] [--rows 10000] [--runs 5]

Import: ``fsnb import-feast`` as a command (process start included), N times. Training set: the same entity frame
through ``get_historical_features(...).to_df()`` in fsnb and in Feast 0.67 (file offline store), alternating, each
timed in-process after one warm-up call (Feast's process start and imports excluded).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

import fsnb
from fsnb.examples.banking import init_repo
from fsnb.registry.repo import load_definitions
from tests.feast.banking import write_repo
from tests.feast_venv import feast_python

ROOT = Path(__file__).resolve().parents[2]
FEATURES = ["customer_demographics:age", "customer_demographics:segment", "transaction_stats:txn_count_24h",
            "transaction_stats:declined_ratio_7d", "behavior_profile:mobile_share"]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    python = feast_python()
    work = Path(tempfile.mkdtemp(prefix="fsnb-feast-bench-"))
    data = init_repo(work / "banking", customers=args.customers) / "data"
    repo = write_repo(work / "feast", data, online_store="  type: sqlite\n  path: data/online.db\n")
    plan = [{"op": "apply"}]
    _worker(python, repo, plan)

    fsnb_cli = Path(sys.executable).parent / "fsnb"
    imports = []
    for _ in range(args.runs):
        start = time.perf_counter()
        subprocess.run([str(fsnb_cli), "import-feast", str(repo), "--out", str(work / "fsnb"), "--force"],
                       check=True, capture_output=True)
        imports.append(time.perf_counter() - start)

    txn = pd.read_parquet(data / "transaction_stats.parquet").sample(args.rows, replace=True, random_state=0)
    entity_df = pd.DataFrame({"customer_id": txn["customer_id"].to_numpy(),
                              "event_timestamp": txn["event_timestamp"].to_numpy()})
    entity_df["event_timestamp"] = pd.to_datetime(entity_df["event_timestamp"], utc=True)
    entity_df.to_parquet(repo / "entity_df.parquet")
    ours, theirs = [], []
    with fsnb.Store(work / "fsnb") as store:
        store.apply(load_definitions(work / "fsnb"))
        store.get_historical_features(entity_df, FEATURES).to_df()  # warm-up
        for _ in range(args.runs):
            start = time.perf_counter()
            store.get_historical_features(entity_df, FEATURES).to_df()
            ours.append(time.perf_counter() - start)
            op = {"op": "historical", "entity_df": str(repo / "entity_df.parquet"), "features": FEATURES,
                  "out": str(repo / "feast_training.parquet"), "timed": 1}
            theirs += _worker(python, repo, [op])[0]
    med = statistics.median
    print(f"banking: {args.customers} customers; entity frame: {len(entity_df)} rows, {len(FEATURES)} features "
          f"from 3 views; {args.runs} runs")
    print(f"fsnb import-feast (command):   median {med(imports):.3f} s  {_runs(imports)}")
    print(f"training set, fsnb:            median {med(ours):.3f} s  {_runs(ours)}")
    print(f"training set, Feast 0.67 file: median {med(theirs):.3f} s  {_runs(theirs)}")
    print(f"Feast / fsnb: {med(theirs) / med(ours):.1f}x")
    return 0


def _worker(python: Path, repo: Path, plan: list[dict[str, object]]) -> list[object]:
    (repo / "plan.json").write_text(json.dumps(plan))
    subprocess.run([str(python), str(ROOT / "tests" / "feast" / "worker.py"), str(repo), str(repo / "plan.json"),
                    str(repo / "out.json")], check=True, capture_output=True)
    answers = json.loads((repo / "out.json").read_text())
    if any("error" in a for a in answers):
        raise RuntimeError(next(a["error"] for a in answers if "error" in a))
    return [a["ok"] for a in answers]


def _runs(xs: list[float]) -> str:
    return "[" + ", ".join(f"{x:.3f}" for x in xs) + "]"


if __name__ == "__main__":
    sys.exit(main())
