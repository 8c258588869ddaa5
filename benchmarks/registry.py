"""Registry costs, SQLite and PostgreSQL side by side (A B A B interleaved rounds, medians).

    .venv/bin/python benchmarks/registry.py --quick     # a few seconds
    .venv/bin/python benchmarks/registry.py             # more rounds and calls

Cases, on the banking example's 13 definitions: ``snapshot()`` inside the cache TTL (what every online read pays),
``snapshot()`` after the TTL with the version unchanged (one version query), a full reload, a no-op
``apply_objects`` (lock, diff, nothing written), and ``store.apply`` (validation against the real Parquet schemas
included). PostgreSQL is used when it answers on 127.0.0.1:5432 (as tests do), else skipped.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def median_us(fn: Callable[[], object], n: int) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter_ns()
        fn()
        times.append(time.perf_counter_ns() - t)
    return statistics.median(times) / 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and calls")
    args = parser.parse_args(argv)
    rounds, scale = (2, 0.1) if args.quick else (5, 1.0)

    import contextlib
    import dataclasses

    import fsnb
    from fsnb.config import RegistryConfig, load_config
    from fsnb.examples.banking import init_repo
    from fsnb.registry.registry import Registry
    from fsnb.registry.repo import load_definitions
    from tests.servers import postgres_available, postgres_database

    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        repo = init_repo(Path(tmp) / "bank", customers=500)
        objects = load_definitions(repo)
        urls = {"sqlite": f"sqlite:///{Path(tmp) / 'registry.db'}"}
        if postgres_available():
            urls["postgres"] = stack.enter_context(postgres_database())
        base = load_config(repo)
        stores = {
            name: fsnb.Store(config=dataclasses.replace(base, registry=RegistryConfig(url=url)))
            for name, url in urls.items()
        }
        readers = {name: Registry(url, project=base.project, cache_ttl_seconds=3600) for name, url in urls.items()}
        for name in urls:
            stores[name].apply(objects)
            readers[name].snapshot()

        results: dict[str, dict[str, list[float]]] = {name: {} for name in urls}
        for _ in range(rounds):
            for name in urls:  # interleaved: sqlite, postgres, sqlite, postgres, ...
                reg, store = readers[name], stores[name]

                def expired(reg: Registry = reg) -> None:
                    reg._checked_at = -1e18
                    reg.snapshot()

                cases = {
                    "snapshot() cached": (reg.snapshot, int(20000 * scale)),
                    "snapshot() after TTL": (expired, int(2000 * scale)),
                    "full reload": (reg.refresh, int(300 * scale)),
                    "no-op apply_objects": (lambda reg=reg: reg.apply_objects(objects), int(100 * scale)),
                    "no-op store.apply": (lambda store=store: store.apply(objects), int(30 * scale) or 3),
                }
                for case, (fn, n) in cases.items():
                    results[name].setdefault(case, []).append(median_us(fn, max(n, 3)))
        print(f"{'case':24s}" + "".join(f"{name:>14s}" for name in urls) + "   (median µs)")
        for case in results["sqlite"]:
            print(f"{case:24s}" + "".join(f"{statistics.median(results[n][case]):14.1f}" for n in urls))
        for store in stores.values():
            store.close()
        for reg in readers.values():
            reg.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
