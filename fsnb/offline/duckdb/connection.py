"""The DuckDB database of one engine: opened on first use, one cursor per operation, errors translated.

Every operation runs on its own cursor of that database (cursors are cheap, and tables registered on one are
invisible to the others, so concurrent training-set requests cannot see each other's entity frames). DuckDB
errors are translated into :class:`~fsnb.errors.OfflineStoreError` in :func:`translate` only.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fsnb.errors import FsnbError, OfflineStoreError

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from fsnb.config import OfflineStoreConfig

__all__ = ["Database", "quote", "timestamp_sql", "translate"]


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


class Database:
    """The engine's DuckDB database: ``offline_store.database`` (a file), else in memory; opened on first use."""

    def __init__(self, config: OfflineStoreConfig) -> None:
        self._config = config
        self.path = config.database or ":memory:"
        self._con: duckdb.DuckDBPyConnection | None = None
        self._closed = False
        self._lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        return self._con is not None

    @property
    def in_memory(self) -> bool:
        return self.path == ":memory:"

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The database's connection, opened (file created) on first use."""
        if self._con is None:
            with self._lock:
                if self._closed:
                    raise OfflineStoreError("the offline store is closed; open a new Store")
                if self._con is None:
                    self._con = self._open()
        return self._con

    def _open(self) -> duckdb.DuckDBPyConnection:
        import duckdb

        options: dict[str, Any] = {}
        if self._config.threads:
            options["threads"] = self._config.threads
        if self._config.memory_limit:
            options["memory_limit"] = self._config.memory_limit
        if not self.in_memory:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        with translate(f"opening the DuckDB offline store {self.path!r}"):
            return duckdb.connect(self.path, config=options)

    @contextlib.contextmanager
    def cursor(self, what: str = "an offline query") -> Iterator[duckdb.DuckDBPyConnection]:
        """A fresh cursor of the store's database, in UTC, closed afterwards; errors translated."""
        with translate(what):
            cur = self.connection.cursor()
            try:
                cur.execute("SET TimeZone = 'UTC'")
                yield cur
            finally:
                cur.close()

    def columns(self, from_expr: str, what: str = "reading a source's schema") -> dict[str, str]:
        """Column name → DuckDB type name of ``from_expr``."""
        with self.cursor(what) as cur:
            rows = cur.execute(f"DESCRIBE SELECT * FROM {from_expr}").fetchall()
        return {r[0]: r[1] for r in rows}

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
        """Close the DuckDB connection (and every cursor of it); the database cannot be reopened."""
        with self._lock:
            self._closed = True
            if self._con is not None:
                with contextlib.suppress(Exception):
                    self._con.close()
                self._con = None
