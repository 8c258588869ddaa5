"""``fsnb materialize START END [--views a,b]``: load the latest offline rows of [START, END] into the online store."""

from __future__ import annotations

import argparse

NAME = "materialize"
HELP = "load the latest value per entity with event time in [START, END] into the online store"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("start", help="window start: ISO-8601 time (naive = UTC), e.g. 2024-01-01T00:00:00")
    parser.add_argument("end", help="window end: ISO-8601 time or 'now'")
    add_common(parser)


def add_common(parser: argparse.ArgumentParser) -> None:
    """``--views`` and ``--no-progress``, shared with ``materialize-incremental``."""
    parser.add_argument("--views", default=None, help="comma-separated feature views (default: every online view)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def views_of(args: argparse.Namespace) -> list[str] | None:
    """The views ``--views`` names (None when the flag is absent: every online view)."""
    if args.views is None:
        return None
    views = [v.strip() for v in args.views.split(",") if v.strip()]
    if not views:
        from fsnb.errors import RequestError

        raise RequestError(f"--views {args.views!r} names no feature view: give comma-separated names, or leave "
                           "the flag out to materialize every online view")
    return views


def print_summary(summary: object) -> None:
    import pandas as pd

    assert isinstance(summary, pd.DataFrame)
    if summary.empty:
        print("nothing to materialize")
        return
    with pd.option_context("display.width", 200, "display.max_columns", 10):
        print(summary.to_string(index=False, na_rep="-"))


def run(args: argparse.Namespace) -> int:
    from fsnb.cli import open_store

    with open_store(args) as store:
        summary = store.materialize(args.start, args.end, views_of(args), progress=not args.no_progress)
    print_summary(summary)
    return 0
