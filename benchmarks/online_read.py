"""Online read latency on the banking example, beside the bare redis-py floors, measured in one run.

    .venv/bin/python benchmarks/online_read.py            # 10,000 customers, 50 warm-up + 200 timed calls
    .venv/bin/python benchmarks/online_read.py --quick    # CI smoke run

A private redis-server (persistence off) on a free loopback port holds the latest row per customer of the three
customer views (6/8/6 features) and the precomputed vectors of ``realtime_scoring``. Per batch size, every case
runs once per round, in turn (A B C A B C ...), so the machine's noise hits them alike. Each timed span is the
call in and the result out (``to_dict()`` / ``to_df()``); entity ids are drawn at random with a fixed seed.
Floors: a bare redis-py (hiredis) pipeline with the same HMGETs (or one GET per entity for vectors), results
discarded. "full gc" counts the full (generation 2) collections that ran inside a case's timed calls: without
--gc-freeze they, not the read path, make most p99 jumps at 100+ rows.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import runpy
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import fsnb
from fsnb.config import Config, OnlineStoreConfig
from fsnb.registry.snapshot import RegistrySnapshot

SERVICE = "realtime_scoring"
VIEWS = ["customer_demographics", "transaction_stats", "behavior_profile"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_redis(workdir: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", workdir, "--loglevel", "warning"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.02)
    return proc, f"redis://127.0.0.1:{port}/0"


def load_banking(workdir: str, customers: int, url: str) -> fsnb.Store:
    """Generate the banking data, write the latest row per customer online, build the vectors."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from fsnb.examples.banking import generate, template_dir
    from fsnb.online.vectors import build_vectors
    from fsnb.online.writes import write_view_table

    generate(workdir, customers=customers)
    defs = runpy.run_path(str(template_dir() / "definitions.py"))
    objects = [v for v in defs.values() if isinstance(v, (fsnb.Entity, fsnb.FeatureView, fsnb.FeatureService,
                                                          fsnb.ParquetSource, fsnb.PushSource))]
    snap = RegistrySnapshot.build("bench", 1, objects)
    store = fsnb.Store(config=Config(project="bench", online_store=OnlineStoreConfig(type="redis", url=url)))
    store.snapshot = lambda: snap  # type: ignore[method-assign]
    for name in VIEWS:
        view = snap.get_feature_view(name)
        table = pq.read_table(Path(workdir) / "data" / f"{name}.parquet")
        # latest row per customer: sort by (event time, created) and keep each customer's last
        table = table.sort_by([("customer_id", "ascending"), ("event_timestamp", "ascending"),
                               ("created", "ascending")])
        ids = table.column("customer_id")
        last = [*pc.not_equal(ids.slice(0, len(ids) - 1), ids.slice(1)).to_pylist(), True]
        table = table.filter(last)
        t0 = time.perf_counter()
        write_view_table(store, view, table, timestamp_column="event_timestamp")
        dt = time.perf_counter() - t0
        rate = table.num_rows / dt
        print(f"  write_view_table {name}: {table.num_rows} rows in {dt * 1000:.0f} ms = {rate:,.0f} rows/s")
    t0 = time.perf_counter()
    n = build_vectors(store, SERVICE, progress=False)
    dt = time.perf_counter() - t0
    print(f"  build_vectors {SERVICE}: {n} vectors in {dt * 1000:.0f} ms = {n / dt:,.0f} vectors/s")
    return store


def summarise(ns: list[int]) -> dict[str, float]:
    ms = sorted(x / 1e6 for x in ns)
    q = statistics.quantiles(ms, n=100, method="inclusive")
    return {"p50": statistics.median(ms), "p95": q[94], "p99": q[98], "mean": statistics.fmean(ms), "max": ms[-1]}


