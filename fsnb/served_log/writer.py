"""``ServedLogWriter``: served reads queued on the request path, written as Parquet by a background thread.

The request path only appends one tuple of already-computed objects to a bounded deque (a full queue drops the
record and counts it: a read never waits for the log). Every ``flush_interval`` seconds the writer's thread takes
what is queued, groups it by service and date, builds one Arrow table per group and writes it as one Parquet file
(written under a temporary name, then renamed: readers never see half a file). Closing flushes; so does the
process's exit (``atexit``) and :func:`close_all` (called by the server's worker-exit hook). A forked child starts
with an empty queue and its own thread.
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import itertools
import logging
import math
import os
import random
import secrets
import shutil
import threading
import time
import weakref
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fsnb.served_log import STATUS_SUFFIX, TS_SUFFIX
from fsnb.served_log.layout import log_root, target_name

if TYPE_CHECKING:
    import pyarrow as pa

    from fsnb.config import ServedLogConfig

__all__ = ["ServedLogWriter", "close_all", "open_writer"]

log = logging.getLogger("fsnb.served_log")

#: records converted to Arrow at once, off the response path.
BATCH = 64
#: seconds between two retention sweeps of one writer.
RETENTION_EVERY = 600.0

_WRITERS: weakref.WeakSet[ServedLogWriter] = weakref.WeakSet()


class _Layout:
    """How one request shape's response columns map to log columns (resolved once per shape and registry)."""

    __slots__ = ("name", "features", "types", "hidden", "key_types", "view_columns")

    def __init__(self, name: str, features: list[str], types: list[Any], hidden: list[bool],
                 key_types: dict[str, Any], views: list[str]) -> None:
        self.name = name
        self.features = features
        self.types = types
        self.hidden = hidden
        self.key_types = key_types
        #: view → the index (among the features) of its first column
        self.view_columns: dict[str, int] = {}
        for j, view in enumerate(views):
            self.view_columns.setdefault(view, j)


