"""``fsnb init [DIR]``: scaffold the banking example repo (definitions, fsnb.yaml, generated data)."""

from __future__ import annotations

import argparse

NAME = "init"
HELP = "create the banking example feature repo with generated data"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "dir", nargs="?", default=None, help="folder to create (default: the --repo folder if given, else ./banking)"
    )
    parser.add_argument("--customers", type=int, default=10_000, help="customers to generate (default 10,000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the data (default 0)")
    parser.add_argument("--force", action="store_true", help="overwrite the files of a non-empty folder")


def run(args: argparse.Namespace) -> int:
    import shlex
    import time

    import pyarrow.parquet as pq

    from fsnb.examples.banking import TEMPLATE_FILES, VIEW_FILES, init_repo

    target = args.dir
    if target is None:
        given = getattr(args, "repo", ".") or "."
        target = given if given != "." else "banking"
    started = time.perf_counter()
    repo = init_repo(target, customers=args.customers, seed=args.seed, force=args.force)
    elapsed = time.perf_counter() - started
    print(f"Created the banking feature repo in {repo}/ ({elapsed:.1f} s):")
    for name in TEMPLATE_FILES:
        print(f"  {name}")
    for rel in VIEW_FILES.values():
        rows = pq.read_metadata(repo / rel).num_rows
        print(f"  {rel}  ({rows:,} rows)")
    print(f"with {args.customers:,} customers (seed {args.seed}). Next:")
    print(f"  cd {shlex.quote(str(repo))} && fsnb apply")
    print("  fsnb ls")
    return 0
