"""File sources (Parquet, CSV) on local disk or object storage: the files they read, and offline appends to them.

Engine-neutral (plain filesystem and pyarrow); every engine reading files uses :func:`source_paths`, and
:func:`append_file` writes pushed rows where the engine will read them next time:

- Parquet folder or glob: a new file ``push-<time>-<id>.parquet`` beside the others (never touching them).
- One Parquet file: rewritten with the rows added (costs a full rewrite of that file).
- CSV: a new file in a folder/glob, else rows appended to the file.

Every file appears whole or not at all (written under a unique temporary name, then renamed), and writers of one
file (threads or processes) take turns on an exclusive lock (``flock`` on a hidden ``.<file>.lock`` beside it), so
concurrent pushes never lose rows and a failed push leaves the history as it was.
- A file source with no data yet (allowed for a PushSource) gets its first file: the path itself when it names a
  ``.parquet``/``.csv`` file, else a new file in that folder (or in the glob's folder).

:func:`conform` casts rows to a source's real schema first; columns the source has but the rows lack are null.
"""

from __future__ import annotations

import contextlib
import fnmatch
import glob
import logging
import os
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fsnb.definitions import CsvSource, DataSource, ParquetSource
from fsnb.errors import DataValidationError, OfflineStoreError, RequestError

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pyarrow as pa

    from fsnb.config import Config

__all__ = ["append_file", "check_source_columns", "conform", "has_files", "no_history_yet", "source_paths"]

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


def _is_remote(path: str) -> bool:
    return "://" in path


def source_paths(source: DataSource, config: Config) -> list[str]:
    """The files a Parquet/CSV source reads: absolute paths or globs, checked to exist.

    A directory means every file of the source's format under it (recursively). Raises
    :class:`~fsnb.errors.OfflineStoreError` when there is no file.
    """
    source = source.batch_source
    if not isinstance(source, ParquetSource):  # CsvSource subclasses ParquetSource
        raise OfflineStoreError(f"{type(source).__name__} {source.name!r} is not file-based")
    raw = source.path
    if _is_remote(raw):
        return [raw]
    path = str(config.resolve_path(raw))
    ext = "csv" if isinstance(source, CsvSource) else "parquet"
    where = f"{type(source).__name__} {source.name!r}: "
    shown = f"{raw!r}" + ("" if os.path.isabs(raw) else f" (resolved against {config.repo_path})")
    if any(c in path for c in _GLOB):
        if not glob.glob(path, recursive=True):
            raise OfflineStoreError(f"{where}no file matches {shown}; check the path or generate the data first")
        return [path]
    if os.path.isdir(path):
        pattern = os.path.join(path, "**", f"*.{ext}")
        if not glob.glob(pattern, recursive=True):
            raise OfflineStoreError(f"{where}folder {shown} holds no .{ext} files")
        return [pattern]
    if not os.path.exists(path):
        raise OfflineStoreError(f"{where}no file at {shown}; check the path or generate the data first")
    return [path]


def has_files(source: ParquetSource, config: Config) -> bool:
    """Whether ``source`` has any file to read yet."""
    try:
        source_paths(source, config)
    except OfflineStoreError:
        return False
    return True


def _new_name(ext: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"push-{stamp}-{uuid.uuid4().hex[:8]}.{ext}"


def append_file(config: Config, source: ParquetSource, table: pa.Table) -> str:
    """Append ``table`` (already conformed) to a file source's data; returns the file written."""
    if _is_remote(source.path):
        raise RequestError(f"source {source.name!r} reads remote files ({source.path}); offline push needs local files")
    ext = "csv" if isinstance(source, CsvSource) else "parquet"
    path = str(config.resolve_path(source.path))
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
    if not os.path.exists(path) and not path.lower().endswith(f".{ext}"):
        os.makedirs(path, exist_ok=True)  # the first push creates the data: a folder of files
    if os.path.isdir(path):
        target = os.path.join(path, _new_name(ext))
        _write_new(target, table, ext)
        return target
    with _locked(path):  # one writer at a time per file, across processes
        if not os.path.exists(path):  # the first push creates the file itself
            os.makedirs(os.path.dirname(path), exist_ok=True)
            _write_new(path, table, ext)
        elif ext == "csv":
            _append_csv(path, table)
        else:
            _rewrite_parquet(path, table)
    return path


@contextlib.contextmanager
def _locked(path: str) -> Iterator[None]:
    """Hold an exclusive lock on ``path``'s hidden lock file (``.<name>.lock`` beside it)."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock
        raise OfflineStoreError(
            f"appending to the single file {path} needs POSIX file locks, which this platform lacks: point the "
            "source at a folder (data/name/*.parquet); each push then adds a new file"
        ) from None

    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "." + os.path.basename(path) + ".lock"), "ab") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def _write_new(target: str, table: pa.Table, ext: str) -> None:
    tmp = os.path.join(os.path.dirname(target), f".{os.path.basename(target)}.{uuid.uuid4().hex}.tmp")
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
    with open(path, "r+b") as f:
        size = f.seek(0, os.SEEK_END)
        try:
            if last != b"\n":
                f.write(b"\n")
            pcsv.write_csv(table, f, write_options=pcsv.WriteOptions(include_header=False))
        except BaseException:
            f.truncate(size)  # a failed append leaves the file as it was
            raise


def no_history_yet(view: Any, config: Config) -> bool:
    """Whether ``view`` reads a PushSource whose Parquet history has no file yet (apply accepts that): its offline
    rows are none, and a warning says so."""
    from fsnb.definitions import PushSource

    source = view.source.batch_source
    if isinstance(view.source, PushSource) and isinstance(source, ParquetSource) and not has_files(source, config):
        logging.getLogger("fsnb.offline").warning(
            "feature view %r has no offline rows yet: its source has no files", view.name
        )
        return True
    return False


def check_source_columns(view: Any, features: Iterable[str], columns: Iterable[str]) -> None:
    """Raise OfflineStoreError naming ``view`` when its source lacks a join key, one of ``features`` or a
    timestamp column."""
    source = view.source.batch_source
    have = set(columns)
    needed = [*view.join_keys, *features, source.timestamp_field]
    if source.created_timestamp_column:
        needed.append(source.created_timestamp_column)
    missing = [c for c in needed if c not in have]
    if missing:
        raise OfflineStoreError(
            f"the source of feature view {view.name!r} ({source.name!r}) has no column(s) {missing}; it has "
            f"{sorted(have)}: fix the source or the view and run `fsnb apply`"
        )
