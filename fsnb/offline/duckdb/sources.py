"""Reading data sources in place with DuckDB: a FROM expression per source, and the source's Arrow schema.

``source_relation`` gives SQL the offline store splices after ``FROM`` (follow it with ``AS alias``);
``source_schema`` asks a short-lived in-memory DuckDB connection what columns a source really has.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from fsnb.definitions import CsvSource, DataSource, DuckDBSource, ParquetSource
from fsnb.errors import OfflineStoreError
from fsnb.offline.files import source_paths

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from fsnb.config import Config


__all__ = [
    "database_path",
    "in_offline_database",
    "quote_identifier",
    "quote_literal",
    "schema_connection",
    "source_relation",
    "source_schema",
]

def quote_literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def quote_identifier(name: str) -> str:
    """A SQL identifier, double-quoted."""
    return '"' + name.replace('"', '""') + '"'


def single_select(query: str, what: str) -> str:
    """``query`` when it is exactly one SELECT statement (it is spliced into other SQL as a subquery, so anything
    else could run extra statements, even during ``plan``); else an :class:`~fsnb.errors.OfflineStoreError`."""
    import duckdb

    try:
        statements = duckdb.extract_statements(query)
    except duckdb.Error as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise OfflineStoreError(f"{what}: its query is not one valid SQL statement ({first})") from None
    if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
        kinds = ", ".join(s.type.name for s in statements) or "nothing"
        raise OfflineStoreError(f"{what}: its query must be a single SELECT statement, got {kinds}")
    return query


def source_relation(source: DataSource, config: Config) -> str:
    """A DuckDB FROM expression reading ``source`` in place (a PushSource reads its batch source).

    - Parquet: ``read_parquet([...], union_by_name=true)``; CSV: ``read_csv_auto([...], union_by_name=true)``
    - DuckDB table in another database file: ``read_duckdb('file', table_name=..., schema_name=...)``
    - DuckDB table without ``database`` (or in the offline store's own file): the quoted table name, which the
      offline store's own connection resolves
    - SQL query: ``(query)``, once checked to be a single SELECT (:func:`single_select`)

    Raises :class:`~fsnb.errors.OfflineStoreError` when a file source has no file.
    """
    source = source.batch_source
    if isinstance(source, ParquetSource):
        paths = "[" + ", ".join(quote_literal(p) for p in source_paths(source, config)) + "]"
        fn = "read_csv_auto" if isinstance(source, CsvSource) else "read_parquet"
        return f"{fn}({paths}, union_by_name=true)"
    if isinstance(source, DuckDBSource):
        if source.query is not None:
            return f"({single_select(source.query, f'DuckDBSource {source.name!r}')})"
        assert source.table is not None
        schema, _, table = source.table.rpartition(".")
        db = database_path(source, config)
        if db is None:
            return ".".join(quote_identifier(p) for p in (schema, table) if p)
        if not os.path.exists(db):
            raise OfflineStoreError(
                f"DuckDBSource {source.name!r}: database file {db} does not exist; check database= in its definition"
            )
        args = f"{quote_literal(db)}, table_name={quote_literal(table)}"
        if schema:
            args += f", schema_name={quote_literal(schema)}"
        return f"read_duckdb({args})"
    raise OfflineStoreError(f"source {source.name!r} of type {type(source).__name__} cannot be read by DuckDB")


def in_offline_database(source: DataSource, config: Config) -> bool:
    """Whether ``source`` is a table of the offline store's own database (read through its connection)."""
    batch = source.batch_source
    return isinstance(batch, DuckDBSource) and batch.table is not None and database_path(batch, config) is None


def database_path(source: DuckDBSource, config: Config) -> str | None:
    """The other database file a DuckDB table lives in, or None for the offline store's own database."""
    if not source.database:
        return None
    db = str(config.resolve_path(source.database))
    own = config.offline_store.database
    if own and own != ":memory:" and os.path.realpath(str(config.resolve_path(own))) == os.path.realpath(db):
        return None
    return db


def schema_connection() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection for :func:`source_schema` calls (reuse one for many sources; close it)."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")  # timestamptz columns come back as timestamp[..., tz=UTC]
    return con


def source_schema(
    source: DataSource, config: Config, *, connection: duckdb.DuckDBPyConnection | None = None
) -> pa.Schema:
    """The Arrow schema of the rows ``source`` yields, read without loading data.

    ``connection`` (from :func:`schema_connection`) saves opening a DuckDB connection per call. Tables of the
    offline store's own database are read from its file (read-only); an in-memory offline store has no tables
    another connection can see, which is reported as an error.
    """
    import duckdb

    batch = source.batch_source
    rel = source_relation(batch, config)
    con = connection if connection is not None else schema_connection()
    try:
        if isinstance(batch, DuckDBSource) and batch.table is not None and database_path(batch, config) is None:
            own = config.offline_store.database
            if not own or own == ":memory:":
                raise OfflineStoreError(
                    f"DuckDBSource {batch.name!r}: table {batch.table!r} is in the offline store's database, "
                    "which is in memory; set offline_store.database in fsnb.yaml or give database= to the source"
                )
            path = str(config.resolve_path(own))
            if not os.path.exists(path):
                raise OfflineStoreError(
                    f"DuckDBSource {batch.name!r}: the offline store's database {path} does not exist yet"
                )
            con.execute(f"ATTACH IF NOT EXISTS {quote_literal(path)} AS fsnb_offline (READ_ONLY)")
            rel = f"fsnb_offline.{rel}"
        result = con.sql(f"SELECT * FROM {rel} AS src LIMIT 0").arrow()
        return result.schema
    except duckdb.Error as e:
        raise OfflineStoreError(
            f"{type(batch).__name__} {batch.name!r}: DuckDB could not read it: {str(e).splitlines()[0]}"
        ) from e
    finally:
        if connection is None:
            con.close()
