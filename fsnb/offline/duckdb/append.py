"""Offline pushes to a DuckDB table: ``INSERT ... BY NAME``, in the engine's database or the source's own file.

A DuckDB query cannot be appended to.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from fsnb.errors import OfflineStoreError, RequestError
from fsnb.offline.duckdb.connection import quote
from fsnb.offline.duckdb.sources import database_path, quote_literal

if TYPE_CHECKING:
    import pyarrow as pa

    from fsnb.config import Config
    from fsnb.definitions import DuckDBSource
    from fsnb.offline.duckdb.connection import Database

__all__ = ["append_table"]


def append_table(db: Database, config: Config, source: DuckDBSource, table: pa.Table) -> str:
    """Insert ``table`` (already conformed) into ``source``'s table; returns where the rows went."""
    if source.table is None:
        raise RequestError(
            f"DuckDBSource {source.name!r} is a query; rows can only be pushed offline to a table or files"
        )
    target = ".".join(quote(p) for p in source.table.split("."))
    other = database_path(source, config)  # None: a table of the engine's own database
    name = f"__fsnb_push_{uuid.uuid4().hex[:8]}"
    if other is None:
        sql = f"INSERT INTO {target} BY NAME SELECT * FROM {name}"
        db.execute(sql, what=f"pushing to {source.table}", tables={name: table})
        return source.table
    if not Path(other).exists():
        raise OfflineStoreError(f"DuckDBSource {source.name!r}: database file {other} does not exist")
    alias = quote(f"__fsnb_push_db_{uuid.uuid4().hex[:8]}")
    with db.cursor(f"pushing to {source.table} in {other}") as cur:
        cur.register(name, table)
        cur.execute(f"ATTACH {quote_literal(other)} AS {alias}")
        try:
            cur.execute(f"INSERT INTO {alias}.{target} BY NAME SELECT * FROM {name}")
        finally:
            cur.execute(f"DETACH {alias}")
    return f"{other}:{source.table}"