class FullCollections:
    """Counts full (generation 2) garbage collections, the usual cause of p99 jumps without gc.freeze()."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "stop" and info["generation"] == 2:
            self.count += 1


async def run_round_robin(cases: dict[str, Callable[[list[int]], Any]], batches: list[list[int]], warmup: int,
                          timed: int, full_gcs: dict[str, int] | None = None) -> dict[str, list[int]]:
    """Time every case once per round, in turn, inside one event loop (async cases are awaited in place, so
    they pay no loop start-up; sync cases run as they would anywhere). ``full_gcs``, when given, receives the
    number of full collections that ran inside each case's timed calls."""
    clock = time.perf_counter_ns
    is_async = {name: asyncio.iscoroutinefunction(fn) for name, fn in cases.items()}
    for i in range(warmup):
        for name, fn in cases.items():
            if is_async[name]:
                await fn(batches[i % len(batches)])
            else:
                fn(batches[i % len(batches)])
    out: dict[str, list[int]] = {name: [] for name in cases}
    gcs = FullCollections()
    counts = dict.fromkeys(cases, 0)
    gc.callbacks.append(gcs)
    try:
        for i in range(timed):
            ids = batches[i % len(batches)]
            for name, fn in cases.items():
                before = gcs.count
                if is_async[name]:
                    t0 = clock()
                    await fn(ids)
                    out[name].append(clock() - t0)
                else:
                    t0 = clock()
                    fn(ids)
                    out[name].append(clock() - t0)
                counts[name] += gcs.count - before
    finally:
        gc.callbacks.remove(gcs)
    if full_gcs is not None:
        full_gcs.update(counts)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small data and few calls (CI)")
    p.add_argument("--customers", type=int, default=None)
    p.add_argument("--warmup", type=int, default=None)
    p.add_argument("--calls", type=int, default=None)
    p.add_argument("--gc-freeze", action="store_true", help="gc.freeze() after set-up (off by default)")
    p.add_argument("--uvloop", action="store_true", help="run the async cases on uvloop instead of asyncio")
    args = p.parse_args(argv)
    customers = args.customers or (2000 if args.quick else 10_000)
    warmup = args.warmup if args.warmup is not None else (10 if args.quick else 50)
    calls = args.calls or (30 if args.quick else 200)
    sizes = [1, 10, 100] if args.quick else [1, 10, 100, 500]

    if shutil.which("redis-server") is None:
        print("redis-server is not installed (scripts/setup.sh)", file=sys.stderr)
        return 2
    import redis

    from fsnb.online.keys import encode_entity_keys, hash_key_prefix, vector_key_prefix

    workdir = tempfile.mkdtemp(prefix="fsnb-bench-")
    proc, url = start_redis(workdir)
    try:
        t0 = time.perf_counter()
        store = load_banking(workdir, customers, url)
        print(f"loaded {customers} customers x 3 views + vectors in {time.perf_counter() - t0:.1f} s "
              f"(redis {url}, {os.cpu_count()} cores, gc.freeze={args.gc_freeze}, "
              f"loop={'uvloop' if args.uvloop else 'asyncio'}); {warmup} warm-up + {calls} timed calls per case")
        snap = store.snapshot()
        key_field = snap.get_feature_view(VIEWS[0]).entity_columns[0]
        hprefix = hash_key_prefix("bench")
        vprefix = vector_key_prefix("bench", SERVICE)
        fields = [v.encode() for v in VIEWS]
        client = redis.Redis.from_url(url)
        rng = random.Random(42)

        def floor_hmget(ids: list[int]) -> None:
            pipe = client.pipeline(transaction=False)
            for k in encode_entity_keys([key_field], [ids]):
                pipe.hmget(hprefix + k, fields)
            pipe.execute()

        def floor_get(ids: list[int]) -> None:
            pipe = client.pipeline(transaction=False)
            for k in encode_entity_keys([key_field], [ids]):
                pipe.get(vprefix + k)
            pipe.execute()

        def rows(ids: list[int]) -> list[dict[str, int]]:
            return [{"customer_id": i} for i in ids]

        if args.uvloop:
            import uvloop

            loop = uvloop.new_event_loop()
        else:
            loop = asyncio.new_event_loop()
        import redis.asyncio

        aclient = redis.asyncio.Redis.from_url(url)

        async def floor_async(ids: list[int]) -> None:
            pipe = aclient.pipeline(transaction=False)
            for k in encode_entity_keys([key_field], [ids]):
                pipe.hmget(hprefix + k, fields)
            await pipe.execute()

        def direct_dict(ids: list[int]) -> Any:
            return store.get_online_features(SERVICE, rows(ids), precomputed=False).to_dict()

        def direct_df(ids: list[int]) -> Any:
            return store.get_online_features(SERVICE, rows(ids), precomputed=False).to_df()

        def pre_dict(ids: list[int]) -> Any:
            return store.get_online_features(SERVICE, rows(ids)).to_dict()

        def pre_df(ids: list[int]) -> Any:
            return store.get_online_features(SERVICE, rows(ids)).to_df()

        async def async_dict(ids: list[int]) -> Any:
            return (await store.get_online_features_async(SERVICE, rows(ids), precomputed=False)).to_dict()

        async def async_pre_dict(ids: list[int]) -> Any:
            return (await store.get_online_features_async(SERVICE, rows(ids))).to_dict()

        # keep the floors honest: the same keys return the same data through fsnb
        check = direct_dict([1, 2, 3])
        assert check["customer_id"] == [1, 2, 3] and len(check) == 21, check.keys()
        assert pre_dict([1, 2, 3]) == check, "precomputed and regular reads differ"

        if args.gc_freeze:
            gc.collect()
            gc.freeze()
        results: list[tuple[str, int, dict[str, float], str, float]] = []
        for n in sizes:
            batches = [rng.sample(range(1, customers + 1), n) for _ in range(64)]
            cases: dict[str, Callable[[list[int]], Any]] = {
                "floor: pipeline HMGET": floor_hmget,
                "direct to_dict()": direct_dict,
                "direct to_df()": direct_df,
                "floor: GET per entity": floor_get,
                "precomputed to_dict()": pre_dict,
                "precomputed to_df()": pre_df,
            }
            if n in (1, 10):
                cases["floor: async pipeline"] = floor_async
                cases["async to_dict()"] = async_dict
                cases["async precomputed"] = async_pre_dict
            full_gcs: dict[str, int] = {}
            times = loop.run_until_complete(run_round_robin(cases, batches, warmup, calls, full_gcs))
            stats = {name: summarise(ns) for name, ns in times.items()}
            for name, count in full_gcs.items():
                stats[name]["full_gc"] = count
            for name, s in stats.items():
                if name.startswith(("precomputed", "floor: GET")):
                    floor = "floor: GET per entity"
                elif name.startswith(("async", "floor: async")):
                    floor = "floor: async pipeline"
                else:
                    floor = "floor: pipeline HMGET"
                results.append((name, n, s, floor, s["p50"] / stats[floor]["p50"]))
        loop.run_until_complete(aclient.aclose())
        loop.run_until_complete(store.online.aclose())
        loop.close()

        print()
        print(f"{'case':<24} {'rows':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'max ms':>8}"
              f" {'floor p50':>10} {'x floor':>8} {'full gc':>8}")
        by = {(r[0], r[1]): r[2] for r in results}
        for name, n, s, floor, ratio in results:
            print(f"{name:<24} {n:>5} {s['p50']:>8.3f} {s['p95']:>8.3f} {s['p99']:>8.3f} {s['mean']:>8.3f}"
                  f" {s['max']:>8.3f} {by[(floor, n)]['p50']:>10.3f} {ratio:>8.2f} {s['full_gc']:>8.0f}")
        print()
        for n in sizes:
            d, pre = by[("direct to_dict()", n)]["p50"], by[("precomputed to_dict()", n)]["p50"]
            line = f"{n:>4} rows: precomputed/direct p50 = {pre / d:.2f}"
            if ("async to_dict()", n) in by:
                line += f"; async/sync p50 = {by[('async to_dict()', n)]['p50'] / d:.2f}"
                line += f"; async/sync precomputed p50 = {by[('async precomputed', n)]['p50'] / pre:.2f}"
            print(line)
        store.close()
        client.close()
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
