"""``DuckDBEngine``: the offline engine contract over one DuckDB database, reading sources in place.

The SQL itself is in :mod:`.sources` (a FROM expression per source), :mod:`.pit` (point-in-time joins),
:mod:`.pull` (latest rows, distinct keys) and :mod:`.append` (``INSERT`` into DuckDB tables).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Generator, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from fsnb._time import to_utc, utc_naive
from fsnb.definitions import DuckDBSource, ParquetSource, PushSource
from fsnb.errors import RequestError
from fsnb.offline.base import BATCH_ROWS, OfflineEngine, ViewWindow
from fsnb.offline.duckdb.connection import Database, quote, timestamp_sql, translate
from fsnb.offline.files import append_file, check_source_columns, has_files, no_history_yet

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from fsnb.config import Config
    from fsnb.definitions import DataSource, FeatureView
    from fsnb.offline.training import EntityFrame, TrainingJob
    from fsnb.requests import FeatureRequest

__all__ = ["DuckDBEngine"]

log = logging.getLogger("fsnb.offline")


class DuckDBEngine(OfflineEngine):
    """DuckDB over the project's sources: file-backed when ``offline_store.database`` is set, else in memory."""

    name: ClassVar[str] = "duckdb"

    def __init__(self, config: Config) -> None:
        super().__init__(config)
        self.db = Database(config.offline_store)

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The engine's DuckDB connection (opened on first use), e.g. to create tables a DuckDBSource reads."""
        return self.db.connection

    def describe(self) -> str:
        return f"duckdb {'(in-memory)' if self.db.in_memory else self.db.path}"

    def check(self) -> str:
        import duckdb

        path = self.db.path
        if self.db.is_open or self.db.in_memory:
            with self.db.cursor("checking the offline store") as cur:
                cur.execute("SELECT 1").fetchone()
            where = "in memory" if self.db.in_memory else path
        else:  # a short-lived read-only connection: another process may hold the database file
            exists = os.path.exists(path)
            with translate(f"opening the DuckDB offline store {path!r}"):
                con = duckdb.connect(path, read_only=True) if exists else duckdb.connect()
                try:
                    con.execute("SELECT 1").fetchone()
                finally:
                    con.close()
            where = path if exists else f"{path} (not created yet)"
        return f"duckdb {duckdb.__version__} · {where}"

    # ------------------------------------------------------------------------------------------- sources

    def schema(self, source: DataSource) -> pa.Schema | None:
        from fsnb.offline.duckdb.sources import in_offline_database, source_relation, source_schema

        batch = source.batch_source
        if isinstance(source, PushSource) and isinstance(batch, ParquetSource) and not has_files(batch, self.config):
            return None
        if in_offline_database(batch, self.config) and (self.db.is_open or self.db.in_memory):
            rel = source_relation(batch, self.config)
            with self.db.cursor(f"reading the schema of {batch.name!r}") as cur:
                return cur.sql(f"SELECT * FROM {rel} AS src LIMIT 0").to_arrow_table().schema
        return source_schema(batch, self.config)  # a short-lived connection: no lock on the database file

    def _view_source(self, view: FeatureView, features: Iterable[str]) -> tuple[str, dict[str, str]]:
        """``view``'s FROM expression and column types, checked to hold the join keys, ``features`` and the
        timestamp columns (:class:`~fsnb.errors.OfflineStoreError` naming the view and the missing columns)."""
        from fsnb.offline.duckdb.sources import source_relation

        if no_history_yet(view, self.config):  # a PushSource before its first offline push
            relation = self._no_rows_yet(view)
        else:
            relation = source_relation(view.source.batch_source, self.config)
        types = self.db.columns(relation, f"reading the source of feature view {view.name!r}")
        check_source_columns(view, features, types)
        return relation, types

    def _no_rows_yet(self, view: FeatureView) -> str:
        """A FROM expression with ``view``'s declared columns (typed as DuckDB reads their Arrow types), no rows."""
        import pyarrow as pa

        source = view.source.batch_source
        ts = pa.timestamp("us", tz="UTC")
        fields = [(f.name, f.dtype.to_arrow()) for f in view.schema] + [(source.timestamp_field, ts)]
        if source.created_timestamp_column:
            fields.append((source.created_timestamp_column, ts))
        with self.db.cursor(f"typing the columns of feature view {view.name!r}") as cur:
            cur.register("__fsnb_declared", pa.schema(fields).empty_table())
            rows = cur.execute("DESCRIBE __fsnb_declared").fetchall()
        return "(SELECT " + ", ".join(f"CAST(NULL AS {r[1]}) AS {quote(r[0])}" for r in rows) + " WHERE false)"

    # --------------------------------------------------------------------------------------- training sets

    def query(self, sql: str) -> pa.Table:
        from fsnb.offline.duckdb.sources import single_select

        return self.db.fetch_arrow(single_select(sql, "entity_df"), what="running the entity query")

    def point_in_time(self, entity: EntityFrame, request: FeatureRequest) -> TrainingJob:
        import pyarrow as pa

        from fsnb.offline.duckdb.pit import ENTITY_TABLE, ViewSource, point_in_time_queries
        from fsnb.offline.training import TrainingJob

        keys, ts_col = entity.keys, entity.timestamp_column
        with self.db.cursor("reading the entity frame") as cur:
            cur.register(ENTITY_TABLE, keys)
            ts_type = {r[0]: r[1] for r in cur.execute(f"DESCRIBE {ENTITY_TABLE}").fetchall()}[ts_col]
            t_min, t_max = cur.execute(
                f"SELECT min(t), max(t) FROM (SELECT {timestamp_sql(quote(ts_col), ts_type)} AS t FROM {ENTITY_TABLE})"
            ).fetchone()  # type: ignore[misc]
        views = [ViewSource(r, *self._view_source(r.view, (f.name for f in r.fields))) for r in request.views]
        queries = point_in_time_queries(
            entity_timestamp=ts_col, entity_timestamp_type=ts_type, views=views, t_min=t_min, t_max=t_max
        )

        def compute() -> pa.Table:
            columns: dict[str, pa.ChunkedArray] = {}
            for req, sql in zip(request.views, queries):
                table = self.db.fetch_arrow(
                    sql, what=f"joining feature view {req.view.name!r}", tables={ENTITY_TABLE: keys}
                )
                for name in req.output_names:
                    columns[name] = table.column(name)
            return pa.table(columns)

        return TrainingJob(entity, request, compute, queries=queries)

    # ------------------------------------------------------------------------------------------ pulls

    def latest_rows(
        self, view: FeatureView, start: datetime | None, end: datetime | None, *, batch_size: int = BATCH_ROWS
    ) -> Generator[pa.RecordBatch, None, None]:
        from fsnb.offline.duckdb.pull import latest_rows_sql

        relation, types = self._view_source(view, view.feature_names)
        sql = latest_rows_sql(view, relation, types, _naive(start), _naive(end))
        return self.db.stream(sql, batch_size=batch_size, what=f"materializing {view.name!r}")

    def min_event_time(self, view: FeatureView) -> datetime | None:
        relation, types = self._view_source(view, ())
        ts_col = view.source.batch_source.timestamp_field
        ts = timestamp_sql(quote(ts_col), types[ts_col])
        table = self.db.fetch_arrow(f"SELECT min({ts}) AS t FROM {relation}", what=f"scanning {view.name!r}")
        value = table.column(0)[0].as_py()
        return to_utc(value) if value is not None else None

    def distinct_keys(
        self, windows: Sequence[ViewWindow], *, limit: int | None = None, batch_size: int = BATCH_ROWS
    ) -> Generator[pa.RecordBatch, None, None]:
        from fsnb.offline.duckdb.pull import distinct_keys_sql

        if not windows:
            raise RequestError("distinct_keys needs at least one view")
        join_keys = windows[0].view.join_keys
        other = [w.view.name for w in windows if w.view.join_keys != join_keys]
        if other:
            raise RequestError(f"views {other} do not have the join keys {list(join_keys)} of {windows[0].view.name!r}")
        parts = [(w.view, *self._view_source(w.view, ()), _naive(w.start), _naive(w.end)) for w in windows]
        sql = distinct_keys_sql(join_keys, parts, limit)
        names = ", ".join(sorted({w.view.name for w in windows}))
        return self.db.stream(sql, batch_size=batch_size, what=f"listing the entities of {names}")

    # ------------------------------------------------------------------------------------------ appends

    def append(self, source: DataSource, table: pa.Table) -> str:
        from fsnb.offline.duckdb.append import append_table

        batch = source.batch_source
        if isinstance(batch, ParquetSource):
            return append_file(self.config, batch, table)
        if isinstance(batch, DuckDBSource):
            return append_table(self.db, self.config, batch, table)
        raise RequestError(f"source {batch.name!r} of type {type(batch).__name__} cannot take offline pushes")

    def close(self) -> None:
        self.db.close()


def _naive(value: datetime | None) -> datetime | None:
    return utc_naive(value) if value is not None else None
