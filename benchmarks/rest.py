"""Feature-server benchmark: REST and remote-SDK latency, throughput per worker count, worker recycling, soak.

    .venv/bin/python benchmarks/rest.py            # full: 10,000 customers, 15 s runs, 100,000-call soak
    .venv/bin/python benchmarks/rest.py --quick    # 2,000 customers, 5 s runs, 10,000-call soak

Everything runs on loopback: a private redis-server (persistence off), the banking example materialized into it,
and ``python -m fsnb.server`` processes (gunicorn + uvicorn workers). Methodology (shared/PERFORMANCE.md):

- latency: per case 50 warm-up calls, then 200 timed calls (``--calls``) in blocks interleaved across cases
  (A B C A B C ...); entity ids drawn at random with a fixed seed. REST = ``http.client`` keep-alive connection,
  timed span = JSON body encoded → response parsed (``json.loads``). SDK = ``Store(online_store=remote)``
  ``.get_online_features(...).to_dict()``. Floors: ``GET /ping`` on the same stack, and a trivial raw-ASGI
  endpoint under plain uvicorn.
- throughput: 10 client *processes* (http.client keep-alive, 1-row service reads) for 15 s (``--duration``) at
  ``--workers 1``, ``2`` and ``-1``; successful responses/s, errors, and CPU seconds per second used by the server
  processes and by the clients (the two compete for the same 2 cores).
- recycling: the 2-worker throughput run again with ``--max-requests 1000 --max-requests-jitter 50``; failed
  requests counted with no client retry (each failure would be a dropped request).
- wire: the remote SDK with JSON vs Arrow IPC responses at 1 / 10 / 100 / 500 rows, interleaved.
- soak: sequential remote-SDK calls; p50 of the last 10% over p50 of the first 10%; client RSS before/after.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import multiprocessing as mp
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.servers import RedisServer, free_port, wait_for_port  # noqa: E402

SERVICE = "realtime_scoring"


# ------------------------------------------------------------------------------------------------ setup


@contextlib.contextmanager
def banking_on_redis(customers: int, prefix: str) -> Iterator[tuple[Path, Path, Any]]:
    """A private redis-server and a temporary folder holding the banking repo (``customers``, applied and
    materialized into that Redis): ``(folder, repo, redis)``, removed afterwards."""
    from tests.servers import RedisServer

    redis = RedisServer().start()
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        repo = tmp / "banking"
        build_repo(repo, redis.url, customers)
        yield tmp, repo, redis
    finally:
        redis.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def build_repo_with(checkout: Path, path: Path, redis_url: str, customers: int) -> None:
    """:func:`build_repo` run by another working copy's fsnb (A/B runs: each side reads data it wrote)."""
    code = ("from pathlib import Path; import rest; "
            f"rest.build_repo(Path({str(path)!r}), {redis_url!r}, {customers})")
    subprocess.run([sys.executable, "-c", code], cwd=checkout / "benchmarks", check=True,
                   env={**os.environ, "PYTHONPATH": f"{checkout}{os.pathsep}{checkout / 'benchmarks'}"})


def build_repo(path: Path, redis_url: str, customers: int) -> None:
    import fsnb
    from fsnb.examples.banking import init_repo
    from fsnb.registry.repo import load_definitions

    init_repo(path, customers=customers, force=True)
    with fsnb.Store(path, online_store=redis_url) as store:
        store.apply(load_definitions(path))
        now = datetime.now(UTC)
        store.materialize(now - timedelta(days=800), now, progress=False)


