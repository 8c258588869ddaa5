"""The latency one on-demand feature view adds to an online read, fsnb against Feast 0.67.0, side by side.

    .venv/bin/python benchmarks/vs_feast/on_demand.py [--quick] [--json out.json] [--drivers N] [--calls N]

What runs (methodology of shared/PERFORMANCE.md):

- Data and definitions: Feast's driver quickstart (``examples/feast_driver_quickstart``; the same Parquet file for
  both stores, ``--drivers`` drivers x 6 hourly rows): view ``driver_hourly_stats`` (conv_rate, acc_rate,
  avg_daily_trips), request source ``vals_to_add`` (val_to_add, val_to_add_2) and the on-demand view
  ``transformed_conv_rate`` in **pandas** mode and ``transformed_conv_rate_python`` in **python** mode, **the same
  function text on both sides**. Three feature services on each side: ``stored_only`` (the view), ``with_pandas``
  and ``with_python`` (the view plus one on-demand view). One private redis-server (loopback, persistence off, free
  port): fsnb in DB 0, Feast in DB 1.
- Each timed call is ``get_online_features(service, entity_rows).to_dict()`` with entity rows as a dict of lists
  (``driver_id`` only for ``stored_only``; plus ``val_to_add`` and ``val_to_add_2`` with an on-demand view). Feast
  gets its FeatureService objects looked up once (a by-name lookup costs it ~2 ms per call); fsnb gets the names.
- Per batch size (1, 10, 100, 500 rows) and mode: the same seeded batches (distinct random drivers, random request
  ints) for every case; ``--warmup`` calls per case, then ``--calls`` (≥ 200) timed calls per case in blocks of
  ``--block``, A B interleaved (fsnb A, fsnb B, Feast A, Feast B, order reversed every other round). Feast runs in
  its own virtualenv (``feast_setup.py``) in a worker subprocess (this file with ``--feast-worker``) that times its
  own calls with ``perf_counter_ns``; only one side works at a time.
- Added latency = median(B) - median(A), per side; the ratio fsnb_added / feast_added. Goals (PERFORMANCE.md): fsnb
  python mode adds ≤ 15 µs at 1 row; fsnb's added latency ≤ 1/10 of Feast's at every size.
- Before timing, one batch per mode is read on both sides and the on-demand values compared (``values agree``).
- ``--quick`` skips Feast (fsnb only, fewer drivers) and runs in well under 20 s.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
EXAMPLE = ROOT / "examples" / "feast_driver_quickstart"
sys.path[:0] = [str(ROOT), str(HERE)]

SIZES = [1, 10, 100, 500]
MODES = ["python", "pandas"]
HOURS = 6
PYTHON_GOAL_US_AT_1 = 15.0
RATIO_GOAL = 1 / 10

# The transformations, one text for both stores (fsnb's quickstart port: null in, null out).
PANDAS_FN = '''
def transformed_conv_rate(inputs):
    df = pd.DataFrame()
    df["conv_rate_plus_val1"] = inputs["conv_rate"] + inputs["val_to_add"]
    df["conv_rate_plus_val2"] = inputs["conv_rate"] + inputs["val_to_add_2"]
    return df
'''
PYTHON_FN = '''
def transformed_conv_rate_python(inputs):
    def plus(rates, values):
        return [r + v if r is not None and v is not None else None for r, v in zip(rates, values)]

    return {
        "conv_rate_plus_val1_python": plus(inputs["conv_rate"], inputs["val_to_add"]),
        "conv_rate_plus_val2_python": plus(inputs["conv_rate"], inputs["val_to_add_2"]),
    }
'''
OUTPUTS = {"pandas": ["conv_rate_plus_val1", "conv_rate_plus_val2"],
           "python": ["conv_rate_plus_val1_python", "conv_rate_plus_val2_python"]}
SERVICES = {"stored": "stored_only", "pandas": "with_pandas", "python": "with_python"}

FEAST_DEFINITIONS = '''
from datetime import timedelta
from typing import Any

import pandas as pd

from feast import Entity, FeatureService, FeatureView, Field, FileSource, RequestSource, ValueType
from feast.on_demand_feature_view import on_demand_feature_view
from feast.types import Float32, Float64, Int64

driver = Entity(name="driver", join_keys=["driver_id"], value_type=ValueType.INT64)
driver_stats_source = FileSource(
    name="driver_hourly_stats_source", path="PARQUET", timestamp_field="event_timestamp",
    created_timestamp_column="created",
)
driver_stats_fv = FeatureView(
    name="driver_hourly_stats", entities=[driver], ttl=timedelta(days=1),
    schema=[Field(name="conv_rate", dtype=Float32), Field(name="acc_rate", dtype=Float32),
            Field(name="avg_daily_trips", dtype=Int64)],
    online=True, source=driver_stats_source,
)
input_request = RequestSource(
    name="vals_to_add", schema=[Field(name="val_to_add", dtype=Int64), Field(name="val_to_add_2", dtype=Int64)],
)


@on_demand_feature_view(
    sources=[driver_stats_fv, input_request],
    schema=[Field(name="conv_rate_plus_val1", dtype=Float64), Field(name="conv_rate_plus_val2", dtype=Float64)],
    mode="pandas",
)
PANDAS_FN

@on_demand_feature_view(
    sources=[driver_stats_fv, input_request],
    schema=[Field(name="conv_rate_plus_val1_python", dtype=Float64),
            Field(name="conv_rate_plus_val2_python", dtype=Float64)],
    mode="python",
)
PYTHON_FN

stored_only = FeatureService(name="stored_only", features=[driver_stats_fv])
with_pandas = FeatureService(name="with_pandas", features=[driver_stats_fv, transformed_conv_rate])
with_python = FeatureService(name="with_python", features=[driver_stats_fv, transformed_conv_rate_python])
'''


# ------------------------------------------------------------------------------------- the Feast worker


def feast_worker(repo: Path) -> int:
    """Run under the Feast venv's python: one JSON command per stdin line, one JSON answer per stdout line."""
    import asyncio
    import runpy

    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything Feast prints goes to stderr
    sys.stdout = sys.stderr
    os.chdir(repo)
    import feast
    from feast import FeatureStore

    defs = runpy.run_path(str(repo / "definitions.py"))
    store = FeatureStore(repo_path=str(repo))
    services: dict[str, Any] = {}
    clock = time.perf_counter_ns

    def service(name: str) -> Any:
        if name not in services:
            services[name] = store.get_feature_service(name)
        return services[name]

    def handle(cmd: dict[str, Any]) -> Any:
        op = cmd["op"]
        if op == "versions":
            return {"feast": feast.__version__, "python": sys.version.split()[0]}
        if op == "apply":
            names = ["driver", "driver_stats_fv", "transformed_conv_rate", "transformed_conv_rate_python",
                     "stored_only", "with_pandas", "with_python"]
            store.apply([defs[n] for n in names])
            services.clear()
            return {}
        if op == "materialize":
            store.materialize(datetime.fromisoformat(cmd["start"]), datetime.fromisoformat(cmd["end"]))
            return {}
        if op == "time":
            svc = service(cmd["service"])
            ns = []
            for rows in cmd["batches"]:
                t0 = clock()
                store.get_online_features(features=svc, entity_rows=rows).to_dict()
                ns.append(clock() - t0)
            return {"ns": ns}
        if op == "sample":
            return store.get_online_features(features=service(cmd["service"]), entity_rows=cmd["rows"]).to_dict()
        raise ValueError(f"unknown op {op!r}")

    from feast_worker import serve  # benchmarks/vs_feast/feast_worker.py

    serve(handle, out)
    with contextlib.suppress(Exception):
        asyncio.run(store.close())
    return 0


