"""The DuckDB offline store: one DuckDB database per ``Store``, reading sources in place.

Every operation runs on its own cursor of that database (cursors are cheap, and tables registered on one are
invisible to the others, so concurrent training-set requests cannot see each other's entity frames). DuckDB
errors are translated into :class:`~fsnb.errors.OfflineStoreError` in :meth:`OfflineStore.translate` only.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Generator, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fsnb.errors import FsnbError, OfflineStoreError

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from fsnb.config import Config
    from fsnb.definitions import DataSource, FeatureView

__all__ = ["OfflineStore", "quote", "timestamp_sql"]

log = logging.getLogger("fsnb.offline")


def quote(name: str) -> str:
    """``name`` as a DuckDB identifier."""
    return '"' + name.replace('"', '""') + '"'


_INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT",
                  "HUGEINT"}


def timestamp_sql(expr: str, duck_type: str) -> str:
    """SQL turning column ``expr`` of ``duck_type`` into a naive UTC ``TIMESTAMP`` (naive input is UTC).

    Handles TIMESTAMP (any precision), TIMESTAMPTZ, DATE, integer epoch seconds and ISO text.
    """
    t = duck_type.upper()
    if t == "TIMESTAMP WITH TIME ZONE":
        return f"timezone('UTC', {expr})"
    if t.startswith("TIMESTAMP") or t == "DATE":
        return f"CAST({expr} AS TIMESTAMP)"
    if t in _INTEGER_TYPES:
        return f"timezone('UTC', to_timestamp({expr}))"
    return f"timezone('UTC', CAST({expr} AS TIMESTAMPTZ))"


class OfflineStore:
    """DuckDB over the project's sources: file-backed when ``offline_store.database`` is set, else in-memory."""

    def __init__(self, config: Config) -> None:
        import duckdb

        self.config = config
        cfg = config.offline_store
        options: dict[str, Any] = {}
        if cfg.threads:
            options["threads"] = cfg.threads
        if cfg.memory_limit:
            options["memory_limit"] = cfg.memory_limit
        database = cfg.database or ":memory:"
        if database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        with self.translate(f"opening the DuckDB offline store {database!r}"):
            self._con: duckdb.DuckDBPyConnection | None = duckdb.connect(database, config=options)

    # ------------------------------------------------------------------------------------------- plumbing

    @staticmethod
    @contextlib.contextmanager
    def translate(what: str) -> Iterator[None]:
        """Run a block, turning DuckDB (and pyarrow) errors into ``OfflineStoreError`` that says ``what`` failed."""
        import duckdb

        try:
            yield
        except FsnbError:
            raise
        except duckdb.Error as e:
            raise OfflineStoreError(f"{what} failed in DuckDB: {e}") from e
        except (OSError, ValueError, TypeError) as e:
            if type(e).__module__.startswith(("pyarrow", "duckdb", "_duckdb")):
                raise OfflineStoreError(f"{what} failed: {e}") from e
            raise

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            raise OfflineStoreError("the offline store is closed; open a new Store")
        return self._con

    @contextlib.contextmanager
    def cursor(self, what: str = "an offline query") -> Iterator[duckdb.DuckDBPyConnection]:
        """A fresh cursor of the store's database, in UTC, closed afterwards; errors translated."""
        with self.translate(what):
            cur = self.connection.cursor()
            try:
                cur.execute("SET TimeZone = 'UTC'")
                yield cur
            finally:
                cur.close()

    # -------------------------------------------------------------------------------------------- sources

    def relation(self, source: DataSource) -> str:
        """A DuckDB FROM expression reading ``source`` (its batch source, for a PushSource) in place."""
        from fsnb.offline.sources import source_relation

        return source_relation(source.batch_source, self.config)

    def view_source(
        self, view: FeatureView, features: Iterable[str], *, error: type[FsnbError] = OfflineStoreError
    ) -> tuple[str, dict[str, str]]:
        """``view``'s FROM expression and its column types, checked to hold the join keys, ``features`` and the
        timestamp columns; ``error`` (naming the view and the missing columns) otherwise."""
        from fsnb.definitions import ParquetSource, PushSource

        try:
            relation = self.relation(view.source)
        except OfflineStoreError as e:
            if not (isinstance(view.source, PushSource) and isinstance(view.source.batch_source, ParquetSource)):
                raise
            # a PushSource before its first offline push (apply accepts that): no history yet
            log.warning("feature view %r has no offline rows yet: %s", view.name, e)
            relation = self._no_rows_yet(view)
        types = self.columns(relation, f"reading the source of feature view {view.name!r}")
        source = view.source.batch_source
        needed = [*view.join_keys, *features, source.timestamp_field]
        if source.created_timestamp_column:
            needed.append(source.created_timestamp_column)
        missing = [c for c in needed if c not in types]
        if missing:
            raise error(
                f"the source of feature view {view.name!r} ({source.name!r}) has no column(s) {missing}; it has "
                f"{sorted(types)}: fix the source or the view and run `fsnb apply`"
            )
        return relation, types

    def _no_rows_yet(self, view: FeatureView) -> str:
        """A FROM expression with ``view``'s declared columns (typed as DuckDB reads their Arrow types), no rows."""
        import pyarrow as pa

        source = view.source.batch_source
        ts = pa.timestamp("us", tz="UTC")
        fields = [(f.name, f.dtype.to_arrow()) for f in view.schema] + [(source.timestamp_field, ts)]
        if source.created_timestamp_column:
            fields.append((source.created_timestamp_column, ts))
        with self.cursor(f"typing the columns of feature view {view.name!r}") as cur:
            cur.register("__fsnb_declared", pa.schema(fields).empty_table())
            rows = cur.execute("DESCRIBE __fsnb_declared").fetchall()
        return "(SELECT " + ", ".join(f"CAST(NULL AS {r[1]}) AS {quote(r[0])}" for r in rows) + " WHERE false)"

    def columns(self, from_expr: str, what: str = "reading a source's schema") -> dict[str, str]:
        """Column name → DuckDB type name of ``from_expr``."""
        with self.cursor(what) as cur:
            rows = cur.execute(f"DESCRIBE SELECT * FROM {from_expr}").fetchall()
        return {r[0]: r[1] for r in rows}

    # ---------------------------------------------------------------------------------------------- queries

    def fetch_arrow(
        self, sql: str, *, what: str = "an offline query", tables: dict[str, Any] | None = None
    ) -> pa.Table:
        """Run ``sql`` (with ``tables`` registered by name on its cursor) and return the whole result."""
        with self.cursor(what) as cur:
            for name, table in (tables or {}).items():
                cur.register(name, table)
            return cur.sql(sql).to_arrow_table()

    def stream(
        self, sql: str, *, batch_size: int, what: str = "an offline query", tables: dict[str, Any] | None = None
    ) -> Generator[pa.RecordBatch, None, None]:
        """Run ``sql`` and yield its result as Arrow record batches of at most ``batch_size`` rows."""
        with self.cursor(what) as cur:
            for name, table in (tables or {}).items():
                cur.register(name, table)
            reader = cur.sql(sql).to_arrow_reader(batch_size)
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    return
                if batch.num_rows:
                    yield batch

    def execute(self, sql: str, *, what: str = "an offline statement", tables: dict[str, Any] | None = None) -> None:
        """Run a statement for its effect (``INSERT``, ``CREATE``...)."""
        with self.cursor(what) as cur:
            for name, table in (tables or {}).items():
                cur.register(name, table)
            cur.execute(sql)

    def close(self) -> None:
        """Close the DuckDB connection (and every cursor of it)."""
        if self._con is not None:
            with contextlib.suppress(Exception):
                self._con.close()
            self._con = None

    def __repr__(self) -> str:
        return f"OfflineStore(duckdb:{self.config.offline_store.database or ':memory:'})"
