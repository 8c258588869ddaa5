"""Redis Cluster vs single Redis, side by side in one run: online reads at 1 / 10 / 100 / 500 rows, direct and
precomputed, with redis-py's own ``RedisCluster`` pipeline doing the same HMGETs as the floor to beat.

    .venv/bin/python benchmarks/cluster.py            # 10,000 customers, 200 timed calls per case
    .venv/bin/python benchmarks/cluster.py --quick    # 2,000 customers, 100 timed calls
    .venv/bin/python benchmarks/cluster.py --rest     # also REST throughput with wrk, 1 worker each, alternating

Everything runs on loopback: a private redis-server and a private 3-primary + 3-replica cluster (persistence off),
both loaded with the same banking data (latest row per customer, 3 views, the ``realtime_scoring`` vectors).
Methodology (shared/PERFORMANCE.md): per batch size, every case is timed once per round, in turn (A B C A B C ...),
after warm-up calls; ids drawn at random with a fixed seed; medians (p50) and p99 of ``to_dict()`` calls.
Ratios are cluster ÷ single Redis in the same rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import fsnb
from benchmarks.online_read import SERVICE, VIEWS, run_round_robin, summarise
from fsnb.config import Config, OnlineStoreConfig
from fsnb.online.keys import encode_entity_keys, hash_key_prefix
from fsnb.registry.snapshot import RegistrySnapshot
from tests.redis_topologies import RedisClusterTopology
from tests.servers import RedisServer


def load(workdir: str, customers: int, online: OnlineStoreConfig) -> fsnb.Store:
    """The banking data's latest row per customer written online, and the vectors built."""
    import runpy

    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from fsnb.examples.banking import generate, template_dir
    from fsnb.online.vectors import build_vectors
    from fsnb.online.writes import write_view_table

    if not (Path(workdir) / "data").exists():
        generate(workdir, customers=customers)
    defs = runpy.run_path(str(template_dir() / "definitions.py"))
    objects = [v for v in defs.values() if isinstance(v, (fsnb.Entity, fsnb.FeatureView, fsnb.FeatureService,
                                                          fsnb.ParquetSource, fsnb.PushSource))]
    snap = RegistrySnapshot.build("bench", 1, objects)
    store = fsnb.Store(config=Config(project="bench", online_store=online))
    store.snapshot = lambda: snap  # type: ignore[method-assign]
    t0 = time.perf_counter()
    for name in VIEWS:
        table = pq.read_table(Path(workdir) / "data" / f"{name}.parquet")
        table = table.sort_by([("customer_id", "ascending"), ("event_timestamp", "ascending"),
                               ("created", "ascending")])
        ids = table.column("customer_id")
        table = table.filter([*pc.not_equal(ids.slice(0, len(ids) - 1), ids.slice(1)).to_pylist(), True])
        write_view_table(store, snap.get_feature_view(name), table, timestamp_column="event_timestamp")
    written = time.perf_counter() - t0
    t0 = time.perf_counter()
    n = build_vectors(store, SERVICE, progress=False)
    print(f"  {online.type}: rows written in {written:.2f} s, {n} vectors built in {time.perf_counter() - t0:.2f} s")
    return store


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--customers", type=int)
    parser.add_argument("--calls", type=int)
    parser.add_argument("--rest", action="store_true", help="also `wrk` against `fsnb serve` on each store")
    parser.add_argument("--rest-seconds", type=int, default=10)
    parser.add_argument("--rest-rounds", type=int, default=2)
    args = parser.parse_args(argv)
    customers = args.customers or (2_000 if args.quick else 10_000)
    calls = args.calls or (100 if args.quick else 200)
    warmup = 30
    single = RedisServer().start()
    cluster = RedisClusterTopology().start()
    try:
        with tempfile.TemporaryDirectory(prefix="fsnb-bench-cluster-") as workdir:
            t0 = time.perf_counter()
            one = load(workdir, customers, OnlineStoreConfig(type="redis", url=single.url))
            many = load(workdir, customers, OnlineStoreConfig(type="redis_cluster", nodes=cluster.seeds))
            print(f"loaded {customers} customers into both in {time.perf_counter() - t0:.1f} s "
                  f"({os.cpu_count()} cores, cluster {', '.join(cluster.seeds)})")
            from redis.cluster import ClusterNode, RedisCluster

            rc = RedisCluster(startup_nodes=[ClusterNode(*a.split(":")) for a in cluster.seeds])
            key_field = one.snapshot().get_feature_view(VIEWS[0]).entity_columns[0]
            prefix = hash_key_prefix("bench")
            fields = [v.encode() for v in VIEWS]

            def rows(ids: list[int]) -> list[dict[str, int]]:
                return [{"customer_id": i} for i in ids]

            def floor(ids: list[int]) -> None:
                pipe = rc.pipeline(transaction=False)
                for k in encode_entity_keys([key_field], [ids]):
                    pipe.hmget(prefix + k, fields)
                pipe.execute()

            cases: dict[str, Any] = {
                "single direct": lambda ids: one.get_online_features(SERVICE, rows(ids), precomputed=False).to_dict(),
                "cluster direct": lambda ids: many.get_online_features(SERVICE, rows(ids), precomputed=False).to_dict(),
                "single precomputed": lambda ids: one.get_online_features(SERVICE, rows(ids)).to_dict(),
                "cluster precomputed": lambda ids: many.get_online_features(SERVICE, rows(ids)).to_dict(),
                "redis-py RedisCluster pipeline (HMGETs only)": floor,
            }
            check = [1, 2, 3, 500]
            assert cases["single direct"](check) == cases["cluster direct"](check), "cluster and single differ"
            assert cases["single precomputed"](check) == cases["cluster precomputed"](check)
            rng = random.Random(42)
            print(f"{warmup} warm-up + {calls} timed calls per case; p50 / p99 in ms")
            for n in (1, 10, 100, 500):
                batches = [rng.sample(range(customers), n) for _ in range(50)]
                timed = asyncio.run(run_round_robin(cases, batches, warmup, calls))
                s = {name: summarise(ns) for name, ns in timed.items()}
                print(f"\n{n} rows")
                for name, st in s.items():
                    print(f"  {name:<46} {st['p50']:8.3f} {st['p99']:8.3f}")
                d = s["cluster direct"]["p50"] / s["single direct"]["p50"]
                p = s["cluster precomputed"]["p50"] / s["single precomputed"]["p50"]
                f = s["cluster direct"]["p50"] / s["redis-py RedisCluster pipeline (HMGETs only)"]["p50"]
                print(f"  cluster/single p50: direct {d:.2f}x, precomputed {p:.2f}x; "
                      f"cluster direct (whole read, to_dict) / redis-py RedisCluster HMGET pipeline: {f:.2f}x")
            rc.close()
            one.close()
            many.close()
            if args.rest:
                rest(workdir, customers, {"single": single.url, "cluster": cluster.url}, args.rest_seconds,
                     args.rest_rounds)
    finally:
        cluster.stop()
        single.stop()
    return 0


