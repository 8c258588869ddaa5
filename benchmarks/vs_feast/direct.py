"""fsnb against Feast 0.67.0 in-process (SDK) reads, materialization, vector builds and import time, side by side.

    .venv/bin/python benchmarks/vs_feast/direct.py [--quick] [--json out.json] [--customers N] [--gc-freeze]

What runs (methodology of shared/PERFORMANCE.md):

- Data: the banking example (``init_repo``; 10,000 customers, ``--quick`` 2,000), the same Parquet files for both
  stores; one private redis-server (persistence off, loopback, free port): fsnb in DB 0, Feast in DB 1.
- Feast runs in its own virtualenv (``feast_setup.py``; never a dependency of fsnb), in a **worker subprocess**
  (``feast_worker.py``, run by the Feast venv's python) that takes commands on stdin (e.g. "time these 10 batches
  of customer ids") and times its own calls with ``perf_counter_ns``; fsnb runs in this process. Only one side
  works at a time (the other waits on a pipe), so they never compete for the CPU.
- Reads of the service ``realtime_scoring`` (3 views, 20 features), ``to_dict()`` on both sides, batch sizes 1,
  10, 100, 500: per batch size every case gets the same warm-up and timed batches (distinct random customers,
  fixed seed) and runs in blocks of ``--block`` calls, A B A B interleaved (block order reversed every other
  round). Feast gets its FeatureService object looked up once (a lookup per call costs it ~2 ms); fsnb gets the
  service name. Cases: direct (fsnb ``precomputed=False``), precomputed (Feast 0.67's ``precompute_online=True``
  FeatureService read path, which works only with ``full_feature_names=True`` — its vectors store
  ``view__feature`` names; fsnb ``precomputed=True``, also with full names), async at 1 and 10 rows
  (``get_online_features_async`` on both), and the bare redis-py+hiredis floors on fsnb's keys (pipelined HMGET
  of the 3 view fields per entity; one GET of the precomputed vector per entity).
- Materialization: the 3 customer views, a window covering all data, A B alternated after one untimed warm-up
  run each, each run into a flushed DB; entity-rows/s = 3 x customers / wall seconds of the call (fsnb's service
  is applied with ``precompute_online=False`` for this phase so neither side builds vectors inside it). Also
  shown: source rows/s (every row of the three files, ~3 per customer per view), which is how PERFORMANCE.md's
  12.2k figure for Feast reads (30k entity-rows at that rate would take 2.5 s; Feast takes ~7.5 s here).
- Vector builds: Feast ``precompute_feature_service`` vs fsnb ``build_vectors``, same alternation.
- Import: wall time of a fresh ``python -c "import feast"`` / ``"import fsnb"``, median of 5, alternated.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import math
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(ROOT), str(HERE)]

from feast_setup import DEFAULT_VENV, FEAST_VERSION, FeastUnavailable, feast_python, write_feast_repo  # noqa: E402

from tests.servers import RedisServer  # noqa: E402

SERVICE = "realtime_scoring"
VIEWS = ["customer_demographics", "transaction_stats", "behavior_profile"]
SIZES = [1, 10, 100, 500]
ASYNC_SIZES = [1, 10]

# Feast 0.67.0 on this machine kind (shared/PERFORMANCE.md): (p50, p99) in ms, or a rate / seconds.
REFERENCE: dict[str, Any] = {
    "direct": {1: (0.58, 1.10), 10: (1.77, 2.17), 100: (12.1, 99.0), 500: (61.5, 160.0)},
    "precomputed": {1: (0.71, 0.95), 10: (1.57, 1.96), 100: (8.5, 87.0), 500: (41.6, 134.0)},
    "async": {1: (0.64, 1.05), 10: (1.94, 2.40)},
    "materialize_rows_per_s": 12_200,
    "vectors_per_s": 1_270,
    "import_s": 3.8,
    "floor_hmget_1": (0.072, 0.192),
    "floor_get_1": (0.042, 0.083),
}
# Goals, fsnb ÷ Feast (same run): p50 (and p99) upper bounds; rates are lower bounds on fsnb ÷ Feast.
DIRECT_P50_GOAL = {1: 1 / 3, 10: 1 / 6, 100: 1 / 10, 500: 1 / 12}
DIRECT_P99_GOAL = {100: 1 / 15, 500: 1 / 15}
PRE_P50_GOAL = {1: 1 / 6, 500: 1 / 12}  # 10 and 100 rows: between the two
ASYNC_OVER_SYNC = 1.3
FLOOR_FACTOR = 1.5
MATERIALIZE_GOAL = 12.0
VECTORS_GOAL = 50.0
IMPORT_GOAL = 1 / 25


# ------------------------------------------------------------------------------------------ the Feast side


class FeastWorker:
    """``feast_worker.py`` (or another worker script) under the Feast venv's python, one JSON line per command each
    way."""

    def __init__(self, python: Path, repo: Path, log: Path, argv: Sequence[str] | None = None) -> None:
        """``argv``: the script and its arguments (``feast_worker.py REPO`` by default)."""
        self.log_path = log
        self._log = open(log, "w")  # noqa: SIM115  (closed in close())
        self.proc = subprocess.Popen(
            [str(python), *(argv or [str(HERE / "feast_worker.py"), str(repo)])],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, text=True, bufsize=1,
            cwd=str(repo), env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        ready = self._read()
        if not ready.get("ready"):
            raise RuntimeError(f"Feast worker did not start: {ready}")

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(timeout=10)
            raise RuntimeError(f"the Feast worker exited ({self.proc.returncode}); its log ends:\n{self.log_tail()}")
        return json.loads(line)

    def log_tail(self, lines: int = 30) -> str:
        self._log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def call(self, op: str, **kw: Any) -> Any:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"op": op, **kw}) + "\n")
        self.proc.stdin.flush()
        answer = self._read()
        if isinstance(answer, dict) and "error" in answer:
            raise RuntimeError(f"Feast worker, {op}:\n{answer['error']}")
        return answer

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=20)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self._log.close()


# ------------------------------------------------------------------------------------------- statistics


def summarise(ns: list[int]) -> dict[str, float]:
    ms = sorted(x / 1e6 for x in ns)
    q = statistics.quantiles(ms, n=100, method="inclusive")
    return {"p50": statistics.median(ms), "p95": q[94], "p99": q[98], "mean": statistics.fmean(ms), "max": ms[-1],
            "n": len(ms)}


def interleave(cases: dict[str, Callable[[list[list[int]]], list[int]]], warm: list[list[int]],
               timed: list[list[int]], block: int) -> dict[str, list[int]]:
    """Run every case over the same batches in blocks of ``block`` calls, A B C ... then ... C B A."""
    names = list(cases)
    for start in range(0, len(warm), block):
        for name in names:
            cases[name](warm[start:start + block])
    out: dict[str, list[int]] = {name: [] for name in names}
    for r, start in enumerate(range(0, len(timed), block)):
        for name in names if r % 2 == 0 else names[::-1]:
            out[name].extend(cases[name](timed[start:start + block]))
    return out


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9) or (math.isnan(a) and math.isnan(b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return bool(a == b)


def short_names(d: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """``view__feature`` → ``feature``."""
    return {k.split("__", 1)[-1]: v for k, v in d.items()}


def compare(a: dict[str, list[Any]], b: dict[str, list[Any]]) -> dict[str, Any]:
    """Cells that differ between two ``to_dict()`` results, per column, and the customers whose rows differ."""
    diff: dict[str, Any] = {}
    ids = a.get("customer_id", [])
    rows: set[Any] = set()
    null_in = [0, 0]
    for col in sorted(set(a) | set(b)):
        if col not in a or col not in b:
            diff[col] = "missing in " + ("first" if col not in a else "second")
            continue
        bad = [i for i, (x, y) in enumerate(zip(a[col], b[col])) if not same(x, y)]
        null_in[0] += sum(a[col][i] is None for i in bad)
        null_in[1] += sum(b[col][i] is None for i in bad)
        n = len(bad) + abs(len(a[col]) - len(b[col]))
        if n:
            diff[col] = n
            rows.update(ids[i] for i in bad if i < len(ids))
    return {"columns": len(a), "rows": len(next(iter(a.values()), [])), "differing": diff,
            "differing_customers": sorted(rows), "differing_null_in_first": null_in[0],
            "differing_null_in_second": null_in[1]}


# ------------------------------------------------------------------------------------------------ phases


def fsnb_definitions(repo: Path, precompute: bool) -> list[Any]:
    import fsnb
    from fsnb.registry.repo import load_definitions

    out = []
    for obj in load_definitions(repo):
        if isinstance(obj, fsnb.FeatureService) and obj.name == SERVICE and not precompute:
            obj = fsnb.FeatureService(SERVICE, list(obj.projections), precompute_online=False,
                                      description=obj.description)
        out.append(obj)
    return out


def alternate(n: int, a: Callable[[], float], b: Callable[[], float]) -> tuple[list[float], list[float]]:
    """``n`` runs of each, A B then B A ..., returning both lists of results."""
    ra, rb = [], []
    for i in range(n):
        if i % 2 == 0:
            ra.append(a())
            rb.append(b())
        else:
            rb.append(b())
            ra.append(a())
    return ra, rb


def import_times(feast_py: Path, runs: int, cwd: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSTARTUP")}

    def wall(cmd: list[str]) -> Callable[[], float]:
        def run() -> float:
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            return time.perf_counter() - t0
        return run

    fsnb_py = sys.executable
    feast_s, fsnb_s = alternate(runs, wall([str(feast_py), "-c", "import feast"]), wall([fsnb_py, "-c", "import fsnb"]))
    bare_feast, bare_fsnb = alternate(runs, wall([str(feast_py), "-c", "pass"]), wall([fsnb_py, "-c", "pass"]))
    return {"feast_s": statistics.median(feast_s), "fsnb_s": statistics.median(fsnb_s), "feast_runs": feast_s,
            "fsnb_runs": fsnb_s, "bare_interpreter_feast_venv_s": statistics.median(bare_feast),
            "bare_interpreter_fsnb_venv_s": statistics.median(bare_fsnb)}


# ----------------------------------------------------------------------------------------------- the table


def fmt_ms(x: float | None) -> str:
    if x is None:
        return "—"
    if x < 1:
        return f"{x:.3f} ms"
    return f"{x:.2f} ms" if x < 10 else f"{x:.1f} ms"


def fmt_ratio(r: float | None) -> str:
    if r is None:
        return "—"
    return f"{r:.3f} (1/{1 / r:.1f})" if r < 1 else f"{r:.2f}"


def fmt_rate(x: float) -> str:
    return f"{x / 1000:.1f}k/s" if x >= 1000 else f"{x:.0f}/s"


def fraction(x: float) -> str:
    return f"≤ 1/{round(1 / x)}"


def build_table(res: dict[str, Any]) -> list[dict[str, str]]:
    lat = res["latency"]
    rows: list[dict[str, str]] = []

    def row(case: str, ref: str, f50: str, f99: str, s50: str, s99: str, r50: str, r99: str, goal: str,
            met: str) -> None:
        rows.append({"case": case, "Feast ref p50/p99": ref, "Feast p50": f50, "Feast p99": f99, "fsnb p50": s50,
                     "fsnb p99": s99, "fsnb÷Feast p50": r50, "fsnb÷Feast p99": r99, "goal": goal, "met": met})

    def yes(ok: bool) -> str:
        return "yes" if ok else "NO"

    for kind in ("direct", "precomputed", "async"):
        for n in SIZES if kind != "async" else ASYNC_SIZES:
            f, s = lat[str(n)][f"feast {kind}"], lat[str(n)][f"fsnb {kind}"]
            r50, r99 = s["p50"] / f["p50"], s["p99"] / f["p99"]
            ref = REFERENCE[kind][n]
            goal, met = "", ""
            if kind == "direct":
                goal, ok = f"p50 {fraction(DIRECT_P50_GOAL[n])}", r50 <= DIRECT_P50_GOAL[n]
                if n in DIRECT_P99_GOAL:
                    goal += f", p99 {fraction(DIRECT_P99_GOAL[n])}"
                    ok = ok and r99 <= DIRECT_P99_GOAL[n]
                met = yes(ok)
            elif kind == "precomputed":
                if n in PRE_P50_GOAL:
                    goal, met = f"p50 {fraction(PRE_P50_GOAL[n])}", yes(r50 <= PRE_P50_GOAL[n])
                else:
                    goal = "p50 between ≤ 1/6 (1 row) and ≤ 1/12 (500)"
                    met = "yes" if r50 <= 1 / 12 else "partly (≤ 1/6)" if r50 <= 1 / 6 else "NO"
            else:
                a_s = s["p50"] / lat[str(n)]["fsnb direct"]["p50"]
                goal = f"fsnb async p50 ≤ {ASYNC_OVER_SYNC}x fsnb sync (is {a_s:.2f}x)"
                met = yes(a_s <= ASYNC_OVER_SYNC)
            label = {"direct": "direct", "precomputed": "precomputed", "async": "async, direct"}[kind]
            row(f"{label}, {n} row{'s' if n > 1 else ''}", f"{ref[0]:g} / {ref[1]:g} ms", fmt_ms(f["p50"]),
                fmt_ms(f["p99"]), fmt_ms(s["p50"]), fmt_ms(s["p99"]), fmt_ratio(r50), fmt_ratio(r99), goal, met)
    one = lat["1"]
    for floor, case, label in (("floor HMGET pipeline", "fsnb direct", "bare 3xHMGET pipelined, 1 entity"),
                               ("floor GET", "fsnb precomputed", "bare GET, 1 vector")):
        fl, s = one[floor], one[case]
        x = s["p50"] / fl["p50"]
        ref = REFERENCE["floor_hmget_1" if "HMGET" in floor else "floor_get_1"]
        row(label, f"{ref[0] * 1000:g} / {ref[1] * 1000:g} µs", "—", "—", fmt_ms(fl["p50"]), fmt_ms(fl["p99"]),
            "—", "—", f"{case} 1 row p50 ≤ {FLOOR_FACTOR}x floor (is {x:.2f}x)", yes(x <= FLOOR_FACTOR))
    m = res["materialize"]
    r = m["fsnb_rows_per_s"] / m["feast_rows_per_s"]
    row("materialization, 3 views x all customers (entity-rows/s; source rows/s)",
        fmt_rate(REFERENCE["materialize_rows_per_s"]),
        f"{fmt_rate(m['feast_rows_per_s'])}; {fmt_rate(m['feast_source_rows_per_s'])}", "",
        f"{fmt_rate(m['fsnb_rows_per_s'])}; {fmt_rate(m['fsnb_source_rows_per_s'])}", "", f"{r:.1f}x", "",
        f"≥ {MATERIALIZE_GOAL:g}x", yes(r >= MATERIALIZE_GOAL))
    v = res["vectors"]
    r = v["fsnb_vectors_per_s"] / v["feast_vectors_per_s"]
    row("precomputed vector build (vectors/s)", fmt_rate(REFERENCE["vectors_per_s"]),
        fmt_rate(v["feast_vectors_per_s"]), "", fmt_rate(v["fsnb_vectors_per_s"]), "", f"{r:.1f}x", "",
        f"≥ {VECTORS_GOAL:g}x", yes(r >= VECTORS_GOAL))
    i = res["import"]
    r = i["fsnb_s"] / i["feast_s"]
    row("import (fresh interpreter, wall, median of 5)", f"{REFERENCE['import_s']:g} s", f"{i['feast_s']:.2f} s", "",
        f"{i['fsnb_s'] * 1000:.0f} ms", "", fmt_ratio(r), "", fraction(IMPORT_GOAL), yes(r <= IMPORT_GOAL))
    return rows


def print_table(rows: list[dict[str, str]]) -> None:
    cols = list(rows[0])
    width = {c: max(len(c), *(len(r[c]) for r in rows)) for c in cols}
    print("| " + " | ".join(c.ljust(width[c]) for c in cols) + " |")
    print("| " + " | ".join("-" * width[c] for c in cols) + " |")
    for r in rows:
        print("| " + " | ".join(r[c].ljust(width[c]) for c in cols) + " |")


# ------------------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="2,000 customers, 10 warm-up + 50 timed calls, 1 repeat")
    ap.add_argument("--customers", type=int, default=None)
    ap.add_argument("--warmup", type=int, default=None, help="warm-up calls per case (default 50, quick 10)")
    ap.add_argument("--calls", type=int, default=None, help="timed calls per case (default 200, quick 50)")
    ap.add_argument("--block", type=int, default=10, help="calls per interleaved block")
    ap.add_argument("--repeats", type=int, default=None, help="timed materialize / vector runs (default 3, quick 1)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--gc-freeze", action="store_true", help="gc.freeze() on both sides before the reads")
    ap.add_argument("--venv", default=DEFAULT_VENV, help="the Feast virtualenv (created if missing)")
    ap.add_argument("--no-install", action="store_true", help="fail instead of creating the Feast virtualenv")
    ap.add_argument("--json", default=None, help="write the results here")
    args = ap.parse_args(argv)
    customers = args.customers or (2_000 if args.quick else 10_000)
    warmup = args.warmup if args.warmup is not None else (10 if args.quick else 50)
    calls = args.calls or (50 if args.quick else 200)
    repeats = args.repeats or (1 if args.quick else 3)

    if shutil.which("redis-server") is None:
        print("error: redis-server is not installed (scripts/setup.sh)", file=sys.stderr)
        return 2
    try:
        feast_py = feast_python(args.venv, install=not args.no_install)
    except FeastUnavailable as e:
        print(f"error: cannot run the Feast side — Feast {FEAST_VERSION} is unavailable: {e}", file=sys.stderr)
        return 3
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks: stop redis and the worker

    import pyarrow.parquet as pq
    import redis

    import fsnb
    from fsnb.examples.banking import init_repo, special_ids
    from fsnb.online.keys import encode_entity_keys, hash_key_prefix, vector_key_prefix

    results: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "loadavg_start": os.getloadavg(),
        "cpus": os.cpu_count(),
        "customers": customers,
        "warmup": warmup,
        "calls": calls,
        "block": args.block,
        "repeats": repeats,
        "seed": args.seed,
        "gc_freeze": args.gc_freeze,
        "feast_mode": "worker subprocess (Feast venv python) driven over stdin/stdout, timing its own calls with "
                      "perf_counter_ns; fsnb in the parent process; A B blocks interleaved per batch size",
    }
    server = RedisServer().start()
    tmp = Path(tempfile.mkdtemp(prefix="fsnb-vs-feast-direct-"))
    worker: FeastWorker | None = None
    store: Any = None
    loop = asyncio.new_event_loop()
    try:
        redis_version = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.strip()
        t0 = time.perf_counter()
        repo = init_repo(tmp / "banking", customers=customers)
        print(f"banking data, {customers:,} customers: {time.perf_counter() - t0:.1f} s  (redis on port {server.port}, "
              f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f})", flush=True)
        feast_repo = tmp / "feast_repo"
        write_feast_repo(feast_repo, repo / "data", server.port, db=1, registry_cache_ttl=0)
        t0 = time.perf_counter()
        worker = FeastWorker(feast_py, feast_repo, tmp / "feast_worker.log")
        print(f"Feast worker up in {time.perf_counter() - t0:.1f} s", flush=True)
        db0 = redis.Redis(host="127.0.0.1", port=server.port, db=0)
        db1 = redis.Redis(host="127.0.0.1", port=server.port, db=1)
        import hiredis

        results["versions"] = {"fsnb": fsnb.__version__, "python": sys.version.split()[0],
                               "redis_py": redis.__version__, "hiredis": hiredis.__version__,
                               "redis_server": redis_version, "feast_side": worker.call("versions")}
        store = fsnb.Store(repo, online_store=f"redis://127.0.0.1:{server.port}/0")

        # --------------------------------------------------------------------------------- materialization
        worker.call("apply", precomputed=False)
        store.apply(fsnb_definitions(repo, precompute=False))
        end = datetime.now(UTC)
        start = end - timedelta(days=800)

        def feast_materialize() -> float:
            db1.flushdb()
            return float(worker.call("materialize", start=start.isoformat(), end=end.isoformat(),
                                     views=VIEWS)["seconds"])

        fsnb_summaries: list[Any] = []

        def fsnb_materialize() -> float:
            db0.flushdb()
            t = time.perf_counter()
            fsnb_summaries.append(store.materialize(start, end, VIEWS, progress=False))
            return time.perf_counter() - t

        print(f"materializing (1 warm-up + {repeats} timed runs each, alternated) ...", flush=True)
        alternate(1, feast_materialize, fsnb_materialize)
        feast_mat, fsnb_mat = alternate(repeats, feast_materialize, fsnb_materialize)
        rows_total = 3 * customers
        summary = fsnb_summaries[-1]
        source_rows = sum(pq.read_metadata(repo / "data" / f"{v}.parquet").num_rows for v in VIEWS)
        results["materialize"] = {
            "entity_rows": rows_total, "source_rows": source_rows, "feast_seconds": feast_mat, "fsnb_seconds": fsnb_mat,
            "feast_source_rows_per_s": source_rows / statistics.median(feast_mat),
            "fsnb_source_rows_per_s": source_rows / statistics.median(fsnb_mat),
            "feast_rows_per_s": rows_total / statistics.median(feast_mat),
            "fsnb_rows_per_s": rows_total / statistics.median(fsnb_mat),
            "fsnb_summary": summary.astype({"start": str, "end": str}).to_dict("records"),
            "feast_keys": db1.dbsize(), "fsnb_keys": db0.dbsize(),
        }
        print(f"  Feast {results['materialize']['feast_rows_per_s']:,.0f} rows/s, "
              f"fsnb {results['materialize']['fsnb_rows_per_s']:,.0f} rows/s  (keys: Feast {db1.dbsize()}, "
              f"fsnb {db0.dbsize()})", flush=True)

        # ------------------------------------------------------------------------------------ vector builds
        worker.call("apply", precomputed=True)
        store.apply(fsnb_definitions(repo, precompute=True))
        counts: dict[str, int] = {}

        def feast_vectors() -> float:
            ans = worker.call("precompute")
            counts["feast"] = ans["vectors"]
            return float(ans["seconds"])

        def fsnb_vectors() -> float:
            t = time.perf_counter()
            counts["fsnb"] = store.build_vectors(SERVICE, progress=False)
            return time.perf_counter() - t

        print(f"building vectors (1 warm-up + {repeats} timed runs each, alternated) ...", flush=True)
        alternate(1, feast_vectors, fsnb_vectors)
        feast_vec, fsnb_vec = alternate(repeats, feast_vectors, fsnb_vectors)
        results["vectors"] = {
            "feast_vectors": counts["feast"], "fsnb_vectors": counts["fsnb"], "feast_seconds": feast_vec,
            "fsnb_seconds": fsnb_vec, "feast_vectors_per_s": counts["feast"] / statistics.median(feast_vec),
            "fsnb_vectors_per_s": counts["fsnb"] / statistics.median(fsnb_vec),
        }
        print(f"  Feast {results['vectors']['feast_vectors_per_s']:,.0f} vectors/s ({counts['feast']}), "
              f"fsnb {results['vectors']['fsnb_vectors_per_s']:,.0f} vectors/s ({counts['fsnb']})", flush=True)

        # ------------------------------------------------------------------------------------------- checks
        ids = list(range(1, 41))
        rows = {"customer_id": ids}
        feast_direct = worker.call("sample", case="direct", ids=ids)
        fsnb_direct = store.get_online_features(SERVICE, rows, precomputed=False).to_dict()
        results["checks"] = {
            "feast direct vs fsnb direct": compare(feast_direct, fsnb_direct),
            "feast precomputed vs feast direct": compare(
                short_names(worker.call("sample", case="precomputed", ids=ids)), feast_direct),
            "fsnb precomputed vs fsnb direct": compare(
                short_names(store.get_online_features(SERVICE, rows, precomputed=True, full_feature_names=True)
                            .to_dict()), fsnb_direct),
            "feast async vs feast direct": compare(worker.call("sample", case="async", ids=ids), feast_direct),
        }
        stale = {v: [i for i in special_ids("outside_ttl", customers, view=v) if i in ids] for v in VIEWS}
        results["checks"]["outside_ttl customers in the sample (per view)"] = stale
        print(f"  sample: customers 1-40; outside their view's TTL: {stale}")
        for name, c in results["checks"].items():
            if "differing" not in c:
                continue
            cells = sum(v for v in c["differing"].values() if isinstance(v, int))
            print(f"  check {name}: {c['rows']} rows x {c['columns']} columns, {cells} differing cells"
                  + (f" (customers {c['differing_customers']}; null on the first side {c['differing_null_in_first']},"
                     f" on the second {c['differing_null_in_second']})" if c["differing"] else ""))
        assert len(fsnb_direct) == 21 and len(feast_direct) == 21, (sorted(fsnb_direct), sorted(feast_direct))

        # ---------------------------------------------------------------------------------------- the reads
        project = store.project
        key_field = store.snapshot().get_feature_view(VIEWS[0]).entity_columns[0]
        hprefix, vprefix = hash_key_prefix(project), vector_key_prefix(project, SERVICE)
        fields = [v.encode() for v in VIEWS]
        floor_client = redis.Redis(host="127.0.0.1", port=server.port, db=0)
        clock = time.perf_counter_ns

        def floor_hmget(batches: list[list[int]]) -> list[int]:
            ns = []
            for b in batches:
                t = clock()
                pipe = floor_client.pipeline(transaction=False)
                for k in encode_entity_keys([key_field], [b]):
                    pipe.hmget(hprefix + k, fields)
                pipe.execute()
                ns.append(clock() - t)
            return ns

        def floor_get(batches: list[list[int]]) -> list[int]:
            ns = []
            for b in batches:
                t = clock()
                pipe = floor_client.pipeline(transaction=False)
                for k in encode_entity_keys([key_field], [b]):
                    pipe.get(vprefix + k)
                pipe.execute()
                ns.append(clock() - t)
            return ns

        # the floors must fetch real data: the same keys fsnb reads
        pipe = floor_client.pipeline(transaction=False)
        for k in encode_entity_keys([key_field], [[1]]):
            pipe.hmget(hprefix + k, fields)
            pipe.get(vprefix + k)
        got = pipe.execute()
        assert all(v is not None for v in got[0]) and got[1], "floor keys hold no data: fsnb's key layout changed?"

        def fsnb_sync(precomputed: bool) -> Callable[[list[list[int]]], list[int]]:
            def run(batches: list[list[int]]) -> list[int]:
                ns = []
                for b in batches:
                    t = clock()
                    store.get_online_features(SERVICE, {"customer_id": b}, precomputed=precomputed,
                                              full_feature_names=precomputed).to_dict()
                    ns.append(clock() - t)
                return ns
            return run

        async def fsnb_async_block(batches: list[list[int]]) -> list[int]:
            ns = []
            for b in batches:
                t = clock()
                (await store.get_online_features_async(SERVICE, {"customer_id": b}, precomputed=False)).to_dict()
                ns.append(clock() - t)
            return ns

        def feast(case: str) -> Callable[[list[list[int]]], list[int]]:
            def run(batches: list[list[int]]) -> list[int]:
                return list(worker.call("time", case=case, batches=batches)["ns"])  # type: ignore[union-attr]
            return run

        if args.gc_freeze:
            worker.call("gc_freeze")
            gc.collect()
            gc.freeze()
        results["latency"] = {}
        for n in SIZES:
            rng = random.Random(args.seed * 1000 + n)
            warm = [rng.sample(range(1, customers + 1), n) for _ in range(warmup)]
            timed = [rng.sample(range(1, customers + 1), n) for _ in range(calls)]
            cases: dict[str, Callable[[list[list[int]]], list[int]]] = {
                "feast direct": feast("direct"),
                "fsnb direct": fsnb_sync(False),
                "feast precomputed": feast("precomputed"),
                "fsnb precomputed": fsnb_sync(True),
            }
            if n in ASYNC_SIZES:
                cases["feast async"] = feast("async")
                cases["fsnb async"] = lambda b: loop.run_until_complete(fsnb_async_block(b))
            cases["floor HMGET pipeline"] = floor_hmget
            cases["floor GET"] = floor_get
            t0 = time.perf_counter()
            times = interleave(cases, warm, timed, args.block)
            stats = {name: summarise(ns) for name, ns in times.items()}
            results["latency"][str(n)] = stats
            print(f"\n{n} row(s): {time.perf_counter() - t0:.1f} s, load {os.getloadavg()[0]:.2f}")
            for name, s in stats.items():
                print(f"  {name:22s} p50 {s['p50']:8.3f}  p95 {s['p95']:8.3f}  p99 {s['p99']:8.3f}  "
                      f"mean {s['mean']:8.3f}  max {s['max']:8.3f} ms")
            sys.stdout.flush()
        if args.gc_freeze:
            gc.unfreeze()

        # ---------------------------------------------------------------------------------------- imports
        print("\nimport time (5 fresh interpreters each, alternated) ...", flush=True)
        results["import"] = import_times(feast_py, 5, tmp)

        results["loadavg_end"] = os.getloadavg()
        results["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
        table = build_table(results)
        results["table"] = table
        print(f"\n## fsnb vs Feast {FEAST_VERSION}, {customers:,} customers, {calls} timed calls/case "
              f"(load average {results['loadavg_start'][0]:.2f} at start, {results['loadavg_end'][0]:.2f} at end)\n")
        print_table(table)
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2, default=str))
            print(f"\nresults written to {args.json}")
    finally:
        if store is not None:
            with contextlib.suppress(Exception):
                loop.run_until_complete(store.online.aclose())
            store.close()
        loop.close()
        if worker is not None:
            worker.close()
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
