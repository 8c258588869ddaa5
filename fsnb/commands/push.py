"""``fsnb push SOURCE FILE [--to online|offline|online_and_offline]``: push a Parquet or CSV file of rows."""

from __future__ import annotations

import argparse

NAME = "push"
HELP = "push the rows of a Parquet or CSV file to a PushSource (online, offline or both)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", help="the PushSource's name")
    parser.add_argument("file", help="a .parquet or .csv file of rows (join keys, features, event timestamp)")
    parser.add_argument(
        "--to", default="online", choices=["online", "offline", "online_and_offline"], help="where (default online)"
    )


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from fsnb.cli import open_store
    from fsnb.errors import RequestError

    path = Path(args.file).expanduser()
    if not path.is_file():
        raise RequestError(f"no file at {path}")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
    elif suffix == ".csv":
        import pyarrow.csv as pcsv

        table = pcsv.read_csv(path)
    else:
        raise RequestError(f"{path}: push reads .parquet or .csv files, not {suffix or 'files without a suffix'}")
    with open_store(args) as store:
        rows = store.push(args.source, table, to=args.to)
    print(f"pushed {rows:,} rows to {args.source} ({args.to})")
    return 0