class ServedLogWriter:
    """Logs served reads of one process. ``record(...)`` is the request-path call.

    Every :data:`BATCH` records are converted to an Arrow table right after the response went out (scheduled on
    the running event loop, or inline for direct reads): records die young, which keeps the garbage collector's
    work flat. A background thread writes the tables every ``flush_interval`` seconds.
    ``snapshot`` gives the registry snapshot (to name columns and find sensitive views); ``on_drop`` /
    ``on_write`` are called with a record count (the server's metrics).
    """

    def __init__(self, config: ServedLogConfig, root: Path, snapshot: Callable[[], Any], *,
                 on_drop: Callable[[int], None] | None = None,
                 on_write: Callable[[int], None] | None = None) -> None:
        self.config = config
        self.root = Path(root)
        self.snapshot = snapshot
        self.on_drop = on_drop
        self.on_write = on_write
        self.rate = config.sample_rate
        self.capacity = config.max_queue
        #: records dropped because the queue was full (or a write failed), and records written.
        self.dropped = 0
        self.written = 0
        self._lock = threading.Lock()  # one write at a time
        self._layouts: dict[Any, _Layout] = {}
        self._closed = False
        self._reset()
        _WRITERS.add(self)
        import pyarrow.parquet  # noqa: F401 - now, not in a flush at interpreter exit (imports register atexit)

    def _reset(self) -> None:
        self._queue: collections.deque[tuple[Any, ...]] = collections.deque()
        #: converted, not yet written: ((service, date), table, records)
        self._tables: collections.deque[tuple[tuple[str, date], Any, int]] = collections.deque()
        self._converted = 0  # records in _tables
        self._scheduled = False
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._prefix = f"{secrets.token_hex(4)}-"
        self._ids = itertools.count(1)
        self._files = itertools.count(1)
        self._swept = -math.inf

    # ---------------------------------------------------------------------------------------- request path

    def next_request_id(self) -> str:
        """A request id unique across workers and restarts (a random per-writer prefix and a counter)."""
        return f"{self._prefix}{next(self._ids)}"

    def record(self, features: Any, full: bool, columns: Any, request_us: int, duration_us: int,
               request_id: str | None, mode: str) -> None:
        """Queue one served read: ``columns`` is the response (or its ``wire_columns()``), times in µs."""
        if self.rate < 1.0 and random.random() >= self.rate:
            return
        queue = self._queue
        if len(queue) + self._converted >= self.capacity:
            self.dropped += 1
            if self.on_drop is not None:
                self.on_drop(1)
            return
        queue.append((features, full, columns, request_us, duration_us, request_id, mode))
        if self._thread is None:
            self._start()
        if len(queue) >= BATCH and not self._scheduled:
            self._schedule()

    def _schedule(self) -> None:
        self._scheduled = True
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # a direct read: convert now
            self._convert()
            return
        loop.call_soon(self._convert)

    def _start(self) -> None:
        with self._lock:
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._run, name="fsnb-served-log", daemon=True)
                self._thread.start()

    # ---------------------------------------------------------------------------------------- conversion

    def _convert(self) -> None:
        """Turn the queued records into Arrow tables, one per service and date (records are popped once, so the
        loop and the writer thread may both call this)."""
        self._scheduled = False
        queue = self._queue
        batch = [queue.popleft() for _ in range(len(queue))]
        if not batch:
            return
        groups: dict[tuple[str, date], list[tuple[_Layout, tuple[Any, ...]]]] = {}
        for rec in batch:
            try:
                layout = self._layout(rec[0], rec[1], rec[2])
            except Exception as exc:
                self._lost(1, f"a served read could not be logged ({type(exc).__name__}: {exc})")
                continue
            day = datetime.fromtimestamp(rec[3] / 1e6, UTC).date()
            groups.setdefault((layout.name, day), []).append((layout, rec))
        pid = os.getpid()
        for key, items in groups.items():
            try:
                table = _table(items, pid)
            except Exception as exc:
                self._lost(len(items), f"{len(items)} served reads could not be logged ({type(exc).__name__}: "
                           f"{exc})")
                continue
            self._converted += len(items)
            self._tables.append((key, table, len(items)))

    # ---------------------------------------------------------------------------------------- background

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self.config.flush_interval)
            try:
                self.flush()
            except Exception:  # never let the thread die: the next flush tries again
                log.exception("writing the served-feature log failed")

    def flush(self) -> int:
        """Write what is queued now, one file per service and date; returns the rows written."""
        import pyarrow as pa

        with self._lock:
            self._convert()
            tables = self._tables
            groups: dict[tuple[str, date], tuple[list[Any], list[int]]] = {}
            for _ in range(len(tables)):
                key, table, n = tables.popleft()
                parts, count = groups.setdefault(key, ([], [0]))
                parts.append(table)
                count[0] += n
            rows = 0
            for (name, day), (parts, count) in groups.items():
                self._converted -= count[0]
                try:
                    table = parts[0] if len(parts) == 1 else pa.concat_tables(parts, promote_options="permissive")
                    self._write(name, day, table)
                except Exception as exc:
                    self._lost(count[0], f"writing {count[0]} served reads failed ({type(exc).__name__}: {exc})")
                    continue
                rows += table.num_rows
                self.written += count[0]
                if self.on_write is not None:
                    self.on_write(count[0])
            self._sweep()
            return rows

    def _lost(self, n: int, why: str) -> None:
        log.error("served-feature log: %s", why)
        self.dropped += n
        if self.on_drop is not None:
            self.on_drop(n)

    def _layout(self, features: Any, full: bool, columns: Any) -> _Layout:
        key = (features if isinstance(features, str) else _hashable(features), full)
        layout = self._layouts.get(key)
        names = _names(columns)
        if layout is None or len(layout.features) + len(layout.key_types) != len(names):
            layout = self._layouts[key] = self._resolve(features, len(names))
        return layout

    def _resolve(self, features: Any, n_columns: int) -> _Layout:
        from fsnb.requests import FeatureRequest

        snapshot = self.snapshot()
        request = FeatureRequest.resolve(snapshot, features, full_feature_names=True)
        fields = request.output_fields
        keys = request.join_keys
        if len(keys) + len(fields) != n_columns:
            raise ValueError(f"the response has {n_columns} columns, the request {len(keys) + len(fields)}")
        hidden = []
        for ref in request.refs:
            view = ref.split(":", 1)[0]
            obj = snapshot.feature_views.get(view) or snapshot.on_demand_feature_views.get(view)
            tags = getattr(obj, "tags", {}) or {}
            hidden.append(str(tags.get("sensitive", "")).lower() == "true" and not self.config.log_sensitive)
        return _Layout(target_name(features), [n for n, _ in fields], [_arrow_type(f.dtype) for _, f in fields],
                       hidden, {k.name: _arrow_type(k.dtype) for k in keys}, [r.split(":", 1)[0] for r in request.refs])

    def _write(self, name: str, day: date, table: pa.Table) -> None:
        import pyarrow.parquet as pq

        folder = self.root / f"service={name}" / f"date={day.isoformat()}"
        folder.mkdir(parents=True, exist_ok=True)
        stem = f"part-{os.getpid()}-{self._prefix}{next(self._files)}"
        tmp = folder / f".{stem}.tmp"
        pq.write_table(table, tmp, compression="snappy")
        os.replace(tmp, folder / f"{stem}.parquet")

    def _sweep(self) -> None:
        """Remove date folders older than ``retention_days`` (at most every :data:`RETENTION_EVERY` seconds)."""
        days = self.config.retention_days
        now = time.monotonic()
        if not days or now - self._swept < RETENTION_EVERY or not self.root.is_dir():
            return
        self._swept = now
        oldest = (datetime.now(UTC) - timedelta(days=days)).date().isoformat()
        for folder in self.root.glob("service=*/date=*"):
            if folder.name[5:] < oldest:
                shutil.rmtree(folder, ignore_errors=True)

    # ---------------------------------------------------------------------------------------- lifecycle

    def close(self) -> None:
        """Stop the thread and write what is still queued."""
        self._closed = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=30)
        self._thread = None
        self.flush()

    def _after_fork(self) -> None:
        self._closed = False
        self._lock = threading.Lock()
        self._reset()