WRK_LUA = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
counter = 0
request = function()
  counter = counter + 1
  local id = (counter * 7919) % %d + 1
  local body = '{"feature_service": "realtime_scoring", "entities": {"customer_id": [' .. id .. ']}}'
  return wrk.format(nil, nil, nil, body)
end
"""


def rest(workdir: str, customers: int, urls: dict[str, str], seconds: int, rounds: int) -> None:
    """``wrk`` (10 connections, 1-row service reads) against one `fsnb serve` worker per store, A B A B."""
    import shutil
    import statistics
    import subprocess

    from benchmarks.soak import parse_wrk
    from fsnb.registry.registry import Registry
    from tests.e2e.test_server_support import ServerProcess

    if shutil.which("wrk") is None:
        print("wrk is not installed (scripts/setup.d/wrk.sh): REST comparison skipped")
        return
    repo = Path(workdir) / "repo"
    repo.mkdir(exist_ok=True)
    (repo / "fsnb.yaml").write_text(f"project: bench\nregistry: {repo / 'registry.db'}\n")
    defs = __import__("runpy").run_path(str(Path(fsnb.__file__).parent / "templates" / "banking" / "definitions.py"))
    objects = [v for v in defs.values() if isinstance(v, (fsnb.Entity, fsnb.FeatureView, fsnb.FeatureService,
                                                          fsnb.ParquetSource, fsnb.PushSource))]
    registry = Registry(f"sqlite:///{repo / 'registry.db'}", project="bench")
    registry.apply_objects(objects)
    registry.close()
    script = Path(workdir) / "read.lua"
    script.write_text(WRK_LUA.replace("%d", str(customers)))
    got: dict[str, list[dict[str, Any]]] = {name: [] for name in urls}
    for r in range(rounds):
        for name in (list(urls) if r % 2 == 0 else list(reversed(urls))):
            with ServerProcess(repo, urls[name], workers=1) as server:
                out = subprocess.run(["wrk", "-t2", "-c10", f"-d{seconds}s", "--latency", "-s", str(script),
                                      server.url + "/get-online-features"], capture_output=True, text=True).stdout
            got[name].append(parse_wrk(out))
    print(f"\nREST, wrk 10 connections x {seconds} s, 1 worker, 1-row realtime_scoring reads (median of {rounds})")
    for name, runs in got.items():
        rps = statistics.median(float(x["requests_per_s"]) for x in runs)  # type: ignore[arg-type]
        p99 = statistics.median(float(x["p99_ms"] or 0) for x in runs)  # type: ignore[arg-type]
        errors = sum(int(x["non_2xx"]) for x in runs)  # type: ignore[call-overload]
        print(f"  {name:<8} {rps:9.0f} req/s   p99 {p99:7.2f} ms   non-2xx {errors}")


if __name__ == "__main__":
    raise SystemExit(main())
