"""The feature server under ``wrk``: requests/s, p50, p99, errors and server CPU per request at 1, 10, 50 connections.

    .venv/bin/python benchmarks/rest_wrk.py [--quick] [--workers 1] [--connections 1,10,50] [--seconds 8]

A private redis-server (persistence off), the banking example materialized into it, one ``python -m fsnb.server``
(gunicorn + uvicorn workers) and ``wrk`` (``scripts/setup.d/wrk.sh``) with one thread, keep-alive connections and
1-row ``realtime_scoring`` reads by name, the entity drawn from 1,000 pre-built bodies (fixed seed). Server CPU per
request is the CPU time of the server's processes during the run divided by the requests wrk completed.

Output rows (``benchmarks/ab.py`` reads them; field 1 = req/s, 2 = p50 ms, 3 = p99 ms, 4 = errors, 5 = CPU µs)::

    fsnb wrk conns   10   6012.3   1.21   2.90   0   141.2
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT), str(HERE)]

SERVICE = "realtime_scoring"
BODIES = 1000

#: wrk script: cycles over pre-formatted requests (no per-request Lua formatting), counts non-2xx as errors.
WRK_LUA = """
local bodies = {BODIES}
local requests = {{}}
local i = 0
init = function(args)
  for n, b in ipairs(bodies) do
    requests[n] = wrk.format("POST", "{PATH}", {{["Content-Type"] = "application/json"}}, b)
  end
end
request = function()
  i = i % #requests + 1
  return requests[i]
end
"""


def wrk_script(folder: Path, bodies: list[bytes], path: str = "/get-online-features") -> Path:
    """A wrk Lua file cycling over ``bodies`` (JSON request bodies) POSTed to ``path``."""
    quoted = ", ".join("[[" + b.decode() + "]]" for b in bodies)
    script = folder / "wrk_requests.lua"
    script.write_text(WRK_LUA.format(BODIES="{" + quoted + "}", PATH=path))
    return script


def read_bodies(customers: int, n: int = BODIES, seed: int = 42, rows: int = 1) -> list[bytes]:
    rng = random.Random(seed)
    return [json.dumps({"feature_service": SERVICE,
                        "entities": {"customer_id": [rng.randint(1, customers) for _ in range(rows)]}},
                       separators=(",", ":")).encode() for _ in range(n)]


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def parse_wrk(text: str) -> dict[str, float]:
    """requests, requests/s, p50 / p99 ms, errors (socket errors + non-2xx) of ``wrk --latency`` output."""
    def pct(p: str) -> float:
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.MULTILINE)
        return _ms(m.group(1), m.group(2)) if m else float("nan")

    requests = re.search(r"(\d+) requests in", text)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", text)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    errors = (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, socket.groups())) if socket else 0)
    return {
        "requests": float(requests.group(1)) if requests else 0.0,
        "requests_per_s": float(rate.group(1)) if rate else 0.0,
        "p50_ms": pct("50"),
        "p99_ms": pct("99"),
        "errors": float(errors),
    }


def tree_cpu(pid: int) -> float:
    """CPU seconds used so far by a process, its children and its reaped children."""
    import psutil

    total = 0.0
    try:
        p = psutil.Process(pid)
        procs = [p, *p.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    for proc in procs:
        try:
            t = proc.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    try:
        t = p.cpu_times()
        total += t.children_user + t.children_system
    except psutil.NoSuchProcess:
        pass
    return total


def run_wrk(url: str, script: Path, connections: int, seconds: float, server_pid: int,
            threads: int = 1) -> dict[str, float]:
    """One ``wrk`` run; adds ``server_cpu_us`` (server CPU per completed request) and ``server_cpu_s_per_s``."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: run scripts/setup.d/wrk.sh")
    cpu0 = tree_cpu(server_pid)
    t0 = time.monotonic()
    out = subprocess.run(["wrk", f"-t{min(threads, connections)}", f"-c{connections}", f"-d{seconds:g}s",
                          "--latency", "--timeout", "10s", "-s", str(script), url],
                         capture_output=True, text=True, check=True).stdout
    wall = time.monotonic() - t0
    cpu = tree_cpu(server_pid) - cpu0
    r = parse_wrk(out)
    r["server_cpu_us"] = cpu / r["requests"] * 1e6 if r["requests"] else float("nan")
    r["server_cpu_s_per_s"] = cpu / wall
    return r


def row(name: str, connections: int, r: dict[str, float]) -> str:
    return (f"{name:<22s} {connections:>4d} {r['requests_per_s']:>9.1f} {r['p50_ms']:>7.3f} {r['p99_ms']:>7.3f} "
            f"{int(r['errors']):>5d} {r['server_cpu_us']:>8.1f}")


