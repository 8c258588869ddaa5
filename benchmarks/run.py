"""End-to-end latency benchmark: a fresh banking repo, a private redis-server, a feature server, every mode.

    .venv/bin/python benchmarks/run.py --quick            # CI-sized: 2,000 customers, few iterations
    .venv/bin/python benchmarks/run.py --json out.json    # PERFORMANCE.md's methodology, 10,000 customers

Runs the same code as ``fsnb bench`` (the notebook profiler) and, in the same run, the floors PERFORMANCE.md asks
for: a bare redis-py pipeline of the same HMGETs, and a bare GET per entity of the precomputed vectors. fsnb's
overhead is its distance to the floor (``direct / floor`` and ``precomputed / floor`` at each batch size).
Everything runs on loopback; the redis-server and feature server are started and stopped here.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SERVICE = "realtime_scoring"


def floors(store: Any, batch_sizes: list[int], warmup: int, iterations: int, seed: int) -> dict[str, dict[int, float]]:
    """p50 ms of bare redis-py reads of exactly the keys and fields fsnb reads: pipelined HMGETs, and GETs."""
    import redis

    from fsnb.notebook.sampling import entity_pool, resolve_target, sample_keys
    from fsnb.notebook.stats import summarize
    from fsnb.online.keys import encode_entity_keys, hash_key_prefix, vector_key_prefix

    target = resolve_target(store, SERVICE)
    pool = entity_pool(store, target)
    fields = [v.name.encode() for v in target.views]
    key_fields = target.views[0].entity_columns
    hprefix = hash_key_prefix(store.project)
    vprefix = vector_key_prefix(store.project, SERVICE)
    client = redis.Redis.from_url(store.config.online_store.url)
    out: dict[str, dict[int, float]] = {"hmget pipeline": {}, "get vectors": {}}
    try:
        for b in batch_sizes:
            rng = random.Random(f"{seed}:{b}")
            batches = [encode_entity_keys(key_fields, [[k[0] for k in sample_keys(pool, b, rng)]])
                       for _ in range(warmup + iterations)]
            for name in out:
                samples = []
                for i, keys in enumerate(batches):
                    t0 = time.perf_counter_ns()
                    if name == "hmget pipeline":
                        pipe = client.pipeline(transaction=False)
                        for k in keys:
                            pipe.hmget(hprefix + k, fields)
                        pipe.execute()
                    else:
                        client.mget([vprefix + k for k in keys]) if b > 1 else client.get(vprefix + keys[0])
                    if i >= warmup:
                        samples.append(time.perf_counter_ns() - t0)
                out[name][b] = summarize(samples).p50
    finally:
        client.close()
    return out


def main(argv: list[str] | None = None) -> int:
    from fsnb.commands.bench import add_arguments, bench

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    parser.add_argument("--customers", type=int, default=None, help="banking customers (default 10,000; quick 2,000)")
    parser.add_argument("--no-server", action="store_true", help="do not start `fsnb serve` (rest/remote skipped)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary repo folder")
    args = parser.parse_args(argv)
    customers = args.customers or (2_000 if args.quick else 10_000)

    from fsnb.notebook.demo import banking_store, start_feature_server
    from tests.servers import RedisServer

    workdir = Path(tempfile.mkdtemp(prefix="fsnb-bench-"))
    redis_server = RedisServer().start()
    server = None
    store = None
    try:
        t0 = time.perf_counter()
        store = banking_store(workdir / "banking", customers=customers, online_store=redis_server.url)
        print(f"banking repo with {customers:,} customers applied and materialized in "
              f"{time.perf_counter() - t0:.1f} s ({workdir}); redis-server on {redis_server.url}", file=sys.stderr)
        if not args.no_server and not args.server_url:
            try:
                server = start_feature_server(store)
                args.server_url = server.url
                args._server_cpu = server.cpu_seconds
            except Exception as err:  # the report then says why rest/remote were skipped
                print(f"feature server not started: {err}", file=sys.stderr)
        json_path, args.json_path = args.json_path, None  # written below, once the floors are in
        report = bench(store, args.features or SERVICE, args)
        opts_sizes = report.batch_sizes
        warm, iters = report.meta["warmup"], report.meta["iterations"]
        floor = floors(store, opts_sizes, warm, iters, args.seed)
        print("\nfloors (p50 ms, bare redis-py on the same keys, results discarded) and fsnb's distance to them "
              f"(fsnb timed to {report.meta.get('output', 'its output')}; `--output dict` compares like with like):")
        print(f"{'batch':>5}  {'hmget':>7}  {'direct/floor':>12}  {'get':>7}  {'precomputed/floor':>17}")
        for b in opts_sizes:
            d = _p50(report, "direct", b)
            p = _p50(report, "precomputed", b)
            h, g = floor["hmget pipeline"][b], floor["get vectors"][b]
            print(f"{b:>5}  {h:7.3f}  {_r(d, h):>12}  {g:7.3f}  {_r(p, g):>17}")
        report.meta["floors_p50_ms"] = floor
        if json_path:
            report.to_json(json_path)
            print(f"\nfull report (raw samples and floors included): {json_path}")
        return 1 if any(c.status == "error" for c in report.cases) else 0
    finally:
        if server is not None:
            server.stop()
        if store is not None:
            store.close()
        redis_server.stop()
        if not args.keep:
            import shutil

            shutil.rmtree(workdir, ignore_errors=True)


def _p50(report: Any, mode: str, batch: int) -> float | None:
    try:
        c = report.case(mode, batch)
    except KeyError:
        return None
    return c.summary.p50 if c.status == "ok" else None


def _r(a: float | None, b: float) -> str:
    return f"{a / b:.2f}x" if a is not None and b > 0 else "-"


if __name__ == "__main__":
    sys.exit(main())
