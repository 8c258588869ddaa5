"""Reading served logs back: one service's rows in a time window, as a DataFrame."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from fsnb.errors import ConfigError
from fsnb.served_log.layout import log_root, target_name

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["read_served_log", "served_log"]


def served_log(store: Any, features: Any, since: Any = None, until: Any = None) -> pd.DataFrame:
    """The served log of ``features`` (a service, its name or feature refs) under ``store``'s log folder."""
    cfg = getattr(store, "log_served", None)
    return read_served_log(log_root(store.config, cfg), features, since, until)


def read_served_log(root: Path, features: Any, since: Any = None, until: Any = None) -> pd.DataFrame:
    """Rows of the log under ``root`` for ``features`` with ``since <= request_time <= until``, oldest first.

    Columns: ``request_id``, ``request_time`` (UTC), ``duration_us``, ``mode``, ``worker``, ``row``, the join keys,
    then per feature its value and ``__status``, per view ``<view>__event_timestamp``. Empty when nothing was logged.
    """
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from fsnb._time import to_utc

    lo = to_utc(since, what="since") if since is not None else None
    hi = to_utc(until, what="until") if until is not None else None
    if lo is not None and hi is not None and lo > hi:
        raise ConfigError(f"since ({lo}) is after until ({hi}): give the window oldest first")
    folder = Path(root) / f"service={target_name(features)}"
    tables = []
    for day in sorted(folder.glob("date=*")):
        d = day.name[5:]
        if (lo is not None and d < lo.date().isoformat()) or (hi is not None and d > hi.date().isoformat()):
            continue
        for file in sorted(day.glob("*.parquet")):
            tables.append(pq.read_table(file))
    if not tables:
        return pd.DataFrame()
    table = pa.concat_tables(tables, promote_options="permissive")
    nullable = {pa.int64(): pd.Int64Dtype(), pa.int32(): pd.Int32Dtype(), pa.bool_(): pd.BooleanDtype()}
    frame = table.to_pandas(types_mapper=nullable.get)  # an int column with nulls stays ints
    if lo is not None:
        frame = frame[frame["request_time"] >= pd.Timestamp(lo)]
    if hi is not None:
        frame = frame[frame["request_time"] <= pd.Timestamp(hi)]
    return frame.sort_values(["request_time", "request_id", "row"], kind="stable").reset_index(drop=True)