@contextlib.contextmanager
def feature_server(repo: Path, redis_url: str, workers: int, *extra: str, checkout: Path = ROOT,
                   extra_env: dict[str, str] | None = None) -> Iterator[tuple[str, int, Any]]:
    """``python -m fsnb.server`` of ``checkout`` (its fsnb first on ``PYTHONPATH``) over ``repo``, on a free port:
    (host, port, process), stopped afterwards."""
    port = free_port()
    env = {**os.environ, "FSNB_ONLINE_STORE": redis_url, "PYTHONPATH": str(checkout),
           "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(prefix="fsnb-bench-prom-"), **(extra_env or {})}
    cmd = [sys.executable, "-m", "fsnb.server", "--repo", str(repo), "--port", str(port), "--workers", str(workers),
           "--log-level", "warning", *extra]
    proc = subprocess.Popen(cmd, env=env, cwd=str(checkout))
    try:
        wait_for_port(port, timeout=60)
        _wait_ready(port)
        yield "127.0.0.1", port, proc
    finally:
        stop(proc)
        shutil.rmtree(env["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


def stop(proc: subprocess.Popen[Any]) -> None:
    """Terminate a server process, killing it after 20 s."""
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def _wait_ready(port: int) -> None:
    import http.client

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/health")
            if c.getresponse().status == 200:
                c.close()
                return
        time.sleep(0.1)
    raise TimeoutError("feature server not healthy")


RAW_APP = '''
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = b'{"status":"ok"}'
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"15")]})
    await send({"type": "http.response.body", "body": body})
'''


@contextlib.contextmanager
def uvicorn_app(source: str) -> Iterator[int]:
    folder = Path(tempfile.mkdtemp(prefix="fsnb-bench-app-"))
    (folder / "bench_app.py").write_text(source)
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", "bench_app:app", "--port", str(port), "--loop", "uvloop", "--http",
           "httptools", "--no-access-log", "--log-level", "warning", "--lifespan", "off"]
    proc = subprocess.Popen(cmd, cwd=str(folder), env={**os.environ, "PYTHONPATH": f"{folder}:{ROOT}"})
    try:
        wait_for_port(port, timeout=20)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


# ---------------------------------------------------------------------------------------------- latency


class RestClient:
    """A keep-alive ``http.client`` connection: the leanest honest REST client."""

    def __init__(self, port: int) -> None:
        import http.client

        self.conn = http.client.HTTPConnection("127.0.0.1", port)
        self.headers = {"Content-Type": "application/json"}

    def get(self, path: str) -> Any:
        self.conn.request("GET", path)
        r = self.conn.getresponse()
        body = r.read()
        assert r.status == 200, body
        return json.loads(body)

    def post(self, path: str, doc: Any) -> Any:
        self.conn.request("POST", path, body=json.dumps(doc), headers=self.headers)
        r = self.conn.getresponse()
        body = r.read()
        assert r.status == 200, body
        return json.loads(body)


def summarize(ns: list[int]) -> dict[str, float]:
    ms = sorted(v / 1e6 for v in ns)

    def q(p: float) -> float:
        return ms[min(len(ms) - 1, round(p * (len(ms) - 1)))]

    return {"p50": q(0.5), "p95": q(0.95), "p99": q(0.99), "mean": statistics.fmean(ms), "max": ms[-1],
            "n": len(ms)}


def interleaved(cases: dict[str, Callable[[], Any]], calls: int, warmup: int = 50, block: int = 25) -> dict[str, Any]:
    """Warm every case, then time ``calls`` calls per case in blocks, cycling over the cases."""
    for fn in cases.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[int]] = {name: [] for name in cases}
    clock = time.perf_counter_ns
    while any(len(t) < calls for t in times.values()):
        for name, fn in cases.items():
            out = times[name]
            for _ in range(min(block, calls - len(out))):
                t0 = clock()
                fn()
                out.append(clock() - t0)
    return {name: summarize(t) for name, t in times.items()}


def latency(port: int, repo: Path, customers: int, calls: int) -> dict[str, Any]:
    import fsnb

    rng = random.Random(42)
    rest = RestClient(port)
    sdk = fsnb.Store(repo, online_store={"type": "remote", "path": f"http://127.0.0.1:{port}"})

    def ids(n: int) -> list[int]:
        return [rng.randint(1, customers) for _ in range(n)]

    cases = {
        "floor GET /ping (same stack)": lambda: rest.get("/ping"),
        "REST service 1 row": lambda: rest.post("/get-online-features",
                                                {"feature_service": SERVICE, "entities": {"customer_id": ids(1)}}),
        "REST service 10 rows": lambda: rest.post("/get-online-features",
                                                  {"feature_service": SERVICE, "entities": {"customer_id": ids(10)}}),
        "SDK service 1 row (to_dict)": lambda: sdk.get_online_features(SERVICE, {"customer_id": ids(1)}).to_dict(),
        "SDK service 10 rows (to_dict)": lambda: sdk.get_online_features(SERVICE, {"customer_id": ids(10)}).to_dict(),
        "REST 3 views 1 row (features list)": lambda: rest.post("/get-online-features", {
            "features": ["customer_demographics:age", "transaction_stats:txn_count_7d",
                         "behavior_profile:login_count_30d"],
            "entities": {"customer_id": ids(1)}}),
    }
    out = interleaved(cases, calls)
    sdk.close()
    return out


def wire_formats(port: int, repo: Path, customers: int, calls: int) -> dict[str, Any]:
    """Remote SDK with the JSON and the Arrow IPC response, interleaved, at several batch sizes."""
    import fsnb

    rng = random.Random(3)
    stores = {}
    for wire in ("json", "arrow"):
        stores[wire] = fsnb.Store(repo, online_store={"type": "remote", "path": f"http://127.0.0.1:{port}"})
        stores[wire].serving.wire = wire  # type: ignore[attr-defined]
    cases: dict[str, Callable[[], Any]] = {}
    for n in (1, 10, 100, 500):
        for wire, store in stores.items():
            def call(store: Any = store, n: int = n) -> Any:
                rows = {"customer_id": [rng.randint(1, customers) for _ in range(n)]}
                return store.get_online_features(SERVICE, rows).to_dict()

            cases[f"SDK {wire:5s} {n:3d} rows (to_dict)"] = call
    out = interleaved(cases, calls, warmup=20, block=10)
    for s in stores.values():
        s.close()
    return out


def stacks(calls: int) -> dict[str, Any]:
    """The floor of the HTTP stack: a trivial raw ASGI endpoint on uvicorn (uvloop + httptools), one process."""
    with uvicorn_app(RAW_APP) as raw_port:
        raw = RestClient(raw_port)
        return interleaved({"raw ASGI /ping": lambda: raw.get("/ping")}, calls)


# ------------------------------------------------------------------------------------------- throughput


def _load_client(port: int, customers: int, seconds: float, seed: int, queue: Any) -> None:
    import http.client

    rng = random.Random(seed)
    ok = errors = 0
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Content-Type": "application/json"}
    deadline = time.monotonic() + seconds
    t_cpu = time.process_time()
    while time.monotonic() < deadline:
        body = json.dumps({"feature_service": SERVICE, "entities": {"customer_id": [rng.randint(1, customers)]}})
        try:
            conn.request("POST", "/get-online-features", body=body, headers=headers)
            r = conn.getresponse()
            r.read()
            if r.status == 200:
                ok += 1
            else:
                errors += 1
            if r.getheader("connection", "").lower() == "close":
                conn.close()
        except (OSError, http.client.HTTPException):
            errors += 1  # no retry: this request was dropped
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    queue.put((ok, errors, time.process_time() - t_cpu))


def _tree_cpu(pid: int) -> float:
    import psutil

    total = 0.0
    with contextlib.suppress(psutil.NoSuchProcess):
        p = psutil.Process(pid)
        for proc in [p, *p.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                t = proc.cpu_times()
                total += t.user + t.system
        t = p.cpu_times()
        total += t.children_user + t.children_system  # recycled workers that already exited
    return total


def throughput(port: int, server_pid: int, customers: int, seconds: float, clients: int = 10) -> dict[str, Any]:
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_load_client, args=(port, customers, seconds, i, queue)) for i in range(clients)]
    cpu0 = _tree_cpu(server_pid)
    t0 = time.monotonic()
    for p in procs:
        p.start()
    results = [queue.get(timeout=seconds + 60) for _ in procs]
    for p in procs:
        p.join()
    wall = time.monotonic() - t0
    server_cpu = _tree_cpu(server_pid) - cpu0
    ok = sum(r[0] for r in results)
    errors = sum(r[1] for r in results)
    return {
        "requests_per_s": ok / seconds,
        "ok": ok,
        "errors": errors,
        "server_cpu_s_per_s": server_cpu / wall,
        "client_cpu_s_per_s": sum(r[2] for r in results) / wall,
        "clients": f"{clients} processes, http.client keep-alive, 1-row service reads",
    }