# ----------------------------------------------------------------------------------------------- set-up


def write_data(repo: Path, drivers: int, end: datetime) -> Path:
    import runpy

    data = runpy.run_path(str(EXAMPLE / "_data.py"))
    return data["write"](repo, drivers=list(range(1001, 1001 + drivers)), start=end - timedelta(hours=HOURS),  # type: ignore[no-any-return]
                         end=end, seed=3)


def fsnb_objects(repo: Path) -> list[Any]:
    import fsnb

    by_name = {getattr(d, "name", ""): d for d in fsnb.load_definitions(repo)}
    stats, driver = by_name["driver_hourly_stats"], by_name["driver"]
    request = by_name["transformed_conv_rate"].request_sources[0]
    pandas_view = fsnb.OnDemandFeatureView(
        "transformed_conv_rate", sources=[stats, request], udf=PANDAS_FN, mode="pandas",
        schema=[fsnb.Field(n, fsnb.Float64) for n in OUTPUTS["pandas"]])
    python_view = fsnb.OnDemandFeatureView(
        "transformed_conv_rate_python", sources=[stats, request], udf=PYTHON_FN, mode="python",
        schema=[fsnb.Field(n, fsnb.Float64) for n in OUTPUTS["python"]])
    return [driver, stats, pandas_view, python_view,
            fsnb.FeatureService(SERVICES["stored"], [stats]),
            fsnb.FeatureService(SERVICES["pandas"], [stats, pandas_view]),
            fsnb.FeatureService(SERVICES["python"], [stats, python_view])]


