"""The notebook's first cell, in fresh processes: time to the first online read, ``to_df()`` at 1 row, peak RSS.

    .venv/bin/python benchmarks/first_read.py [--quick] [--runs 5] [--no-feast]

A private redis-server, the banking example materialized into it (and into Feast 0.67's own repo, in its own
virtualenv: ``feast_setup.py``), then ``--runs`` rounds, each starting one fresh fsnb process and one fresh Feast
process (alternating which goes first). Each process:

1. imports the library, opens the store and reads ``realtime_scoring`` for one customer (``to_dict()``): the
   *first read*, timed from before the interpreter was started (the parent's clock) and from its first line;
2. records its peak RSS then (a process that read online features), then reads again with ``to_df()`` (pandas is
   loaded here) and records the peak RSS again;
3. times 50 warm-up and 200 timed ``get_online_features(...).to_df()`` calls at 1 row (random customers, fixed
   seed), then as many of pandas' own ``pd.DataFrame(columns)`` of the same 1-row columns (the floor).

Medians over the runs are printed, with fsnb / Feast ratios. Rows for ``benchmarks/ab.py``: field 1 is the median.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT), str(HERE), str(HERE / "vs_feast")]

SERVICE = "realtime_scoring"

#: run in a fresh interpreter: argv = library, repo, customers, calls, spawn time (parent's time.time()).
CHILD = r'''
import json, random, resource, sys, time
t_first_line = time.perf_counter()
lib, repo, customers, calls, spawned = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
rng = random.Random(7)
ids = [rng.randint(1, customers) for _ in range(calls + 60)]
def rss():  # peak RSS of this program (VmHWM: unlike ru_maxrss, not inherited from the forking parent)
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
if lib == "fsnb":
    import fsnb
    store = fsnb.Store(repo)
    def read(i):
        return store.get_online_features("realtime_scoring", {"customer_id": [i]})
else:
    import os
    os.chdir(repo)
    from feast import FeatureStore
    store = FeatureStore(repo_path=repo)
    service = store.get_feature_service("realtime_scoring")
    def read(i):
        return store.get_online_features(features=service, entity_rows=[{"customer_id": i}])
columns = read(ids[0]).to_dict()
first = time.perf_counter()
first_wall = time.time()
rss_read = rss()
read(ids[1]).to_df()
first_df = time.perf_counter()
rss_df = rss()
import pandas as pd
clock = time.perf_counter_ns
to_df, floor = [], []
for n, i in enumerate(ids[2:]):
    t0 = clock()
    read(i).to_df()
    t1 = clock()
    if n >= 50:
        to_df.append(t1 - t0)
for n in range(len(ids) - 2):
    t0 = clock()
    pd.DataFrame(columns)
    t1 = clock()
    if n >= 50:
        floor.append(t1 - t0)
med = lambda v: sorted(v)[len(v) // 2] / 1e6
print(json.dumps({
    "first_read_s": first_wall - spawned, "first_read_in_process_s": first - t_first_line,
    "first_to_df_s": first_wall - spawned + (first_df - first),
    "rss_read_mib": rss_read, "rss_to_df_mib": rss_df, "rss_end_mib": rss(),
    "to_df_p50_ms": med(to_df), "pandas_floor_p50_ms": med(floor),
}))
'''


def run_child(python: str, lib: str, repo: Path, customers: int, calls: int, env: dict[str, str]) -> dict[str, float]:
    spawned = time.time()
    out = subprocess.run([python, "-c", CHILD, lib, str(repo), str(customers), str(calls), repr(spawned)],
                         capture_output=True, text=True, env=env, cwd=str(repo))
    if out.returncode != 0:
        raise SystemExit(f"{lib} child failed:\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


ROWS = [
    ("first read (to_dict), s", "first_read_s"),
    ("first read, in-process, s", "first_read_in_process_s"),
    ("first read then to_df, s", "first_to_df_s"),
    ("peak RSS after read, MiB", "rss_read_mib"),
    ("peak RSS after to_df, MiB", "rss_to_df_mib"),
    ("peak RSS at end, MiB", "rss_end_mib"),
    ("to_df 1 row p50, ms", "to_df_p50_ms"),
    ("pandas floor p50, ms", "pandas_floor_p50_ms"),
]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="2,000 customers, 3 runs, no Feast")
    ap.add_argument("--customers", type=int, default=None)
    ap.add_argument("--runs", type=int, default=None)
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--no-feast", action="store_true")
    ap.add_argument("--venv", default="/tmp/fsnb-feast-venv")
    args = ap.parse_args(argv)
    customers = args.customers or (2_000 if args.quick else 10_000)
    runs = args.runs or (3 if args.quick else 5)
    with_feast = not (args.no_feast or args.quick)

    import rest as bench  # benchmarks/rest.py


    with bench.banking_on_redis(customers, "fsnb-first-read-") as (tmp, repo, redis):
        env = {**os.environ, "FSNB_ONLINE_STORE": redis.url, "PYTHONPATH": str(ROOT)}
        pythons = {"fsnb": (sys.executable, repo)}
        if with_feast:
            from feast_setup import build_feast_repo, ensure_feast

            feast = ensure_feast(Path(args.venv), True)
            build_feast_repo(tmp / "feast_repo", repo / "data", redis.port, feast)
            pythons["feast"] = (str(feast.parent / "python"), tmp / "feast_repo")
        results: dict[str, list[dict[str, float]]] = {name: [] for name in pythons}
        order = list(pythons)
        for r in range(runs):
            for name in (order if r % 2 == 0 else order[::-1]):
                python, where = pythons[name]
                child_env = env if name == "fsnb" else {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
                results[name].append(run_child(python, name, where, customers, args.calls, child_env))
            print(f"round {r + 1}/{runs} done", file=sys.stderr)
        print(f"# fresh processes, median of {runs}; 1-row {SERVICE}, {customers} customers, Redis on loopback")
        print(f"{'case':<30s} " + " ".join(f"{n:>10s}" for n in pythons) + ("   fsnb/feast" if with_feast else ""))
        for label, key in ROWS:
            meds = {n: statistics.median(x[key] for x in results[n]) for n in pythons}
            line = f"{label:<30s} " + " ".join(f"{meds[n]:>10.3f}" for n in pythons)
            if with_feast and meds["feast"]:
                line += f"   {meds['fsnb'] / meds['feast']:>10.3f}"
            print(line)
        fs = {k: statistics.median(x[k] for x in results["fsnb"]) for k in results["fsnb"][0]}
        print(f"\nfsnb to_df / pandas floor at 1 row: {fs['to_df_p50_ms'] / fs['pandas_floor_p50_ms']:.2f}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())