# ------------------------------------------------------------------------------------------------- soak


def soak(port: int, repo: Path, customers: int, calls: int) -> dict[str, Any]:
    import psutil

    import fsnb

    store = fsnb.Store(repo, online_store={"type": "remote", "path": f"http://127.0.0.1:{port}"})
    rng = random.Random(7)
    for _ in range(200):
        store.get_online_features(SERVICE, {"customer_id": [rng.randint(1, customers)]}).to_dict()
    gc.collect()
    rss0 = psutil.Process().memory_info().rss
    times = []
    clock = time.perf_counter_ns
    for _ in range(calls):
        t0 = clock()
        store.get_online_features(SERVICE, {"customer_id": [rng.randint(1, customers)]}).to_dict()
        times.append(clock() - t0)
    gc.collect()
    rss1 = psutil.Process().memory_info().rss
    tenth = max(1, calls // 10)
    first, last = summarize(times[:tenth]), summarize(times[-tenth:])
    out = {
        "calls": calls,
        "window": tenth,
        "first_p50_ms": first["p50"],
        "last_p50_ms": last["p50"],
        "last_over_first_p50": last["p50"] / first["p50"],
        "client_rss_growth_mib": (rss1 - rss0) / 2**20,
        "sessions_created": store.serving.http.sessions_created,
    }
    store.close()
    return out


# ------------------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="2,000 customers, 5 s throughput, 10,000-call soak")
    ap.add_argument("--customers", type=int, default=None)
    ap.add_argument("--calls", type=int, default=200, help="timed calls per latency case")
    ap.add_argument("--duration", type=float, default=None, help="seconds per throughput run")
    ap.add_argument("--soak", type=int, default=None, help="sequential SDK calls in the soak")
    ap.add_argument("--skip", nargs="*", default=[],
                    choices=["latency", "wire", "stacks", "throughput", "recycle", "soak"])
    ap.add_argument("--json", default=None, help="write the results here")
    args = ap.parse_args(argv)
    customers = args.customers or (2_000 if args.quick else 10_000)
    duration = args.duration or (5.0 if args.quick else 15.0)
    soak_calls = args.soak or (10_000 if args.quick else 100_000)
    results: dict[str, Any] = {"customers": customers, "cpus": os.cpu_count()}

    def show(title: str, rows: dict[str, Any]) -> None:
        print(f"\n## {title}")
        for name, r in rows.items():
            if isinstance(r, dict) and "p50" in r:
                print(f"  {name:40s} p50 {r['p50']:7.3f} ms  p95 {r['p95']:7.3f}  p99 {r['p99']:7.3f}  "
                      f"mean {r['mean']:7.3f}  max {r['max']:7.3f}")
            else:
                print(f"  {name:40s} {r}")
        sys.stdout.flush()

    redis = RedisServer().start()
    tmp = Path(tempfile.mkdtemp(prefix="fsnb-bench-rest-"))
    try:
        repo = tmp / "banking"
        t0 = time.monotonic()
        build_repo(repo, redis.url, customers)
        print(f"banking repo with {customers} customers materialized in {time.monotonic() - t0:.1f}s")
        if "latency" not in args.skip:
            with feature_server(repo, redis.url, 1) as (_, port, _proc):
                lat = latency(port, repo, customers, args.calls)
            floor = lat["floor GET /ping (same stack)"]["p50"]
            for r in lat.values():
                r["x_floor_p50"] = r["p50"] / floor
            results["latency_workers_1"] = lat
            show("latency, --workers 1 (ms)", lat)
        if "wire" not in args.skip:
            with feature_server(repo, redis.url, 1) as (_, port, _proc):
                wf = wire_formats(port, repo, customers, max(50, args.calls // 2))
            results["wire_formats"] = wf
            show("remote SDK wire format: JSON vs Arrow IPC, --workers 1 (ms)", wf)
        if "stacks" not in args.skip:
            st = stacks(args.calls * 2)
            results["stacks"] = st
            show("trivial endpoint: raw ASGI on uvicorn, 1 process (ms)", st)
        if "throughput" not in args.skip:
            tp = {}
            for workers in (1, 2, -1):
                with feature_server(repo, redis.url, workers) as (_, port, proc):
                    tp[f"--workers {workers}"] = throughput(port, proc.pid, customers, duration)
            results["throughput"] = tp
            show(f"throughput, {duration:.0f} s per run", tp)
        if "recycle" not in args.skip:
            with feature_server(repo, redis.url, 2, "--max-requests", "1000", "--max-requests-jitter", "50") as (
                _, port, proc
            ):
                rc = throughput(port, proc.pid, customers, duration)
            results["recycle"] = rc
            show("worker recycling: --workers 2 --max-requests 1000 --max-requests-jitter 50, no client retry",
                 {"run": rc})
        if "soak" not in args.skip:
            with feature_server(repo, redis.url, 1) as (_, port, _proc):
                sk = soak(port, repo, customers, soak_calls)
            results["soak"] = sk
            show("soak (remote SDK, sequential)", {"run": sk})
    finally:
        redis.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
