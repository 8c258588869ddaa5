"""Pulls for materialization and sampling, as Spark frames: the latest row per entity in a window, distinct keys.

The latest row has the greatest event time in ``[start, end]`` (both inclusive), ties broken by the greatest
created time (nulls lose): a hash aggregate (``max_by``), so memory grows with the entities, not the rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from fsnb.offline.spark.pit import CREATED, EVENT, q

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from fsnb.definitions import FeatureView

__all__ = ["distinct_keys_frame", "in_window", "latest_rows_frame"]


def in_window(rows: DataFrame, start: int | None, end: int | None) -> DataFrame:
    """``rows`` with ``__fsnb_event`` in ``[start, end]`` (µs; ``None`` = unbounded) and no null event time."""
    from pyspark.sql import functions as F

    cond = F.col(EVENT).isNotNull()
    if start is not None:
        cond = cond & (F.col(EVENT) >= F.lit(start))
    if end is not None:
        cond = cond & (F.col(EVENT) <= F.lit(end))
    return rows.where(cond)


def latest_rows_frame(view: FeatureView, rows: DataFrame, start: int | None, end: int | None) -> DataFrame:
    """One row per entity of ``view``: join keys, features, and the event time (timestamp, UTC) under the
    source's timestamp column name. ``rows`` has the keys, ``__fsnb_event``, ``__fsnb_created`` and the features."""
    from pyspark.sql import functions as F

    keys = list(view.join_keys)
    rows = in_window(rows, start, end)
    for k in keys:
        rows = rows.where(F.col(q(k)).isNotNull())
    order = F.struct(F.col(EVENT), F.coalesce(F.col(CREATED), F.lit(-(2**62))))
    value = F.struct(F.col(EVENT).alias("t"), *(F.col(q(f.name)).alias(f"f{i}") for i, f in enumerate(view.features)))
    latest = rows.groupBy(*(q(k) for k in keys)).agg(F.max_by(value, order).alias("v"))
    ts = view.source.batch_source.timestamp_field
    return latest.select(
        *(q(k) for k in keys),
        *(F.col(f"v.f{i}").alias(f.name) for i, f in enumerate(view.features)),
        F.timestamp_micros(F.col("v.t")).alias(ts),
    )


def distinct_keys_frame(join_keys: Sequence[str], frames: Sequence[DataFrame], limit: int | None) -> DataFrame:
    """The distinct join-key tuples of ``frames`` (each already limited to its window), null keys left out."""
    from pyspark.sql import functions as F

    union = None
    for frame in frames:
        part = frame.select(*(q(k) for k in join_keys))
        for k in join_keys:
            part = part.where(F.col(q(k)).isNotNull())
        union = part if union is None else union.unionByName(part)
    assert union is not None
    out = union.distinct()
    return out.limit(int(limit)) if limit is not None else out
