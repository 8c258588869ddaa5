"""``fsnb bench``: profile online reads of the repo's store and print the latency table (the profiler, from a shell).

    fsnb bench --quick                                  # a fast pass, for CI
    fsnb bench --quick --serve --parity 200             # also REST and remote SDK; then a parity summary
    fsnb bench --modes direct precomputed --batch-sizes 1 10 100 --json bench.json
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fsnb.notebook.report import LatencyReport
    from fsnb.store import Store

NAME = "bench"
HELP = "measure online-read latency per access mode and batch size (the notebook profiler, from a shell)"

#: ``--quick``: enough calls to exercise every mode and batch size, not to quote numbers.
QUICK = {"warmup": 5, "iterations": 30, "duration_s": 1.0, "batch_sizes": [1, 10, 100]}


def _int_list(text: str) -> list[int]:
    return [int(x) for x in text.replace(",", " ").split()]


def _count(text: str) -> int:
    """A number of entities: a whole number, 0 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative: give 0 (no parity check) or more entities")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--features", default=None,
                        help="a feature service name or comma-separated view:feature refs "
                             "(default: the first precomputed service, else the first service)")
    parser.add_argument("--quick", action="store_true", help="few iterations and a 1 s throughput phase (CI)")
    parser.add_argument("--modes", nargs="+", default=None,
                        help="access modes: direct async precomputed rest remote (default: all)")
    parser.add_argument("--batch-sizes", nargs="+", type=_int_list, default=None,
                        help="rows per request (default 1 5 10 50 100 500)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed calls per case (default 30)")
    parser.add_argument("--iterations", type=int, default=None, help="timed calls per case (default 200)")
    parser.add_argument("--concurrency", type=int, default=10, help="workers in the throughput phase (default 10)")
    parser.add_argument("--duration", type=float, default=None,
                        help="seconds of the throughput phase per mode, 0 to skip (default 15)")
    parser.add_argument("--output", choices=["df", "dict"], default="df",
                        help="time until a DataFrame (df, default) or a dict (dict) is out")
    parser.add_argument("--server-url", default=None, help="feature server for the rest and remote modes")
    parser.add_argument("--serve", action="store_true",
                        help="start `fsnb serve` for this repo on a free loopback port for the run (rest, remote)")
    parser.add_argument("--online-store", default=None, help="override the online store (URL)")
    parser.add_argument("--seed", type=int, default=0, help="entity sampling seed (default 0)")
    parser.add_argument("--json", dest="json_path", default=None, help="also write the full report here")
    parser.add_argument("--parity", type=_count, default=0, metavar="N",
                        help="then check training-to-serving parity for N sampled entities and print the summary")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def default_features(store: Store) -> Any:
    """The first precomputed service, else the first service; a clear error when there is none."""
    from fsnb.errors import FeatureServiceNotFoundError

    services = sorted(store.list_feature_services(), key=lambda s: (not s.precompute_online, s.name))
    if not services:
        raise FeatureServiceNotFoundError("no feature service to benchmark: pass --features view:feature,...")
    return services[0]


def options_from(args: argparse.Namespace) -> dict[str, Any]:
    """Profiler keyword options from parsed arguments (``--quick`` first, explicit flags win)."""
    from fsnb.notebook.profiler import DEFAULT_BATCH_SIZES, MODES

    opts: dict[str, Any] = {
        "modes": list(MODES), "batch_sizes": list(DEFAULT_BATCH_SIZES), "warmup": 30, "iterations": 200,
        "duration_s": 15.0,
    }
    if args.quick:
        opts.update(QUICK)
    if args.modes:
        opts["modes"] = [m for part in args.modes for m in part.replace(",", " ").split()]
    if args.batch_sizes:
        opts["batch_sizes"] = [b for part in args.batch_sizes for b in part]
    for flag, key in (("warmup", "warmup"), ("iterations", "iterations"), ("duration", "duration_s")):
        if getattr(args, flag) is not None:
            opts[key] = getattr(args, flag)
    opts.update(concurrency=args.concurrency, output=args.output, seed=args.seed, server_url=args.server_url,
                progress=not args.no_progress)
    return opts


def bench(store: Store, features: Any, args: argparse.Namespace) -> LatencyReport:
    """Run the profiler as ``args`` say, print the table, write ``--json``; returns the report."""
    from fsnb.notebook.profiler import profile

    if features is None:
        features = default_features(store)
    elif isinstance(features, str) and ("," in features or ":" in features):
        features = [f.strip() for f in features.split(",") if f.strip()]
    report = profile(store, features, server_cpu=getattr(args, "_server_cpu", None), **options_from(args))
    print(report.to_text())
    if args.json_path:
        report.to_json(args.json_path)
        print(f"\nfull report (raw samples included): {args.json_path}")
    if getattr(args, "parity", 0):
        from fsnb.notebook.parity import parity_check

        service = store.get_feature_service(features) if isinstance(features, str) else features
        precomputed = bool(getattr(service, "precompute_online", False))
        parity = parity_check(store, features, entities=args.parity, seed=args.seed,
                              modes=["direct", "precomputed"] if precomputed else ["direct"])
        print()
        print(parity.to_text())
    return report


def run(args: argparse.Namespace) -> int:
    from fsnb.cli import repo_path
    from fsnb.errors import FsnbError
    from fsnb.store import Store

    overrides = {"online_store": args.online_store} if args.online_store else {}
    server = None
    try:
        repo_path(args)  # a clear error for a missing folder
        with Store(getattr(args, "repo", "."), **overrides) as store:
            if getattr(args, "serve", False) and not args.server_url:
                from fsnb.notebook.demo import start_feature_server

                server = start_feature_server(store)
                args.server_url = server.url
                args._server_cpu = server.cpu_seconds
            report = bench(store, args.features, args)
    except FsnbError as err:
        print(f"fsnb bench: {err}", file=sys.stderr)
        return 2
    finally:
        if server is not None:
            server.stop()
    failed = [c for c in report.cases if c.status == "error"]
    for c in failed:
        print(f"fsnb bench: {c.mode} at batch {c.batch} failed: {c.reason}", file=sys.stderr)
    return 1 if failed else 0
