"""The point-in-time join in Spark, one frame per feature view, without a range join.

Per view, the entity rows (keys, time T, row number) and the view's feature rows (keys, event time, created time,
features), pruned to ``[min(T) - ttl, max(T)]`` and to the request's entities, are stacked into one frame and
ordered within each entity by (time, feature rows before entity rows, created time, nulls first). The last feature
row at or before each entity row (``last(..., ignorenulls)`` over the preceding rows) is then the row with the
greatest event time ``<= T``, ties broken by the greatest created timestamp (nulls lose); its features are kept
only if its event time is ``>= T - ttl`` (both ends inclusive). Sorting within entities costs ``O(n log n)``, where a
range join on time could multiply the rows. All times are compared as µs since the epoch, UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from fsnb.offline.training import ROW_COLUMN

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from fsnb.requests import ViewRequest

__all__ = ["CREATED", "ENTITY_TIME", "EVENT", "ROW_COLUMN", "join_views", "q", "view_features"]

#: the entity rows' time (µs since the epoch, UTC) in the entity frame given to :func:`view_features`.
ENTITY_TIME = "__fsnb_ts"
_KIND = "__fsnb_kind"
CREATED = "__fsnb_created"
_VALUE = "__fsnb_value"
EVENT = "__fsnb_event"


def q(name: str) -> str:
    """``name`` as a Spark SQL identifier."""
    return "`" + name.replace("`", "``") + "`"


def view_features(
    entity: DataFrame,
    features: DataFrame,
    request: ViewRequest,
    *,
    t_min: int | None,
    t_max: int | None,
) -> DataFrame:
    """``ROW_COLUMN`` and the view's requested features (under their output names), one row per entity row.

    ``entity`` has the view's join keys, :data:`ENTITY_TIME` and ``ROW_COLUMN``; ``features`` has the join keys,
    ``__fsnb_event`` (µs), ``__fsnb_created`` (µs or null) and the features. ``t_min``/``t_max`` bound the entity
    times (``None`` when no entity row has one).
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    view = request.view
    keys = list(view.join_keys)
    if t_max is None:
        features = features.limit(0)
    else:
        features = features.where(F.col(EVENT) <= F.lit(t_max))
        if view.ttl is not None and t_min is not None:
            features = features.where(F.col(EVENT) >= F.lit(t_min - _micros(view.ttl)))
    for k in keys:  # entity keys in the source's type, so both sides stack and compare alike
        entity = entity.withColumn(k, F.col(q(k)).cast(features.schema[k].dataType))
    wanted = entity.select(*(q(k) for k in keys)).distinct()
    features = features.join(wanted, on=keys, how="left_semi")
    value = F.struct(F.col(EVENT).alias("t"), *(F.col(q(f.name)).alias(f"f{i}") for i, f in enumerate(request.fields)))
    rows = features.select(
        *(q(k) for k in keys),
        F.col(EVENT).alias(ENTITY_TIME),
        F.lit(0).alias(_KIND),
        F.col(CREATED),
        F.lit(None).cast("long").alias(ROW_COLUMN),
        value.alias(_VALUE),
    )
    asks = entity.select(
        *(q(k) for k in keys),
        F.col(ENTITY_TIME),
        F.lit(1).alias(_KIND),
        F.lit(None).cast("long").alias(CREATED),
        F.col(ROW_COLUMN),
        F.lit(None).cast(rows.schema[_VALUE].dataType).alias(_VALUE),
    )
    order = [F.col(ENTITY_TIME).asc_nulls_first(), F.col(_KIND).asc(), F.col(CREATED).asc_nulls_first()]
    window = Window.partitionBy(*(q(k) for k in keys)).orderBy(*order).rowsBetween(Window.unboundedPreceding, 0)
    found = rows.unionByName(asks).withColumn(_VALUE, F.last(_VALUE, ignorenulls=True).over(window))
    found = found.where(F.col(_KIND) == 1)
    fresh = F.lit(True)
    if view.ttl is not None:
        fresh = F.col(f"{_VALUE}.t") >= F.col(ENTITY_TIME) - F.lit(_micros(view.ttl))
    out = [F.col(ROW_COLUMN)]
    for i, name in enumerate(request.output_names):
        out.append(F.when(fresh, F.col(f"{_VALUE}.f{i}")).alias(name))
    return found.select(*out)


def _micros(ttl: object) -> int:
    from datetime import timedelta

    assert isinstance(ttl, timedelta)
    return round(ttl.total_seconds() * 1_000_000)


def join_views(entity_rows: DataFrame, per_view: Sequence[DataFrame]) -> DataFrame:
    """The entity rows' ``ROW_COLUMN`` with every view's features, joined on it."""
    out = entity_rows.select(ROW_COLUMN)
    for frame in per_view:
        out = out.join(frame, on=ROW_COLUMN, how="left")
    return out
