"""The point-in-time join, as one DuckDB query per feature view.

For each entity row at time T and each requested view, the feature row with the greatest event timestamp
``<= T`` (ties broken by the greatest created timestamp) is found with an ``ASOF LEFT JOIN`` on the view's join
keys; its features are kept only if its event timestamp is ``>= T - ttl`` (both ends inclusive). Each view's source
is pruned to ``[min(T) - ttl, max(T)]`` and to the request's entities (a semi join) before the join.
All timestamps are compared as naive UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from fsnb.offline.duckdb.connection import quote, timestamp_sql
from fsnb.offline.training import ROW_COLUMN
from fsnb.requests import ViewRequest

__all__ = ["ENTITY_TABLE", "ROW_COLUMN", "ViewSource", "point_in_time_queries", "timestamp_literal"]

#: name the entity frame is registered under while the query runs.
ENTITY_TABLE = "__fsnb_entity"
_TS = "__fsnb_ts"
_ORDER = "__fsnb_order"


@dataclass(frozen=True)
class ViewSource:
    """Where a requested view's rows come from: a FROM expression and its column types."""

    request: ViewRequest
    relation: str
    column_types: dict[str, str]


def timestamp_literal(value: datetime) -> str:
    """A naive UTC datetime as a DuckDB TIMESTAMP literal."""
    return f"TIMESTAMP '{value.strftime('%Y-%m-%d %H:%M:%S.%f')}'"


def _interval(ttl: timedelta) -> str:
    return f"INTERVAL '{round(ttl.total_seconds() * 1_000_000)} microseconds'"


def point_in_time_queries(
    *,
    entity_timestamp: str,
    entity_timestamp_type: str,
    views: Sequence[ViewSource],
    t_min: datetime | None,
    t_max: datetime | None,
) -> list[str]:
    """One query per view, each returning ``ROW_COLUMN`` and the view's features, ordered by ``ROW_COLUMN``.

    Views are joined in separate queries rather than a chain of joins: a chain carries every earlier view's
    features through each later join, which multiplies peak memory; separate queries peak at the largest view.
    ``t_min``/``t_max`` bound the entity timestamps (naive UTC); ``None`` when no entity row has one.
    """
    return [_view_query(entity_timestamp, entity_timestamp_type, vs, t_min, t_max) for vs in views]


def _view_query(
    entity_timestamp: str, entity_timestamp_type: str, vs: ViewSource, t_min: datetime | None, t_max: datetime | None
) -> str:
    req, view = vs.request, vs.request.view
    source = view.source.batch_source
    keys = ", ".join(quote(k) for k in view.join_keys)
    ts_col = source.timestamp_field
    created = source.created_timestamp_column
    ts = timestamp_sql(quote(ts_col), vs.column_types[ts_col])
    where = []
    if t_max is None:
        where.append("false")
    else:
        where.append(f"{ts} <= {timestamp_literal(t_max)}")
        if view.ttl is not None and t_min is not None:
            where.append(f"{ts} >= {timestamp_literal(t_min - view.ttl)}")
    order = ""
    on = [f"entity.{quote(k)} = fv.{quote(k)}" for k in view.join_keys]
    if created:
        created_ts = timestamp_sql(quote(created), vs.column_types[created])
        order = f",\n         {{'t': {ts}, 'c': coalesce({created_ts}, '-infinity'::TIMESTAMP)}} AS {_ORDER}"
        on.append(f"{{'t': entity.{_TS}, 'c': 'infinity'::TIMESTAMP}} >= fv.{_ORDER}")
    else:
        on.append(f"entity.{_TS} >= fv.{_TS}")
    selects = [f"entity.{ROW_COLUMN}"]
    for f, out in zip(req.fields, req.output_names):
        value = f"fv.{quote(f.name)}"
        if view.ttl is not None:
            value = f"CASE WHEN fv.{_TS} >= entity.{_TS} - {_interval(view.ttl)} THEN {value} END"
        selects.append(f"{value} AS {quote(out)}")
    cols = ", ".join([*(quote(k) for k in view.join_keys), *(quote(f.name) for f in req.fields)])
    return (
        f"-- {view.name}\n"
        f"WITH entity AS (\n  SELECT {ROW_COLUMN}, {keys}, "
        f"{timestamp_sql(quote(entity_timestamp), entity_timestamp_type)} AS {_TS}\n  FROM {ENTITY_TABLE}\n),\n"
        f"fv AS (\n  SELECT {cols}, {ts} AS {_TS}{order}\n  FROM {vs.relation} AS src\n"
        f"  SEMI JOIN (SELECT DISTINCT {keys} FROM {ENTITY_TABLE}) AS wanted USING ({keys})\n"
        f"  WHERE {' AND '.join(where)}\n)\n"
        "SELECT " + ",\n       ".join(selects) + "\nFROM entity\n"
        f"ASOF LEFT JOIN fv ON {' AND '.join(on)}\nORDER BY entity.{ROW_COLUMN}"
    )