def batches(rng: random.Random, drivers: int, n: int, count: int) -> list[dict[str, list[int]]]:
    """``count`` batches of ``n`` distinct drivers with request ints, as dicts of lists."""
    out = []
    ids = list(range(1001, 1001 + drivers))
    for _ in range(count):
        chosen = rng.sample(ids, n)
        out.append({"driver_id": chosen, "val_to_add": [rng.randrange(-1000, 1000) for _ in chosen],
                    "val_to_add_2": [rng.randrange(0, 10**6) for _ in chosen]})
    return out


def stored_rows(rows: list[dict[str, list[int]]]) -> list[dict[str, list[int]]]:
    return [{"driver_id": r["driver_id"]} for r in rows]


def agree(a: dict[str, list[Any]], b: dict[str, list[Any]], cols: list[str]) -> bool:
    for c in cols:
        for x, y in zip(a[c], b[c], strict=True):
            if (x is None) != (y is None) or (x is not None and not math.isclose(x, y, rel_tol=1e-9)):
                return False
    return True


# ------------------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--feast-worker"]:
        return feast_worker(Path(argv[1]).resolve())
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fsnb only (no Feast), 600 drivers; < 20 s")
    ap.add_argument("--drivers", type=int, default=None, help="drivers in the data (default 2,000; quick 600)")
    ap.add_argument("--warmup", type=int, default=None, help="warm-up calls per case (default 50, quick 30)")
    ap.add_argument("--calls", type=int, default=None, help="timed calls per case (default 300, quick 200)")
    ap.add_argument("--block", type=int, default=10, help="calls per interleaved block")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--venv", default=None, help="the Feast virtualenv (created if missing)")
    ap.add_argument("--no-install", action="store_true", help="fail instead of creating the Feast virtualenv")
    ap.add_argument("--json", default=None, help="write the results here")
    args = ap.parse_args(argv)
    drivers = args.drivers or (600 if args.quick else 2_000)
    warmup = args.warmup if args.warmup is not None else (30 if args.quick else 50)
    calls = args.calls or (200 if args.quick else 300)
    if drivers < max(SIZES):
        ap.error(f"--drivers must be at least {max(SIZES)}")

    from direct import (
        FeastWorker,  # benchmarks/vs_feast/direct.py
        summarise,  # benchmarks/vs_feast/direct.py
    )
    from feast_setup import DEFAULT_VENV, FEAST_VERSION, FeastUnavailable, feast_python

    from tests.servers import RedisServer

    if shutil.which("redis-server") is None:
        print("error: redis-server is not installed (scripts/setup.sh)", file=sys.stderr)
        return 2
    feast_py: Path | None = None
    if not args.quick:
        try:
            feast_py = feast_python(args.venv or DEFAULT_VENV, install=not args.no_install)
        except FeastUnavailable as e:
            print(f"error: Feast {FEAST_VERSION} is unavailable: {e}", file=sys.stderr)
            return 3
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks: stop redis and the worker

    import fsnb

    started = time.perf_counter()
    results: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"), "loadavg_start": os.getloadavg(),
        "cpus": os.cpu_count(), "drivers": drivers, "hours": HOURS, "warmup": warmup, "calls": calls,
        "block": args.block, "seed": args.seed, "quick": args.quick, "fsnb": fsnb.__version__,
    }
    server = RedisServer().start()
    tmp = Path(tempfile.mkdtemp(prefix="fsnb-vs-feast-odfv-"))
    worker: FeastWorker | None = None
    store: Any = None
    try:
        repo = tmp / "fsnb_repo"
        repo.mkdir()
        for name in ("definitions.py", "fsnb.yaml"):
            shutil.copy(EXAMPLE / name, repo / name)
        end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        parquet = write_data(repo, drivers, end)
        store = fsnb.Store(repo, online_store=f"redis://127.0.0.1:{server.port}/0")
        store.apply(fsnb_objects(repo))
        store.materialize(end - timedelta(days=1), datetime.now(UTC), progress=False)
        print(f"fsnb: {drivers:,} drivers x {HOURS} hours applied and materialized "
              f"({time.perf_counter() - started:.1f} s; redis port {server.port}, load {os.getloadavg()[0]:.2f})",
              flush=True)
        if feast_py is not None:
            feast_repo = tmp / "feast_repo"
            feast_repo.mkdir()
            (feast_repo / "feature_store.yaml").write_text(
                "project: driver_quickstart\nregistry:\n  path: registry.db\n  cache_ttl_seconds: 0\n"
                "provider: local\nonline_store:\n  type: redis\n"
                f'  connection_string: "127.0.0.1:{server.port},db=1"\n'
                "offline_store:\n  type: file\nentity_key_serialization_version: 3\n")
            (feast_repo / "definitions.py").write_text(
                FEAST_DEFINITIONS.replace("PARQUET", str(parquet)).replace("PANDAS_FN", PANDAS_FN.strip())
                .replace("PYTHON_FN", PYTHON_FN.strip()))
            t0 = time.perf_counter()
            worker = FeastWorker(feast_py, feast_repo, tmp / "feast_worker.log",
                                 argv=[str(Path(__file__).resolve()), "--feast-worker", str(feast_repo)])
            worker.call("apply")
            worker.call("materialize", start=(end - timedelta(days=1)).isoformat(),
                        end=datetime.now(UTC).isoformat())
            results["feast"] = worker.call("versions")
            print(f"Feast {results['feast']['feast']}: applied and materialized in {time.perf_counter() - t0:.1f} s",
                  flush=True)

        rng = random.Random(args.seed)
        fsnb_read = store.get_online_features

        def fsnb_case(service: str) -> Callable[[list[dict[str, list[int]]]], list[int]]:
            clock = time.perf_counter_ns

            def run(rows: list[dict[str, list[int]]]) -> list[int]:
                ns = []
                for r in rows:
                    t0 = clock()
                    fsnb_read(service, r).to_dict()
                    ns.append(clock() - t0)
                return ns
            return run

        def feast_case(service: str) -> Callable[[list[dict[str, list[int]]]], list[int]]:
            def run(rows: list[dict[str, list[int]]]) -> list[int]:
                assert worker is not None
                return list(worker.call("time", service=service, batches=rows)["ns"])
            return run

        # values agree: the same batch on both sides, per mode
        agreement: dict[str, Any] = {}
        for mode in MODES:
            sample = batches(random.Random(args.seed + 1), drivers, 50, 1)[0]
            mine = fsnb_read(SERVICES[mode], sample).to_dict()
            if worker is not None:
                theirs = worker.call("sample", service=SERVICES[mode], rows=sample)
                agreement[mode] = agree(mine, theirs, OUTPUTS[mode] + ["conv_rate"])
            rate = mine["conv_rate"][0]
            assert rate is None or math.isclose(mine[OUTPUTS[mode][0]][0], rate + sample["val_to_add"][0]), mine
        results["values_agree"] = agreement

        latency: dict[str, dict[str, Any]] = {}
        for mode in MODES:
            for n in SIZES:
                warm = batches(rng, drivers, n, warmup)
                timed = batches(rng, drivers, n, calls)
                cases: dict[str, tuple[Callable[..., list[int]], bool]] = {
                    "fsnb stored": (fsnb_case(SERVICES["stored"]), False),
                    "fsnb +odfv": (fsnb_case(SERVICES[mode]), True),
                }
                if worker is not None:
                    cases["feast stored"] = (feast_case(SERVICES["stored"]), False)
                    cases["feast +odfv"] = (feast_case(SERVICES[mode]), True)
                out = interleave_cases(cases, warm, timed, args.block)
                key = f"{mode} {n}"
                latency[key] = {name: summarise(ns) for name, ns in out.items()}
                print(f"  {mode:6} {n:3} rows: " + ", ".join(
                    f"{name} {latency[key][name]['p50'] * 1000:.1f} µs" for name in out), flush=True)
        results["latency"] = latency
        rows = table(latency, worker is not None)
        results["table"] = rows
        print()
        print_table(rows)
        results["seconds"] = time.perf_counter() - started
        results["loadavg_end"] = os.getloadavg()
        print(f"\n{results['seconds']:.1f} s; load {results['loadavg_start'][0]:.2f} -> {results['loadavg_end'][0]:.2f}"
              + (f"; values agree with Feast: {agreement}" if agreement else ""))
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2, default=str))
        return 0
    finally:
        if worker is not None:
            worker.close()
        if store is not None:
            store.close()
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def interleave_cases(cases: dict[str, tuple[Callable[..., list[int]], bool]], warm: list[dict[str, list[int]]],
                     timed: list[dict[str, list[int]]], block: int) -> dict[str, list[int]]:
    """Every case over the same batches (without the request columns for the stored-only cases), in blocks of
    ``block`` calls, A B C D then D C B A ...; the warm-up runs the same way first."""
    names = list(cases)

    def rows_for(name: str, rows: list[dict[str, list[int]]]) -> list[dict[str, list[int]]]:
        return rows if cases[name][1] else stored_rows(rows)

    for start in range(0, len(warm), block):
        for name in names:
            cases[name][0](rows_for(name, warm[start:start + block]))
    out: dict[str, list[int]] = {name: [] for name in names}
    for r, start in enumerate(range(0, len(timed), block)):
        for name in names if r % 2 == 0 else names[::-1]:
            out[name].extend(cases[name][0](rows_for(name, timed[start:start + block])))
    return out