def open_writer(config: ServedLogConfig, store: Any, **callbacks: Any) -> ServedLogWriter:
    """A writer for ``store``'s log folder (``store`` gives ``config`` and ``snapshot()``)."""
    return ServedLogWriter(config, log_root(store.config, config), store.snapshot, **callbacks)


def close_all() -> None:
    """Flush and stop every writer of this process (a worker's exit)."""
    for writer in list(_WRITERS):
        try:
            writer.close()
        except Exception:
            log.exception("flushing the served-feature log at exit failed")


def _after_fork_in_child() -> None:
    for writer in list(_WRITERS):
        writer._after_fork()


atexit.register(close_all)
os.register_at_fork(after_in_child=_after_fork_in_child)


# ------------------------------------------------------------------------------------------------ tables


def _hashable(features: Any) -> Any:
    from fsnb.requests import feature_refs

    refs = feature_refs(features)
    return refs if isinstance(refs, (str, tuple)) else refs.name


def _names(columns: Any) -> list[str]:
    if isinstance(columns, list):
        return [c[0] for c in columns]
    return list(columns.feature_names)


def _arrow_type(dtype: Any) -> Any:
    try:
        return dtype.to_arrow()
    except Exception:
        return None


def _array(values: list[Any], arrow_type: Any) -> Any:
    import pyarrow as pa

    if arrow_type is not None:
        try:
            return pa.array(values, type=arrow_type)
        except (pa.ArrowException, TypeError, ValueError, OverflowError):
            pass
    try:
        return pa.array(values)
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return pa.array([None if v is None else str(v) for v in values], type=pa.string())


def _table(items: list[tuple[_Layout, tuple[Any, ...]]], pid: int) -> pa.Table:
    """One Arrow table of the records of one service and day (one row per served entity row).

    Built in chunks of :data:`CHUNK` records, yielding the GIL between them (a request waiting on the event loop
    is served between two chunks), column by column with list comprehensions over the records."""
    import pyarrow as pa

    parts = []
    for start in range(0, len(items), CHUNK):
        if start:
            time.sleep(0)
        parts.append(_chunk(items[start:start + CHUNK], pid))
    return parts[0] if len(parts) == 1 else pa.concat_tables(parts, promote_options="permissive")


#: records converted between two yields of the GIL.
CHUNK = 256


def _chunk(items: list[tuple[_Layout, tuple[Any, ...]]], pid: int) -> pa.Table:
    import pyarrow as pa

    chain = itertools.chain.from_iterable
    layout = items[-1][0]
    n_keys = len(layout.key_types)
    records = [rec for _, rec in items]
    cols = [c if isinstance(c, list) else c.wire_columns() for c in (rec[2] for rec in records)]
    sizes = [len(c[0][2]) if c else 0 for c in cols]
    total = sum(sizes)
    one_row = total == len(records)

    def each(i: int, field: int) -> list[Any]:
        if one_row:
            return [c[i][field][0] for c in cols]
        return list(chain([c[i][field] for c in cols]))

    def per_request(k: int) -> list[Any]:
        if one_row:
            return [rec[k] for rec in records]
        return list(chain([[rec[k]] * n for rec, n in zip(records, sizes)]))

    utc = pa.timestamp("us", tz="UTC")
    arrays: dict[str, Any] = {
        "request_id": pa.array(per_request(5), type=pa.string()),
        "request_time": pa.array(per_request(3), type=utc),
        "duration_us": pa.array(per_request(4), type=pa.int64()),
        "mode": pa.array(per_request(6), type=pa.string()),
        "worker": pa.array([pid] * total, type=pa.int32()),
        "row": pa.array(list(chain(range(n) for n in sizes)), type=pa.int32()),
    }
    for i, name in enumerate(layout.key_types):
        arrays[name] = _array(each(i, 2), layout.key_types[name])
    for j, name in enumerate(layout.features):
        i = n_keys + j
        if not layout.hidden[j]:
            arrays[name] = _array(each(i, 2), layout.types[j])
        arrays[name + STATUS_SUFFIX] = pa.array(each(i, 3), type=pa.string())
    for view, i in layout.view_columns.items():  # one event time per view: its columns share it
        stamps = [None if t is None else round(t.timestamp() * 1e6) for t in each(n_keys + i, 4)]
        arrays[view + TS_SUFFIX] = pa.array(stamps, type=utc)
    return pa.table(arrays)
