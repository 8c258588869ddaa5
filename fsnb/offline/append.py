"""Offline pushes: rows appended where a batch source's data lives, so the offline store reads them next time.

- Parquet folder or glob: a new file ``push-<time>-<id>.parquet`` beside the others (never touching them).
- One Parquet file: rewritten with the rows added (atomically; costs a full rewrite of that file).
- CSV: a new file in a folder/glob, else rows appended to the file.
- DuckDB table: ``INSERT ... BY NAME`` (in the offline store's database, or the source's database file).
- A DuckDB query cannot be appended to.
- A file source with no data yet (allowed for a PushSource) gets its first file: the path itself when it names a
  ``.parquet``/``.csv`` file, else a new file in that folder (or in the glob's folder).

Rows are cast to the source's real schema first; columns the source has but the rows lack are null.
"""

from __future__ import annotations

import fnmatch
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from fsnb.definitions import CsvSource, DataSource, DuckDBSource, ParquetSource
from fsnb.errors import DataValidationError, OfflineStoreError, RequestError

if TYPE_CHECKING:
    import pyarrow as pa

    from fsnb.offline.store import OfflineStore

__all__ = ["append_rows", "conform"]

_GLOB = frozenset("*?[")


def conform(table: pa.Table, schema: pa.Schema, source: DataSource) -> pa.Table:
    """``table`` with exactly ``schema``'s columns and types, or a DataValidationError naming the column."""
    import pyarrow as pa

    columns = []
    for field in schema:
        if field.name in table.column_names:
            col = table.column(field.name)
            if col.type != field.type:
                try:
                    col = col.cast(field.type)
                except (pa.ArrowException, NotImplementedError) as e:
                    raise DataValidationError(
                        f"column {field.name!r} is {col.type} but source {source.name!r} stores {field.type}: {e}"
                    ) from None
        else:
            col = pa.nulls(table.num_rows, field.type)
        columns.append(col)
    return pa.table(columns, schema=pa.schema([pa.field(f.name, f.type) for f in schema]))


def append_rows(offline: OfflineStore, source: DataSource, table: pa.Table) -> str:
    """Append ``table`` (already conformed) to ``source``'s data; returns where it went."""
    source = source.batch_source
    if isinstance(source, ParquetSource):
        return _append_file(offline, source, table)
    if isinstance(source, DuckDBSource):
        return _append_duckdb(offline, source, table)
    raise RequestError(f"source {source.name!r} of type {type(source).__name__} cannot take offline pushes")


def _new_name(ext: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"push-{stamp}-{uuid.uuid4().hex[:8]}.{ext}"


def _append_file(offline: OfflineStore, source: ParquetSource, table: pa.Table) -> str:
    if "://" in source.path:
        raise RequestError(f"source {source.name!r} reads remote files ({source.path}); offline push needs local files")
    ext = "csv" if isinstance(source, CsvSource) else "parquet"
    path = str(offline.config.resolve_path(source.path))
    if any(c in path for c in _GLOB):
        head = path
        while any(c in head for c in _GLOB):
            head = os.path.dirname(head)
        target = os.path.join(head, _new_name(ext))
        if not (fnmatch.fnmatch(target, path) or fnmatch.fnmatch(target, path.replace("**/", ""))):  # ** = 0+ dirs
            raise RequestError(
                f"source {source.name!r}: a new file in {head} would not match its glob {source.path!r}, so the "
                "offline store would not read pushed rows; use a folder or a glob like 'dir/*.parquet'"
            )
        os.makedirs(head, exist_ok=True)
        _write_new(target, table, ext)
        return target
    if not os.path.exists(path):  # the first push creates the data: the file itself, or a folder of files
        if path.lower().endswith(f".{ext}"):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            _write_new(path, table, ext)
            return path
        os.makedirs(path)
    if os.path.isdir(path):
        target = os.path.join(path, _new_name(ext))
        _write_new(target, table, ext)
        return target
    if ext == "csv":
        _append_csv(path, table)
    else:
        _rewrite_parquet(path, table)
    return path


def _write_new(target: str, table: pa.Table, ext: str) -> None:
    tmp = os.path.join(os.path.dirname(target), "." + os.path.basename(target) + ".tmp")
    try:
        if ext == "csv":
            import pyarrow.csv as pcsv

            pcsv.write_csv(table, tmp)
        else:
            import pyarrow.parquet as pq

            pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, target)  # readers never see a half-written file
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _rewrite_parquet(path: str, table: pa.Table) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    old = pq.read_table(path)
    try:
        merged = pa.concat_tables([old, table.cast(old.schema)])
    except (pa.ArrowException, ValueError) as e:
        raise DataValidationError(f"rows do not fit the schema of {path}: {e}") from None
    _write_new(path, merged, "parquet")


def _append_csv(path: str, table: pa.Table) -> None:
    import pyarrow.csv as pcsv

    last = b"\n"
    with open(path, "rb") as f:
        if f.seek(0, os.SEEK_END) > 0:
            f.seek(-1, os.SEEK_END)
            last = f.read(1)
    with open(path, "ab") as f:
        if last != b"\n":
            f.write(b"\n")
        pcsv.write_csv(table, f, write_options=pcsv.WriteOptions(include_header=False))


def _append_duckdb(offline: OfflineStore, source: DuckDBSource, table: pa.Table) -> str:
    from fsnb.offline.sources import _database_path
    from fsnb.offline.store import quote

    if source.table is None:
        raise RequestError(
            f"DuckDBSource {source.name!r} is a query; rows can only be pushed offline to a table or files"
        )
    target = ".".join(quote(p) for p in source.table.split("."))
    db = _database_path(source, offline.config)  # None: a table of the offline store's own database
    name = f"__fsnb_push_{uuid.uuid4().hex[:8]}"
    if db is None:
        offline.execute(
            f"INSERT INTO {target} BY NAME SELECT * FROM {name}",
            what=f"pushing to {source.table}",
            tables={name: table},
        )
        return source.table
    if not Path(db).exists():
        raise OfflineStoreError(f"DuckDBSource {source.name!r}: database file {db} does not exist")
    alias = f"__fsnb_push_db_{uuid.uuid4().hex[:8]}"
    q = quote
    with offline.cursor(f"pushing to {source.table} in {db}") as cur:
        cur.register(name, table)
        cur.execute(f"ATTACH '{db.replace(chr(39), chr(39) * 2)}' AS {q(alias)}")
        try:
            cur.execute(f"INSERT INTO {q(alias)}.{target} BY NAME SELECT * FROM {name}")
        finally:
            cur.execute(f"DETACH {q(alias)}")
    return f"{db}:{source.table}"