# ----------------------------------------------------------------------------------------------- the table


def us(x: float) -> str:
    return f"{x:,.1f} µs" if abs(x) < 100 else f"{x:,.0f} µs"


def table(latency: dict[str, dict[str, Any]], with_feast: bool) -> list[dict[str, str]]:
    rows = []
    for key, cases in latency.items():
        mode, n = key.split()
        a, b = cases["fsnb stored"]["p50"] * 1000, cases["fsnb +odfv"]["p50"] * 1000
        added = b - a
        row = {"mode": mode, "rows": n, "fsnb p50 stored": us(a), "fsnb p50 +odfv": us(b), "fsnb added": us(added)}
        goals = []
        ok = True
        if mode == "python" and n == "1":
            goals.append(f"fsnb added ≤ {PYTHON_GOAL_US_AT_1:g} µs")
            ok = ok and added <= PYTHON_GOAL_US_AT_1
        if with_feast:
            fa, fb = cases["feast stored"]["p50"] * 1000, cases["feast +odfv"]["p50"] * 1000
            f_added = fb - fa
            ratio = added / f_added if f_added > 0 else math.inf
            row.update({"Feast p50 stored": us(fa), "Feast p50 +odfv": us(fb), "Feast added": us(f_added),
                        "fsnb÷Feast added": f"{ratio:.3f} (1/{1 / ratio:.0f})" if 0 < ratio <= 0.5 else f"{ratio:.3f}"})
            goals.append("ratio ≤ 1/10")
            ok = ok and ratio <= RATIO_GOAL
        row["goal"] = ", ".join(goals) or "—"
        row["met"] = ("yes" if ok else "NO") if goals else "—"
        rows.append(row)
    return rows


def print_table(rows: list[dict[str, str]]) -> None:
    cols = list(rows[0])
    width = {c: max(len(c), *(len(r[c]) for r in rows)) for c in cols}
    print("| " + " | ".join(c.ljust(width[c]) for c in cols) + " |")
    print("| " + " | ".join("-" * width[c] for c in cols) + " |")
    for r in rows:
        print("| " + " | ".join(r[c].ljust(width[c]) for c in cols) + " |")


if __name__ == "__main__":
    raise SystemExit(main())
