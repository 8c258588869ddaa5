"""The async SDK under ``asyncio.gather``: k concurrent 1-row reads on one event loop (Redis on loopback).

    .venv/bin/python benchmarks/async_gather.py [--quick] [--calls 200]
    .venv/bin/python benchmarks/ab.py --base /tmp/base --rounds 4 --field 1 -- benchmarks/async_gather.py --quick

Per k in 1, 10, 50: 20 warm-up then ``--calls`` timed gathers of k ``get_online_features_async(realtime_scoring,
1 customer).to_dict()`` (random customers, fixed seed). Concurrent reads of one loop share one Redis connection and
leave in coalesced pipelines, so the time per gather should grow far slower than k. Rows (``benchmarks/ab.py``):
``gather k  <k>  <p50 ms>  <reads/s>``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

SERVICE = "realtime_scoring"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="2,000 customers")
    ap.add_argument("--customers", type=int, default=None)
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--sizes", default="1,10,50")
    args = ap.parse_args(argv)
    customers = args.customers or (2_000 if args.quick else 10_000)
    sizes = [int(k) for k in args.sizes.split(",")]

    import rest as bench  # benchmarks/rest.py

    import fsnb

    with bench.banking_on_redis(customers, "fsnb-gather-") as (_tmp, repo, redis):
        store = fsnb.Store(repo, online_store=redis.url)
        rng = random.Random(11)

        async def gather(k: int) -> None:
            rows = [{"customer_id": [rng.randint(1, customers)]} for _ in range(k)]
            got = await asyncio.gather(*[store.get_online_features_async(SERVICE, r) for r in rows])
            for g in got:
                g.to_dict()

        async def run() -> dict[int, list[int]]:
            out: dict[int, list[int]] = {}
            for k in sizes:
                for _ in range(20):
                    await gather(k)
                times = out[k] = []
                for _ in range(args.calls):
                    t0 = time.perf_counter_ns()
                    await gather(k)
                    times.append(time.perf_counter_ns() - t0)
            return out

        got = asyncio.run(run())
        store.close()
        print(f"# asyncio.gather of k 1-row {SERVICE} reads, {args.calls} timed gathers, {customers} customers")
        print(f"{'case':<10s} {'k':>4s} {'p50 ms':>9s} {'reads/s':>10s}")
        for k, ns in got.items():
            p50 = statistics.median(ns) / 1e6
            print(f"gather k   {k:>4d} {p50:>9.3f} {k / p50 * 1e3:>10.0f}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
