"""``SparkEngine``: the offline engine contract on Spark, reading sources where they are.

The Spark code is in :mod:`.session` (the session and error translation), :mod:`.sources` (a DataFrame per
source), :mod:`.pit` (point-in-time joins), :mod:`.pull` (latest rows, distinct keys), :mod:`.training` (the
training job's exits) and :mod:`.partitions` (running a writer on every partition, for materialization).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Generator, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from fsnb._time import utc_naive
from fsnb.definitions import DuckDBSource, ParquetSource, PushSource
from fsnb.errors import OfflineStoreError, RequestError
from fsnb.offline.base import BATCH_ROWS, OfflineEngine, ViewWindow
from fsnb.offline.files import append_file, check_source_columns, has_files, no_history_yet
from fsnb.offline.spark.pit import CREATED, EVENT, q
from fsnb.offline.spark.session import engine_session, translate

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

    from fsnb.config import Config
    from fsnb.definitions import DataSource, FeatureView
    from fsnb.offline.training import EntityFrame, TrainingJob
    from fsnb.requests import FeatureRequest

__all__ = ["PartitionWriter", "SparkEngine"]

log = logging.getLogger("fsnb.offline")

#: a writer run on each partition of a frame (on the executors): takes its Arrow batches, returns rows written.
PartitionWriter = Callable[[Iterable["pa.RecordBatch"]], int]


class SparkEngine(OfflineEngine):
    """Spark over the project's sources: ``offline_store: {type: spark, master, conf}``, or ``Store(spark=session)``.

    The session starts on first use. Materialization runs where the data is: :meth:`write_latest_rows` and
    :meth:`write_distinct_keys` hand each partition to a writer on the executors, and the driver sees only counts.
    """

    name: ClassVar[str] = "spark"

    def __init__(self, config: Config, spark: SparkSession | None = None) -> None:
        super().__init__(config)
        self._given = spark
        self._session: SparkSession | None = None
        self._closed = False
        self._lock = threading.Lock()

    @property
    def spark(self) -> SparkSession:
        """The engine's session (its own ``newSession()`` of the shared context, in UTC), started on first use."""
        if self._session is None:
            with self._lock:
                if self._closed:
                    raise OfflineStoreError("the offline store is closed; open a new Store")
                if self._session is None:
                    self._session = engine_session(self.config.offline_store, self._given)
        if self._closed:
            raise OfflineStoreError("the offline store is closed; open a new Store")
        return self._session

    def _master(self) -> str:
        if self._session is not None:
            return str(self._session.sparkContext.master)
        if self._given is not None:
            return str(self._given.sparkContext.master)
        return self.config.offline_store.master or "local[*]"

    def describe(self) -> str:
        return f"spark {self._master()}"

    def check(self) -> str:
        import pyspark

        with translate("checking the Spark offline store"):
            spark = self.spark
            spark.range(1).count()
            cores = spark.sparkContext.defaultParallelism
            java = spark.sparkContext._jvm.System.getProperty("java.version")  # type: ignore[union-attr]
        return f"spark {pyspark.__version__} (java {java}) · {self._master()} · {cores} cores"

    # ------------------------------------------------------------------------------------------- sources

    def schema(self, source: DataSource) -> pa.Schema | None:
        from fsnb.offline.spark.sources import arrow_schema, source_frame

        batch = source.batch_source
        if isinstance(source, PushSource) and isinstance(batch, ParquetSource) and not has_files(batch, self.config):
            return None
        with translate(f"reading the schema of {batch.name!r}"):
            return arrow_schema(source_frame(self.spark, batch, self.config).schema)

    def _view_rows(self, view: FeatureView, features: Iterable[str]) -> DataFrame:
        """``view``'s rows as join keys, ``__fsnb_event`` and ``__fsnb_created`` (µs, UTC) and ``features``,
        checked to have every column (:class:`~fsnb.errors.OfflineStoreError` naming the view and what is missing)."""
        from pyspark.sql import functions as F

        from fsnb.offline.spark.sources import event_micros, source_frame

        source = view.source.batch_source
        features = list(features)
        with translate(f"reading the source of feature view {view.name!r}"):
            if no_history_yet(view, self.config):  # a PushSource before its first offline push
                return self._no_rows_yet(view, features)
            frame = source_frame(self.spark, source, self.config)
            types = {f.name: f.dataType for f in frame.schema.fields}
            check_source_columns(view, features, types)
            created = source.created_timestamp_column
            return frame.select(
                *(F.col(q(k)) for k in view.join_keys),
                event_micros(source.timestamp_field, types[source.timestamp_field]).alias(EVENT),
                (event_micros(created, types[created]) if created else F.lit(None).cast("long")).alias(CREATED),
                *(F.col(q(f)) for f in features),
            )

    def _no_rows_yet(self, view: FeatureView, features: list[str]) -> DataFrame:
        import pyarrow as pa
        from pyspark.sql.pandas.types import from_arrow_schema

        by_name = {f.name: f for f in view.schema}
        fields = [(k, by_name[k].dtype.to_arrow()) for k in view.join_keys]
        fields += [(EVENT, pa.int64()), (CREATED, pa.int64())]
        fields += [(f, by_name[f].dtype.to_arrow()) for f in features]
        return self.spark.createDataFrame([], from_arrow_schema(pa.schema(fields)))

    # --------------------------------------------------------------------------------------- training sets

    def query(self, sql: str) -> pa.Table:
        with translate("running the entity query"):
            return _utc(self.spark.sql(sql).toArrow())

    def training_set(
        self, entity_df: Any, request: FeatureRequest, *, timestamp_column: str | None = None
    ) -> TrainingJob:
        """As :meth:`OfflineEngine.training_set`; ``entity_df`` may also be a Spark DataFrame or a Spark SQL query,
        whose rows then stay in the cluster (``to_spark()``, ``to_parquet(path)``)."""
        from fsnb.offline.spark.training import is_spark_frame, spark_entity_job

        if isinstance(entity_df, str) or is_spark_frame(entity_df):
            with translate("reading the entity rows"):
                frame = self.spark.sql(entity_df) if isinstance(entity_df, str) else entity_df
            views = {r.view.name: self._view_rows(r.view, [f.name for f in r.fields]) for r in request.views}
            return spark_entity_job(self.spark, frame, request, timestamp_column, views)
        return super().training_set(entity_df, request, timestamp_column=timestamp_column)

    def point_in_time(self, entity: EntityFrame, request: FeatureRequest) -> TrainingJob:
        from fsnb.offline.spark.training import spark_training_job

        frames = {r.view.name: self._view_rows(r.view, [f.name for f in r.fields]) for r in request.views}
        return spark_training_job(self.spark, entity, request, frames)

    # ------------------------------------------------------------------------------------ materialization

    def latest_frame(self, view: FeatureView, start: datetime | None, end: datetime | None) -> DataFrame:
        """The latest row per entity of ``view`` in ``[start, end]``, as a Spark frame (see :meth:`latest_rows`)."""
        from fsnb.offline.spark.pull import latest_rows_frame

        rows = self._view_rows(view, view.feature_names)
        return latest_rows_frame(view, rows, _micros(start), _micros(end))

    def latest_rows(
        self, view: FeatureView, start: datetime | None, end: datetime | None, *, batch_size: int = BATCH_ROWS
    ) -> Generator[pa.RecordBatch, None, None]:
        with translate(f"reading the latest rows of {view.name!r}"):
            table = _utc(self.latest_frame(view, start, end).toArrow())
        yield from table.to_batches(max_chunksize=batch_size)

    def min_event_time(self, view: FeatureView) -> datetime | None:
        from pyspark.sql import functions as F

        with translate(f"reading the first event time of {view.name!r}"):
            first = self._view_rows(view, ()).agg(F.min(EVENT)).first()
        value = first[0] if first is not None else None
        return None if value is None else datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(value))

    def keys_frame(self, windows: Sequence[ViewWindow], limit: int | None = None) -> DataFrame:
        """The distinct join-key tuples with a row in any of ``windows``, as a Spark frame."""
        from fsnb.offline.spark.pull import distinct_keys_frame, in_window

        if not windows:
            raise RequestError("distinct_keys needs at least one view window")
        join_keys = windows[0].view.join_keys
        other = sorted({w.view.name for w in windows if set(w.view.join_keys) != set(join_keys)})
        if other:
            raise RequestError(f"views {other} do not have the join keys {list(join_keys)} of {windows[0].view.name!r}")
        frames = [in_window(self._view_rows(w.view, ()), _micros(w.start), _micros(w.end)) for w in windows]
        return distinct_keys_frame(join_keys, frames, limit)

    def distinct_keys(
        self, windows: Sequence[ViewWindow], *, limit: int | None = None, batch_size: int = BATCH_ROWS
    ) -> Generator[pa.RecordBatch, None, None]:
        names = ", ".join(sorted({w.view.name for w in windows}))
        with translate(f"listing the entities of {names}"):
            table = self.keys_frame(windows, limit).toArrow()
        yield from table.to_batches(max_chunksize=batch_size)

    def write_latest_rows(
        self,
        view: FeatureView,
        start: datetime | None,
        end: datetime | None,
        writer: PartitionWriter,
        *,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Run ``writer`` on every partition of ``view``'s latest rows, on the executors; returns the rows written.

        The driver receives one count per partition, never the rows. Raises
        :class:`~fsnb.errors.MaterializationError` when any partition failed (or the job was cancelled).
        """
        from fsnb.offline.spark.partitions import run_on_partitions

        with translate(f"reading the latest rows of {view.name!r}"):
            frame = self.latest_frame(view, start, end)
        return run_on_partitions(frame, writer, what=f"materializing {view.name!r}", progress=progress)

    def write_distinct_keys(
        self,
        windows: Sequence[ViewWindow],
        writer: PartitionWriter,
        *,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Run ``writer`` on every partition of the distinct keys of ``windows`` (see :meth:`write_latest_rows`)."""
        from fsnb.offline.spark.partitions import run_on_partitions

        names = ", ".join(sorted({w.view.name for w in windows}))
        with translate(f"listing the entities of {names}"):
            frame = self.keys_frame(windows)
        return run_on_partitions(frame, writer, what=f"refreshing the vectors of {names}", progress=progress)

    # ------------------------------------------------------------------------------------------ appends

    def append(self, source: DataSource, table: pa.Table) -> str:
        batch = source.batch_source
        if isinstance(batch, ParquetSource) and "://" not in batch.path:
            return append_file(self.config, batch, table)
        with translate(f"appending to {batch.name!r}"):
            frame = self.spark.createDataFrame(table)
            if isinstance(batch, ParquetSource):  # object storage or HDFS: new files written by Spark
                writer = frame.write.mode("append")
                if batch.source_type == "csv":
                    writer.option("header", "true").csv(batch.path)
                else:
                    writer.parquet(batch.path)
                return batch.path
            if isinstance(batch, DuckDBSource) and batch.table is not None and not batch.database:
                columns = self.spark.table(batch.table).columns
                frame.select(*(q(c) for c in columns)).write.insertInto(batch.table)
                return batch.table
        raise RequestError(
            f"source {batch.name!r} of type {type(batch).__name__} cannot take offline pushes on Spark "
            "(a query cannot be appended to)"
        )

    def close(self) -> None:
        """Forget the engine's session; the process's Spark context stays up for other engines."""
        with self._lock:
            self._closed = True
            self._session = None


def _micros(value: datetime | None) -> int | None:
    """A datetime (naive = UTC) as µs since the epoch."""
    if value is None:
        return None
    delta = utc_naive(value) - datetime(1970, 1, 1)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _utc(table: pa.Table) -> pa.Table:
    """``table`` with every timestamp column as ``timestamp[us, UTC]``."""
    import pyarrow as pa

    target = pa.timestamp("us", tz="UTC")
    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type) and field.type != target:
            col = table.column(i)
            if field.type.tz is None:  # Spark's session times are UTC
                col = col.cast(pa.timestamp("us")).cast(target)
            else:
                col = col.cast(target)
            table = table.set_column(i, field.name, col)
    return table
