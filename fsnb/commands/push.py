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
    from fsnb.errors import DataValidationError, RequestError

    path = Path(args.file).expanduser()
    if not path.is_file():
        raise RequestError(f"no file at {path}")
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise RequestError(f"{path}: push reads .parquet or .csv files, not {suffix or 'files without a suffix'}")
    import pyarrow as pa

    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            table = pq.read_table(path)
        else:
            import pyarrow.csv as pcsv

            table = pcsv.read_csv(path)
    except (pa.ArrowException, OSError) as e:
        kind = "Parquet" if suffix == ".parquet" else "CSV"
        detail = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise DataValidationError(f"{path} cannot be read as {kind}: {detail}") from None
    if table.num_rows == 0:
        raise DataValidationError(f"{path} holds no rows: nothing to push")
    with open_store(args) as store:
        rows = store.push(args.source, table, to=args.to)
    ignored = getattr(rows, "ignored", 0)
    note = f"; {ignored:,} ignored online, older than the stored rows" if ignored else ""
    print(f"pushed {rows:,} rows to {args.source} ({args.to}){note}")
    return 0
