"""Pulls for materialization and sampling: the latest row of each entity per window, and distinct entity keys.

The latest row is the one with the greatest event timestamp in ``[start, end]`` (both inclusive), ties broken by
the greatest created timestamp (nulls lose). Event timestamps come out as ``TIMESTAMPTZ`` in UTC under the
source's timestamp column name.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from fsnb.definitions import FeatureView
from fsnb.offline.duckdb.connection import quote, timestamp_sql
from fsnb.offline.duckdb.pit import timestamp_literal

__all__ = ["distinct_keys_sql", "latest_rows_sql", "window_filter"]


def window_filter(ts: str, start: datetime | None, end: datetime | None) -> str:
    """``ts BETWEEN start AND end`` for naive UTC bounds (``None`` = unbounded)."""
    parts = []
    if start is not None:
        parts.append(f"{ts} >= {timestamp_literal(start)}")
    if end is not None:
        parts.append(f"{ts} <= {timestamp_literal(end)}")
    return " AND ".join(parts) or "true"


def latest_rows_sql(
    view: FeatureView, relation: str, column_types: dict[str, str], start: datetime | None, end: datetime | None
) -> str:
    """One row per entity of ``view``: join keys, features, and the event timestamp (``TIMESTAMPTZ``, UTC).

    A hash aggregate (``arg_max``) rather than a window: its memory grows with the entities, not the rows.
    """
    source = view.source.batch_source
    ts = timestamp_sql(quote(source.timestamp_field), column_types[source.timestamp_field])
    keys = [quote(k) for k in view.join_keys]
    order = ts
    if source.created_timestamp_column:
        created = timestamp_sql(quote(source.created_timestamp_column), column_types[source.created_timestamp_column])
        order = f"{{'t': {ts}, 'c': coalesce({created}, '-infinity'::TIMESTAMP)}}"
    values = [f"{_struct_key(f.name)}: {quote(f.name)}" for f in view.features]
    values.append(f"{_struct_key(source.timestamp_field)}: CAST({ts} AS TIMESTAMPTZ)")
    not_null = " AND ".join(f"{k} IS NOT NULL" for k in keys)
    return (
        f"SELECT {', '.join(keys)}, unnest(arg_max({{{', '.join(values)}}}, {order}))\n"
        f"FROM {relation}\n"
        f"WHERE {window_filter(ts, start, end)} AND {not_null}\n"
        f"GROUP BY {', '.join(keys)}"
    )


def _struct_key(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def distinct_keys_sql(
    join_keys: Sequence[str],
    parts: Sequence[tuple[FeatureView, str, dict[str, str], datetime | None, datetime | None]],
    limit: int | None = None,
) -> str:
    """The distinct join-key tuples having a row in any of ``parts`` (view, relation, column types, window)."""
    keys = ", ".join(quote(k) for k in join_keys)
    selects = []
    for view, relation, types, start, end in parts:
        source = view.source.batch_source
        ts = timestamp_sql(quote(source.timestamp_field), types[source.timestamp_field])
        not_null = " AND ".join(f"{quote(k)} IS NOT NULL" for k in join_keys)
        selects.append(f"SELECT {keys} FROM {relation} WHERE {window_filter(ts, start, end)} AND {not_null}")
    tail = f"\nLIMIT {int(limit)}" if limit is not None else ""
    return f"SELECT DISTINCT {keys} FROM (\n  " + "\n  UNION ALL\n  ".join(selects) + "\n)" + tail