HEADER = f"{'server':<22s} {'conns':>4s} {'req/s':>9s} {'p50 ms':>7s} {'p99 ms':>7s} {'errs':>5s} {'CPU µs':>8s}"


def settle(pids: list[int], idle: float = 0.05, timeout: float = 30.0) -> None:
    """Wait until the servers are idle (below ``idle`` CPU seconds per second together): a slow server still
    working through the backlog of the last run would otherwise steal CPU from the next one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = sum(tree_cpu(p) for p in pids)
        time.sleep(0.25)
        if sum(tree_cpu(p) for p in pids) - before < idle * 0.25:
            return


def warm(url: str, script: Path, server_pid: int) -> None:
    run_wrk(url, script, 10, 1, server_pid)


@contextlib.contextmanager
def fsnb_server(
    repo: Path, redis_url: str, workers: int, checkout: Path = ROOT, extra_env: dict[str, str] | None = None
) -> Iterator[tuple[str, Any]]:
    """``python -m fsnb.server`` of ``checkout`` over ``repo``: (read URL, process)."""
    import rest  # benchmarks/rest.py

    with rest.feature_server(repo, redis_url, workers, checkout=checkout, extra_env=extra_env) as (host, port, proc):
        yield f"http://{host}:{port}/get-online-features", proc


def interleaved_runs(servers: dict[str, tuple[str, Any]], script: Path, conns: list[int], seconds: float,
                     rounds: int) -> dict[tuple[str, int], dict[str, float]]:
    """wrk against each server in turn (A B B A ...) per connection count; medians of ``rounds`` runs each."""
    import statistics

    for url, proc in servers.values():
        warm(url, script, proc.pid)
    runs: dict[tuple[str, int], list[dict[str, float]]] = {}
    names = list(servers)
    for c in conns:
        for r in range(rounds):
            for name in (names if r % 2 == 0 else names[::-1]):
                url, proc = servers[name]
                settle([p.pid for _, p in servers.values()])
                runs.setdefault((name, c), []).append(run_wrk(url, script, c, seconds, proc.pid))
    return {key: {k: statistics.median(run[k] for run in rs) for k in rs[0]} for key, rs in runs.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="2,000 customers, 2 s per run")
    ap.add_argument("--customers", type=int, default=None)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--connections", default="1,10,50")
    ap.add_argument("--seconds", type=float, default=None, help="per wrk run")
    ap.add_argument("--rounds", type=int, default=1, help="runs per server and connection count (medians shown)")
    ap.add_argument("--base", type=Path, default=None,
                    help="another checkout (e.g. `git worktree add --detach /tmp/base HEAD`): its server is run "
                         "beside this one's, interleaved, and the ratios printed")
    args = ap.parse_args(argv)
    customers = args.customers or (2_000 if args.quick else 10_000)
    seconds = args.seconds or (2.0 if args.quick else 8.0)
    conns = [int(c) for c in args.connections.split(",")]

    import rest as bench  # benchmarks/rest.py


    with bench.banking_on_redis(customers, "fsnb-wrk-") as (tmp, repo, redis):
        script = wrk_script(tmp, read_bodies(customers))
        with contextlib.ExitStack() as stack:
            servers = {"fsnb": stack.enter_context(fsnb_server(repo, redis.url, args.workers))}
            if args.base is not None:  # its own repo and Redis database: each side reads data it wrote
                base_repo, base_url = tmp / "banking_base", redis.url.rsplit("/", 1)[0] + "/1"
                bench.build_repo_with(args.base, base_repo, base_url, customers)
                servers["base"] = stack.enter_context(fsnb_server(base_repo, base_url, args.workers, args.base))
            print(f"# fsnb serve --workers {args.workers}, wrk 1 thread, {seconds:g} s per run, 1-row "
                  f"{SERVICE} by name, {customers} customers, median of {args.rounds} interleaved run(s)")
            print(HEADER)
            got = interleaved_runs(servers, script, conns, seconds, args.rounds)
            for (name, c), r in got.items():
                print(row(f"{name} wrk conns", c, r), flush=True)
            if args.base is not None:
                print(f"\n# fsnb / base: {'conns':>5s} {'req/s':>7s} {'p50':>7s} {'p99':>7s} {'CPU/req':>8s}")
                for c in conns:
                    a, b = got[("fsnb", c)], got[("base", c)]
                    print(f"ratio new/base {c:>5d} {a['requests_per_s'] / b['requests_per_s']:>7.3f} "
                          f"{a['p50_ms'] / b['p50_ms']:>7.3f} {a['p99_ms'] / b['p99_ms']:>7.3f} "
                          f"{a['server_cpu_us'] / b['server_cpu_us']:>8.3f}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
