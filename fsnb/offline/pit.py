"""The point-in-time join, as one DuckDB query.

For each entity row at time T and each requested view, the feature row with the greatest event timestamp
``<= T`` (ties broken by the greatest created timestamp) is found with an ``ASOF LEFT JOIN`` on the view's join
keys; its features are kept only if its event timestamp is ``>= T - ttl`` (both ends inclusive). Each view's source
is pruned to ``[min(T) - ttl, max(T)]`` before the join. All timestamps are compared as naive UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from fsnb.offline.features import ViewRequest
from fsnb.offline.store import quote, timestamp_sql

__all__ = ["ENTITY_TABLE", "ROW_COLUMN", "ViewSource", "point_in_time_sql", "timestamp_literal"]

#: name the entity frame is registered under while the query runs.
ENTITY_TABLE = "__fsnb_entity"
#: position of each entity row in the caller's frame; the result is ordered by it.
ROW_COLUMN = "__fsnb_row"
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


def point_in_time_sql(
    *,
    entity_timestamp: str,
    entity_timestamp_type: str,
    join_keys: Sequence[str],
    views: Sequence[ViewSource],
    t_min: datetime | None,
    t_max: datetime | None,
) -> str:
    """The query returning ``ROW_COLUMN`` and every requested feature, ordered by ``ROW_COLUMN``.

    ``t_min``/``t_max`` bound the entity timestamps (naive UTC); ``None`` when no entity row has one.
    """
    keys = ", ".join(quote(k) for k in join_keys)
    ctes = [
        f"entity AS (\n  SELECT {ROW_COLUMN}, {keys}, "
        f"{timestamp_sql(quote(entity_timestamp), entity_timestamp_type)} AS {_TS}\n  FROM {ENTITY_TABLE}\n)"
    ]
    selects = [f"entity.{ROW_COLUMN}"]
    joins = []
    for i, vs in enumerate(views):
        req, view, alias = vs.request, vs.request.view, f"v{i}"
        source = view.source.batch_source
        ts_col = source.timestamp_field
        created = source.created_timestamp_column
        ts = timestamp_sql(quote(ts_col), vs.column_types[ts_col])
        cols = [quote(k) for k in view.join_keys] + [quote(f.name) for f in req.fields]
        where = []
        if t_max is None:
            where.append("false")
        else:
            where.append(f"{ts} <= {timestamp_literal(t_max)}")
            if view.ttl is not None and t_min is not None:
                where.append(f"{ts} >= {timestamp_literal(t_min - view.ttl)}")
        order = ""
        if created:
            created_ts = timestamp_sql(quote(created), vs.column_types[created])
            order = (
                f",\n         {{'t': {ts}, 'c': coalesce({created_ts}, '-infinity'::TIMESTAMP)}} AS {_ORDER}"
            )
        ctes.append(
            f"{alias} AS (\n  SELECT {', '.join(cols)}, {ts} AS {_TS}{order}\n  FROM {vs.relation}\n"
            f"  WHERE {' AND '.join(where)}\n)"
        )
        on = [f"entity.{quote(k)} = {alias}.{quote(k)}" for k in view.join_keys]
        if created:
            on.append(f"{{'t': entity.{_TS}, 'c': 'infinity'::TIMESTAMP}} >= {alias}.{_ORDER}")
        else:
            on.append(f"entity.{_TS} >= {alias}.{_TS}")
        joins.append(f"ASOF LEFT JOIN {alias} ON {' AND '.join(on)}")
        for f, out in zip(req.fields, req.output_names):
            value = f"{alias}.{quote(f.name)}"
            if view.ttl is not None:
                value = f"CASE WHEN {alias}.{_TS} >= entity.{_TS} - {_interval(view.ttl)} THEN {value} END"
            selects.append(f"{value} AS {quote(out)}")
    return (
        "WITH " + ",\n".join(ctes) + "\nSELECT " + ",\n       ".join(selects) + "\nFROM entity\n"
        + "\n".join(joins) + f"\nORDER BY entity.{ROW_COLUMN}"
    )
