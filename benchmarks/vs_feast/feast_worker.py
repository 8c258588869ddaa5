"""The Feast side of ``direct.py``: run with the Feast virtualenv's python, driven over stdin/stdout.

    /tmp/fsnb-feast-venv/bin/python feast_worker.py FEAST_REPO

One JSON command per line in, one JSON answer per line out (``{"error": traceback}`` on failure). The worker
times its own calls with ``time.perf_counter_ns``, so the pipe is never inside a timed span. Feast's own prints
(materialize progress) go to stderr, the protocol keeps the original stdout.

Commands (``op``): ``apply`` (``precomputed``: also register ``realtime_scoring_precomputed``, the same three
views with ``precompute_online=True``), ``materialize`` (``start``, ``end`` ISO strings, ``views``), ``precompute``,
``time`` (``case`` direct | precomputed | async, ``batches``: lists of customer ids → ``ns`` per call), ``sample``
(``case``, ``ids`` → the ``to_dict()``), ``gc_freeze``, ``versions``, ``quit``.

The precomputed case passes ``full_feature_names=True``: Feast 0.67 stores vectors under ``view__feature`` names
and its fast path compares them with the requested names, so with short names every read fails ("pre-computed
vectors could not be read").
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import runpy
import sys
import time
import traceback
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import IO, Any

SERVICE = "realtime_scoring"
PRECOMPUTED = "realtime_scoring_precomputed"


def main() -> int:
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything Feast prints lands on stderr
    sys.stdout = sys.stderr
    repo = Path(sys.argv[1]).resolve()
    os.chdir(repo)

    import feast
    from feast import FeatureService, FeatureStore

    defs = runpy.run_path(str(repo / "definitions.py"))
    views = [defs["customer_demographics"], defs["transaction_stats"], defs["behavior_profile"]]
    base = [defs["customer"], *views, defs[SERVICE]]
    store = FeatureStore(repo_path=str(repo))
    loop = asyncio.new_event_loop()
    services: dict[str, Any] = {}
    clock = time.perf_counter_ns

    def service(case: str) -> Any:
        name = PRECOMPUTED if case == "precomputed" else SERVICE
        if name not in services:  # looked up once: a by-name lookup per call costs Feast ~2 ms
            services[name] = store.get_feature_service(name)
        return services[name]

    def time_sync(svc: Any, batches: list[list[int]], full: bool) -> list[int]:
        ns = []
        for ids in batches:
            t0 = clock()
            store.get_online_features(features=svc, entity_rows={"customer_id": ids}, full_feature_names=full).to_dict()
            ns.append(clock() - t0)
        return ns

    async def time_async(svc: Any, batches: list[list[int]]) -> list[int]:
        ns = []
        for ids in batches:
            t0 = clock()
            (await store.get_online_features_async(features=svc, entity_rows={"customer_id": ids})).to_dict()
            ns.append(clock() - t0)
        return ns

    def handle(cmd: dict[str, Any]) -> Any:
        op = cmd["op"]
        if op == "versions":
            import redis

            try:
                import hiredis

                hv = hiredis.__version__
            except ImportError:
                hv = None
            return {"feast": feast.__version__, "redis": redis.__version__, "hiredis": hv,
                    "python": sys.version.split()[0]}
        if op == "apply":
            objects = list(base)
            if cmd.get("precomputed"):
                objects.append(FeatureService(name=PRECOMPUTED, features=views, precompute_online=True))
            store.apply(objects)
            services.clear()
            return {}
        if op == "materialize":
            t0 = time.perf_counter()
            store.materialize(datetime.fromisoformat(cmd["start"]), datetime.fromisoformat(cmd["end"]),
                              feature_views=cmd.get("views"))
            return {"seconds": time.perf_counter() - t0}
        if op == "precompute":
            t0 = time.perf_counter()
            n = store.precompute_feature_service(PRECOMPUTED)
            return {"seconds": time.perf_counter() - t0, "vectors": n}
        if op == "time":
            svc = service(cmd["case"])
            if cmd["case"] == "async":
                return {"ns": loop.run_until_complete(time_async(svc, cmd["batches"]))}
            return {"ns": time_sync(svc, cmd["batches"], cmd["case"] == "precomputed")}
        if op == "sample":
            svc = service(cmd["case"])
            rows = {"customer_id": cmd["ids"]}
            if cmd["case"] == "async":
                coro = store.get_online_features_async(features=svc, entity_rows=rows)
                return loop.run_until_complete(coro).to_dict()
            full = cmd["case"] == "precomputed"
            return store.get_online_features(features=svc, entity_rows=rows, full_feature_names=full).to_dict()
        if op == "gc_freeze":
            gc.collect()
            gc.freeze()
            return {}
        raise ValueError(f"unknown op {op!r}")

    serve(handle, out)
    with contextlib.suppress(Exception):
        loop.run_until_complete(store.close())
    loop.close()
    return 0


def serve(handle: Callable[[dict[str, Any]], Any], out: IO[str]) -> None:
    """Say ready, then answer one JSON command per stdin line with one JSON line on ``out`` until ``quit`` (a
    failing command answers ``{"error": traceback}``)."""
    out.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd.get("op") == "quit":
            break
        try:
            answer = handle(cmd)
        except Exception:
            answer = {"error": traceback.format_exc()}
        out.write(json.dumps(answer, default=str) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
