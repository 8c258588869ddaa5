"""Training sets on Spark: the entity rows sent to the cluster, one point-in-time frame per view, and the exits.

``to_df()`` / ``to_arrow()`` bring the features to the driver (beside the caller's own entity frame, untouched);
``to_spark()`` keeps the whole training set in the cluster and ``to_parquet(path)`` has the executors write it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fsnb.errors import RequestError
from fsnb.offline.spark.pit import ENTITY_TIME, ROW_COLUMN, join_views, q, view_features
from fsnb.offline.spark.session import translate
from fsnb.offline.training import TrainingJob

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

    from fsnb.offline.training import EntityFrame
    from fsnb.requests import FeatureRequest

__all__ = ["SparkTrainingJob", "entity_micros", "spark_training_job"]


class SparkTrainingJob(TrainingJob):
    """A training set computed by Spark: ``to_df()``, ``to_arrow()``, ``to_spark()``, ``to_parquet(path)``."""

    def __init__(
        self, spark: SparkSession, entity: EntityFrame, request: FeatureRequest, features: DataFrame
    ) -> None:
        super().__init__(entity, request, self._collect)
        self._spark = spark
        self._feature_frame = features  # ROW_COLUMN and the features, one row per entity row

    def _collect(self) -> pa.Table:
        from fsnb.offline.spark.engine import _utc

        with translate("computing the training set"):
            table = self._feature_frame.toArrow()  # coming to the driver anyway: sorted here, not by a shuffle
        order = table.column(ROW_COLUMN).to_numpy().argsort(kind="stable")
        return _utc(table.take(order).drop_columns([ROW_COLUMN]))

    def to_spark(self) -> DataFrame:
        """The training set as a Spark DataFrame (entity columns, then the features in their declared types),
        ordered like the entity rows; nothing comes to the driver."""
        import numpy as np
        import pyarrow as pa
        from pyspark.sql import functions as F
        from pyspark.sql.pandas.types import from_arrow_type

        entity = self._entity.frame
        with translate("sending the entity rows to Spark"):
            if not isinstance(entity, pa.Table):
                entity = pa.Table.from_pandas(entity, preserve_index=False)
            if ROW_COLUMN in entity.column_names:
                raise RequestError(f"entity_df has a column named {ROW_COLUMN!r}, which fsnb uses: rename it")
            entity = entity.append_column(ROW_COLUMN, pa.array(np.arange(entity.num_rows)))
            rows = self._spark.createDataFrame(entity)
            fields = self._fields()
            features = self._feature_frame.select(
                ROW_COLUMN, *(F.col(q(n)).cast(from_arrow_type(f.dtype.to_arrow())).alias(n) for n, f in fields)
            )
            return rows.join(features, on=ROW_COLUMN, how="left").orderBy(ROW_COLUMN).drop(ROW_COLUMN)

    def to_parquet(self, path: str, *, mode: str = "overwrite") -> str:
        """Have the executors write the training set to Parquet at ``path`` (a folder; local, ``s3a://``,
        ``hdfs://``...), for sets too big for the driver; returns ``path``."""
        with translate(f"writing the training set to {path}"):
            self.to_spark().write.mode(mode).parquet(path)
        return path


def entity_micros(column: Any) -> pa.Array:
    """An entity timestamp column (timestamp, date, epoch seconds or ISO text; naive = UTC) as int64 µs."""
    import pyarrow as pa
    import pyarrow.compute as pc

    col = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    t = col.type
    if pa.types.is_timestamp(t):
        return col.cast(pa.timestamp("us", tz=t.tz), safe=False).cast(pa.int64())
    if pa.types.is_date(t):
        return col.cast(pa.timestamp("us")).cast(pa.int64())
    if pa.types.is_integer(t):
        return pc.multiply(col.cast(pa.int64()), 1_000_000)
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        import pandas as pd

        parsed = pd.to_datetime(col.to_pandas(), utc=True, format="ISO8601")
        return pa.array(parsed, pa.timestamp("us", tz="UTC")).cast(pa.int64())
    raise RequestError(f"the entity timestamp column is {t}, not a timestamp, a date or epoch seconds")


def spark_training_job(
    spark: SparkSession, entity: EntityFrame, request: FeatureRequest, views: dict[str, DataFrame]
) -> SparkTrainingJob:
    """The training job of ``entity`` over each requested view's rows (``views``: by name, from the engine)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    keys = entity.keys
    times = entity_micros(keys.column(entity.timestamp_column))
    join_keys = [c for c in keys.column_names if c not in (entity.timestamp_column, ROW_COLUMN)]
    table = pa.table(
        [*(keys.column(k) for k in join_keys), times, keys.column(ROW_COLUMN).cast(pa.int64())],
        names=[*join_keys, ENTITY_TIME, ROW_COLUMN],
    )
    bounds = pc.min_max(times).as_py() if len(times) else {"min": None, "max": None}
    with translate("sending the entity rows to Spark"):
        rows = spark.createDataFrame(table)
        per_view = [
            view_features(rows, views[r.view.name], r, t_min=bounds["min"], t_max=bounds["max"]) for r in request.views
        ]
        features = join_views(rows, per_view)
    return SparkTrainingJob(spark, entity, request, features)


# ----------------------------------------------------------------------------- entity rows already in Spark


def is_spark_frame(obj: Any) -> bool:
    """Whether ``obj`` is a Spark DataFrame (classic or Connect)."""
    return type(obj).__name__ == "DataFrame" and type(obj).__module__.startswith("pyspark.")


class SparkEntityTrainingJob(TrainingJob):
    """A training set whose entity rows are a Spark DataFrame: it stays in the cluster for ``to_spark()`` and
    ``to_parquet(path)``; ``to_df()`` / ``to_arrow()`` bring entity columns and features to the driver.

    The entity rows keep the frame's own order (partition by partition, as ``monotonically_increasing_id``).
    """

    def __init__(
        self,
        spark: SparkSession,
        frame: DataFrame,
        request: FeatureRequest,
        timestamp_column: str,
        views: dict[str, DataFrame],
    ) -> None:
        self._spark = spark
        self._source = frame
        self._ts_col = timestamp_column
        self._views = views
        self._request = request
        self.queries: list[str] = []
        self.sql = ""
        self._features = None
        self._local: TrainingJob | None = None

    def to_spark(self) -> DataFrame:
        """Entity columns, then the features in their declared types, in the entity rows' order."""
        from pyspark.sql import functions as F
        from pyspark.sql.pandas.types import from_arrow_type

        from fsnb.offline.spark.sources import event_micros

        with translate("building the training set"):
            types = {f.name: f.dataType for f in self._source.schema.fields}
            rows = self._source.withColumn(ROW_COLUMN, F.monotonically_increasing_id())
            rows = rows.withColumn(ENTITY_TIME, event_micros(self._ts_col, types[self._ts_col]))
            bounds = rows.agg(F.min(ENTITY_TIME), F.max(ENTITY_TIME)).first()
            t_min, t_max = (bounds[0], bounds[1]) if bounds is not None else (None, None)
            per_view = [
                view_features(rows, self._views[r.view.name], r, t_min=t_min, t_max=t_max) for r in self._request.views
            ]
            features = join_views(rows, per_view)
            fields = [(n, f) for n, f in self._fields()]
            features = features.select(
                ROW_COLUMN, *(F.col(q(n)).cast(from_arrow_type(f.dtype.to_arrow())).alias(n) for n, f in fields)
            )
            out = rows.drop(ENTITY_TIME).join(features, on=ROW_COLUMN, how="left")
            return out.orderBy(ROW_COLUMN).drop(ROW_COLUMN)

    def to_parquet(self, path: str, *, mode: str = "overwrite") -> str:
        """Have the executors write the training set to Parquet at ``path``; returns ``path``."""
        with translate(f"writing the training set to {path}"):
            self.to_spark().write.mode(mode).parquet(path)
        return path

    def _collected(self) -> TrainingJob:
        if self._local is None:
            import numpy as np
            import pyarrow as pa

            from fsnb.offline.spark.engine import _utc
            from fsnb.offline.training import EntityFrame

            with translate("computing the training set"):
                table = _utc(self.to_spark().toArrow())
            names = list(self._request.output_names)
            entity = table.drop_columns(names)
            keys = entity.select([*(f.name for f in self._request.join_keys), self._ts_col])
            keys = keys.append_column(ROW_COLUMN, pa.array(np.arange(keys.num_rows)))
            frame = EntityFrame(entity, tuple(entity.column_names), self._ts_col, keys)
            features = table.select(names)
            self._local = TrainingJob(frame, self._request, lambda: features)
        return self._local

    def to_arrow(self) -> pa.Table:
        return self._collected().to_arrow()

    def to_df(self) -> Any:
        return self._collected().to_df()

    def __repr__(self) -> str:
        views = ", ".join(r.view.name for r in self._request.views)
        return f"TrainingJob(Spark entity rows, {len(self.feature_names)} features from {views})"

    def _repr_html_(self) -> str:
        return f"<div><b>TrainingJob</b> — Spark entity rows x {len(self.feature_names)} features</div>"


def spark_entity_job(
    spark: SparkSession,
    frame: DataFrame,
    request: FeatureRequest,
    timestamp_column: str | None,
    views: dict[str, DataFrame],
) -> SparkEntityTrainingJob:
    """Check a Spark entity frame against ``request`` (columns, key types, timestamp column) before any job."""
    from pyspark.sql.pandas.types import to_arrow_type

    from fsnb.errors import JoinKeyTypeError, MissingJoinKeyError
    from fsnb.offline.training import DEFAULT_TIMESTAMP, check_entity_columns

    columns = frame.columns
    types = {f.name: f.dataType for f in frame.schema.fields}
    ts_col = timestamp_column
    if ts_col is None:
        stamps = [c for c, t in types.items() if t.typeName() in ("timestamp", "timestamp_ntz", "date")]
        ts_col = DEFAULT_TIMESTAMP if DEFAULT_TIMESTAMP in columns or len(stamps) != 1 else stamps[0]
    check_entity_columns(columns, ts_col, request)
    for field in request.join_keys:
        if field.name not in columns:
            needing = [r.view.name for r in request.views if field.name in r.view.join_keys]
            raise MissingJoinKeyError(
                f"entity_df has no column {field.name!r}, the join key of {needing}; its columns are {columns}"
            )
        arrow_type = to_arrow_type(types[field.name])
        if not field.dtype.accepts_arrow(arrow_type):
            raise JoinKeyTypeError(
                f"entity_df column {field.name!r} is {arrow_type} but join key {field.name!r} is "
                f"{field.dtype.name}: convert the column"
            )
    return SparkEntityTrainingJob(spark, frame, request, ts_col, views)
