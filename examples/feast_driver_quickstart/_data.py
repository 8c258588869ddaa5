"""The quickstart's data: hourly statistics per driver, like Feast's ``create_driver_hourly_stats_df``.

    python _data.py REPO [--drivers 1001,1002,...] [--days 15]

Writes ``REPO/data/driver_stats.parquet``: ``event_timestamp`` (hourly, UTC), ``driver_id``, ``conv_rate`` and
``acc_rate`` (float32), ``avg_daily_trips`` (int64) and ``created``. Seeded: the same arguments give the same
values. ``null_every`` (default 0: none) writes a null ``conv_rate`` every that many rows, so the on-demand views
see nulls. (Named with a leading underscore: ``fsnb apply`` loads no definitions from it.)
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

DRIVERS = (1001, 1002, 1003, 1004, 1005)


def driver_stats(
    drivers: Sequence[int] = DRIVERS,
    start: datetime | None = None,
    end: datetime | None = None,
    *,
    seed: int = 0,
    null_every: int = 0,
) -> object:
    """The hourly rows as a pandas DataFrame (start/end default to the 15 days before the last full hour)."""
    import numpy as np
    import pandas as pd

    if end is None:
        end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    if start is None:
        start = end - timedelta(days=15)
    hours = pd.date_range(start, end, freq="1h", tz=UTC, inclusive="left")
    rng = np.random.default_rng(seed)
    n = len(hours) * len(drivers)
    df = pd.DataFrame({
        "event_timestamp": np.tile(hours.to_numpy(), len(drivers)),
        "driver_id": np.repeat(np.asarray(drivers, dtype="int64"), len(hours)),
        "conv_rate": pd.array(rng.random(n).astype("float32"), dtype="Float32"),
        "acc_rate": rng.random(n).astype("float32"),
        "avg_daily_trips": rng.integers(0, 1000, n).astype("int64"),
    })
    if null_every:
        df.loc[df.index[::null_every], "conv_rate"] = pd.NA
    df["event_timestamp"] = pd.to_datetime(df["event_timestamp"], utc=True).astype("datetime64[us, UTC]")
    df["created"] = pd.Timestamp(end).floor("s").tz_convert(UTC)
    df["created"] = df["created"].astype("datetime64[us, UTC]")
    return df


def write(repo: str | Path, **options: object) -> Path:
    """``driver_stats(**options)`` written to ``repo/data/driver_stats.parquet``; returns the path."""
    path = Path(repo) / "data" / "driver_stats.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    driver_stats(**options).to_parquet(path, index=False)  # type: ignore[attr-defined]
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo")
    parser.add_argument("--drivers", default=",".join(map(str, DRIVERS)))
    parser.add_argument("--days", type=int, default=15)
    args = parser.parse_args(argv)
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    path = write(args.repo, drivers=[int(d) for d in args.drivers.split(",")], start=end - timedelta(days=args.days),
                 end=end)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
