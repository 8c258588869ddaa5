"""What served-feature logging costs the feature server: ``wrk`` with logging off and on, interleaved A B A B.

    .venv/bin/python benchmarks/served_log.py [--quick] [--connections 1,10] [--seconds 5] [--rounds 3]

A private redis-server, the banking example materialized into it, two ``python -m fsnb.server --workers 1`` over
the same repo, one with ``feature_server.logging`` off and one with it on (every request logged,
``sample_rate: 1``), and ``wrk`` (one thread, keep-alive, 1-row ``realtime_scoring`` reads by name, see
``benchmarks/rest_wrk.py``) against each in turn. Prints the medians per server and connection count, then the
ratio on/off of requests/s and the p50 difference in µs (the budget: ≥ 0.95 and ≤ 20 µs), the CPU per request
the workers added and what the shipper (the process converting the workers' segments to Parquet) spent, and the
rows the log holds afterwards (every request exactly once: the count must equal the requests wrk completed against
"on").
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT), str(HERE)]

from rest_wrk import (  # noqa: E402 - benchmarks/rest_wrk.py, after the path is set
    HEADER,
    SERVICE,
    fsnb_server,
    read_bodies,
    row,
    run_wrk,
    settle,
    warm,
    wrk_script,
)


def server(repo: Path, redis_url: str, logging: bool) -> contextlib.AbstractContextManager[tuple[str, Any]]:
    """``python -m fsnb.server --workers 1`` over ``repo`` with served-feature logging on or off: (URL, process)."""
    return fsnb_server(repo, redis_url, 1, extra_env={"FSNB_BENCH_LOG_SERVED": "true" if logging else "false"})


def shipper_cpu(server_pid: int) -> float:
    """CPU seconds used so far by the server's served-log shipper (0 without one)."""
    import psutil

    total = 0.0
    try:
        children = psutil.Process(server_pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return 0.0
    for child in children:
        try:
            if "fsnb.server.log_shipper" in " ".join(child.cmdline()):
                t = child.cpu_times()
                total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def enable_logging_by_env(repo: Path, log_dir: Path) -> None:
    """``feature_server.logging.enabled: ${FSNB_BENCH_LOG_SERVED}`` in the repo's fsnb.yaml."""
    import yaml

    path = repo / "fsnb.yaml"
    doc = yaml.safe_load(path.read_text())
    doc.setdefault("feature_server", {})["logging"] = {
        "enabled": "${FSNB_BENCH_LOG_SERVED:-false}", "path": str(log_dir), "sample_rate": 1.0,
        "flush_interval": 1.0,
    }
    path.write_text(yaml.safe_dump(doc))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="2,000 customers, 2 s per run, 2 rounds")
    ap.add_argument("--customers", type=int, default=None)
    ap.add_argument("--connections", default="1,10")
    ap.add_argument("--seconds", type=float, default=None, help="per wrk run")
    ap.add_argument("--rounds", type=int, default=None, help="runs per server and connection count (medians)")
    args = ap.parse_args(argv)
    customers = args.customers or (2_000 if args.quick else 10_000)
    seconds = args.seconds or (2.0 if args.quick else 5.0)
    rounds = args.rounds or (2 if args.quick else 4)
    conns = [int(c) for c in args.connections.split(",")]

    import rest as bench  # benchmarks/rest.py

    import fsnb

    with bench.banking_on_redis(customers, "fsnb-served-log-") as (tmp, repo, redis):
        log_dir = tmp / "served_log"
        enable_logging_by_env(repo, log_dir)
        script = wrk_script(tmp, read_bodies(customers))
        completed_on = 0.0
        with server(repo, redis.url, False) as off, server(repo, redis.url, True) as on:
            servers = {"off": off, "on": on}
            for url, proc in servers.values():
                warm(url, script, proc.pid)
            runs: dict[tuple[str, int], list[dict[str, float]]] = {}
            for c in conns:
                for _ in range(rounds):
                    for name in ("off", "on"):  # A B A B
                        url, proc = servers[name]
                        settle([p.pid for _, p in servers.values()])
                        ship0 = shipper_cpu(proc.pid)
                        r = run_wrk(url, script, c, seconds, proc.pid)
                        shipped = (shipper_cpu(proc.pid) - ship0) / r["requests"] * 1e6 if r["requests"] else 0.0
                        r["shipper_cpu_us"] = shipped
                        r["server_cpu_us"] -= shipped  # the workers' (and master's) own
                        runs.setdefault((name, c), []).append(r)
                        if name == "on":
                            completed_on += r["requests"]
        med = {key: {k: statistics.median(run[k] for run in rs) for k in rs[0]} for key, rs in runs.items()}
        print(f"# fsnb serve --workers 1, wrk 1 thread, {seconds:g} s per run, 1-row {SERVICE} by name, "
              f"{customers} customers, logging off / on (every request), median of {rounds} interleaved runs")
        print(HEADER)
        for (name, c), r in med.items():
            print(row(f"logging {name}", c, r), flush=True)
        print(f"\n# on / off: {'conns':>5s} {'req/s':>7s} {'p50 Δ µs':>9s} {'worker CPU/req Δ µs':>20s} "
              f"{'shipper CPU/req µs':>19s}")
        for c in conns:
            a, b = med[("on", c)], med[("off", c)]
            print(f"ratio on/off {c:>5d} {a['requests_per_s'] / b['requests_per_s']:>7.3f} "
                  f"{(a['p50_ms'] - b['p50_ms']) * 1e3:>9.1f} {a['server_cpu_us'] - b['server_cpu_us']:>20.1f} "
                  f"{a['shipper_cpu_us']:>19.1f}")
        with fsnb.Store(repo, online_store=redis.url,
                        feature_server={"logging": {"path": str(log_dir)}}) as store:
            logged = store.served_log(SERVICE)
        print(f"\n# served log: {len(logged):,} rows, {logged['request_id'].nunique() if len(logged) else 0:,} "
              f"request ids; wrk completed {completed_on:,.0f} timed requests against 'on' "
              "(plus its warm-up run)")
        left = list((log_dir / "_spool").glob("*.seg"))
        print(f"# segments left unconverted in the spool after the servers stopped: {len(left)}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
