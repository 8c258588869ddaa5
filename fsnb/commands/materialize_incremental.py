"""``fsnb materialize-incremental END``: materialize each view from its watermark up to END (``now`` accepted)."""

from __future__ import annotations

import argparse

NAME = "materialize-incremental"
HELP = "materialize each view from where the last run stopped up to END ('now' accepted)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from fsnb.commands.materialize import add_common

    parser.add_argument("end", help="window end: ISO-8601 time (naive = UTC) or 'now'")
    add_common(parser)


def run(args: argparse.Namespace) -> int:
    from fsnb.cli import open_store
    from fsnb.commands.materialize import print_summary, views_of

    with open_store(args) as store:
        summary = store.materialize_incremental(args.end, views_of(args), progress=not args.no_progress)
    print_summary(summary)
    return 0
