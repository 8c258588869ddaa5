"""``ServedLogWriter``: served reads queued on the request path as bytes, written off it by a background thread.

The request path appends one frame (:mod:`fsnb.served_log.frames`: a header line, the response body exactly as it
was sent, the request data of on-demand views) to a bounded deque; a full queue drops the read and counts it, so a
read never waits for the log. Every ``flush_interval`` seconds the writer's thread joins what is queued into one
segment and either hands it to the server's shipper (a file in the spool folder, converted to Parquet by another
process on another core: ``fsnb serve``) or converts and writes it itself (direct reads, an app run without
``fsnb serve``). Closing flushes; so does the process's exit (``atexit``) and :func:`close_all` (the server's
worker-exit hook). A forked child starts with an empty queue and its own thread.
"""

from __future__ import annotations

import atexit
import collections
import itertools
import logging
import os
import random
import secrets
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fsnb.served_log.convert import Retention, write_segment
from fsnb.served_log.frames import Layout, frame, layout_of, segment_header
from fsnb.served_log.layout import log_root, target_name

if TYPE_CHECKING:
    from fsnb.config import ServedLogConfig

__all__ = ["SPOOL_ENV", "ServedLogWriter", "close_all", "open_writer"]

log = logging.getLogger("fsnb.served_log")

#: set by ``fsnb serve`` in its workers: the folder its shipper converts segments from.
SPOOL_ENV = "FSNB_SERVED_LOG_SPOOL"
#: buffers per ``writev`` call (the system's IOV_MAX is at least 1024 on Linux).
_IOV_MAX = 1024

_WRITERS: weakref.WeakSet[ServedLogWriter] = weakref.WeakSet()


class ServedLogWriter:
    """Logs served reads of one process. ``record(...)`` is the request-path call.

    ``snapshot`` gives the registry snapshot (to name columns and find sensitive views, once per request shape);
    ``spool`` is the shipper's folder, or None to write Parquet from this process; ``on_drop`` / ``on_write`` are
    called with a read count (the server's metrics; with a shipper, "written" means handed to it on disk).
    """

    def __init__(self, config: ServedLogConfig, root: Path, snapshot: Callable[[], Any], *,
                 spool: Path | None = None,
                 on_drop: Callable[[int], None] | None = None,
                 on_write: Callable[[int], None] | None = None) -> None:
        self.config = config
        self.root = Path(root)
        self.spool = spool
        self.snapshot = snapshot
        self.on_drop = on_drop
        self.on_write = on_write
        self.rate = config.sample_rate
        self.capacity = config.max_queue
        #: reads dropped because the queue was full (or their conversion failed), and reads written.
        self.dropped = 0
        self.written = 0
        self._lock = threading.Lock()  # one flush at a time
        #: request shape → (layout id, layout, response width, whether a column's values are left out)
        self._layouts: dict[Any, tuple[int, Layout, int, bool]] = {}
        self._by_id: dict[int, Layout] = {}
        self._layout_ids = itertools.count(1)
        self._closed = False
        self._reset()
        _WRITERS.add(self)
        import pyarrow.parquet  # noqa: F401 - now, not in a flush at interpreter exit (imports register atexit)

    def _reset(self) -> None:
        self._queue: collections.deque[bytes] = collections.deque()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._prefix = secrets.token_hex(4)
        self._id_prefix = f"{self._prefix}-".encode()
        self._ids = itertools.count(1)
        self._files = itertools.count(1)
        self._retention = Retention(self.root, self.config.retention_days)

    # ---------------------------------------------------------------------------------------- request path

    def next_request_id(self) -> bytes:
        """A request id unique across workers and restarts (a random per-writer prefix and a counter)."""
        return b"%s%d" % (self._id_prefix, next(self._ids))

    def record(self, features: Any, full: bool, response: Any, request_us: int, duration_us: int,
               request_id: bytes, mode: str, *, columns: Any = None, body: bytes | None = None,
               arrow: bool = False, entities: Any = None) -> None:
        """Queue one served read. ``columns`` are the response's wire columns and ``body`` what was sent (``arrow``:
        an Arrow IPC body); without them the response is encoded here. ``entities`` are the request's entity rows
        (request data of on-demand views is taken from them). Times are in µs."""
        if self.rate < 1.0 and random.random() >= self.rate:
            return
        queue = self._queue
        if len(queue) >= self.capacity:
            self.dropped += 1
            if self.on_drop is not None:
                self.on_drop(1)
            return
        if columns is None:
            from fsnb import wire

            columns = wire.response_columns(response)
        key = (features, full) if type(features) is str else (_shape(features), full)
        entry = self._layouts.get(key)
        if entry is None or entry[2] != len(columns):
            try:
                entry = self._resolve(key, features, len(columns))
            except Exception as exc:
                self._lost(1, f"a served read could not be logged ({type(exc).__name__}: {exc})")
                return
        lid, layout, _, hidden = entry
        if body is None or hidden:
            body, arrow = _json_body(response, columns, layout), False
        request = _request_data(entities, layout) if layout.request else b""
        queue.append(frame(lid, request_us, duration_us, mode, arrow, request_id, body, request))
        if self._thread is None:
            self._start()

    def forget_layouts(self) -> None:
        """Resolve request shapes again (the registry changed)."""
        self._layouts = {}

    def _resolve(self, key: Any, features: Any, width: int) -> tuple[int, Layout, int, bool]:
        from fsnb.requests import FeatureRequest

        snapshot = self.snapshot()
        request = FeatureRequest.resolve(snapshot, features, full_feature_names=True)
        fields = request.output_fields
        n_keys = len(request.join_keys)
        if n_keys + len(fields) != width:
            raise ValueError(f"the response has {width} columns, the request {n_keys + len(fields)}")
        hidden = []
        for ref in request.refs:
            view = ref.split(":", 1)[0]
            obj = snapshot.feature_views.get(view) or snapshot.on_demand_feature_views.get(view)
            tags = getattr(obj, "tags", {}) or {}
            hidden.append(str(tags.get("sensitive", "")).lower() == "true" and not self.config.log_sensitive)
        layout = Layout(target_name(features), tuple(n for n, _ in fields), tuple(hidden),
                        tuple(r.split(":", 1)[0] for r in request.refs),
                        tuple((f.name, f.dtype.name) for f in request.request_fields))
        lid = next(self._layout_ids)
        self._by_id[lid] = layout
        entry = self._layouts[key] = (lid, layout, width, any(hidden))
        return entry

    def _start(self) -> None:
        with self._lock:
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._run, name="fsnb-served-log", daemon=True)
                self._thread.start()

    # ---------------------------------------------------------------------------------------- background

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self.config.flush_interval)
            try:
                self.flush()
            except Exception:  # never let the thread die: the next flush tries again
                log.exception("writing the served-feature log failed")

    def flush(self) -> int:
        """Write (or hand to the shipper) what is queued now, as one segment; returns the reads it held."""
        with self._lock:
            queue = self._queue
            frames = [queue.popleft() for _ in range(len(queue))]
            if frames:
                used = {layout_of(f) for f in frames}
                parts = [segment_header({i: self._by_id[i] for i in used}, os.getpid()), *frames]
                stem = f"{os.getpid()}-{self._prefix}-{next(self._files)}"
                try:
                    written = self._hand_over(parts, stem) if self.spool is not None else \
                        write_segment(b"".join(parts), self.root, stem, on_lost=self._lost)
                except Exception as exc:
                    self._lost(len(frames), f"writing {len(frames)} served reads failed ({type(exc).__name__}: "
                               f"{exc})")
                    written = 0
                self.written += written
                if written and self.on_write is not None and self.spool is None:  # else the shipper counts
                    self.on_write(written)
            if self.spool is None:
                self._retention.sweep()
            return len(frames)

    def _hand_over(self, parts: list[bytes], stem: str) -> int:
        """Leave the segment (its header, then its frames) in the spool folder for the shipper: written without
        joining the frames (``writev`` releases the interpreter lock), under a temporary name, then renamed."""
        assert self.spool is not None
        self.spool.mkdir(parents=True, exist_ok=True)
        tmp = self.spool / f".{stem}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # served values: the owner's only
        try:
            for start in range(0, len(parts), _IOV_MAX):
                batch = parts[start:start + _IOV_MAX]
                done = os.writev(fd, batch)
                if done < sum(map(len, batch)):  # a short write (rare): finish this batch plainly
                    rest = memoryview(b"".join(batch))[done:]
                    while rest:
                        rest = rest[os.write(fd, rest):]
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        os.close(fd)
        os.replace(tmp, self.spool / f"{stem}.seg")
        return len(parts) - 1

    def _lost(self, n: int, why: str) -> None:
        log.error("served-feature log: %s", why)
        self.dropped += n
        if self.on_drop is not None:
            self.on_drop(n)

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
    """A writer for ``store``'s log folder (``store`` gives ``config`` and ``snapshot()``); it hands its segments
    to ``fsnb serve``'s shipper when this process is one of its workers."""
    spool = os.environ.get(SPOOL_ENV)
    return ServedLogWriter(config, log_root(store.config, config), store.snapshot,
                           spool=Path(spool) if spool else None, **callbacks)


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


def _shape(features: Any) -> Any:
    """A hashable key of a request's features: a list of refs as a tuple, a service object by its name."""
    if isinstance(features, (list, tuple)):
        return tuple(features)
    return ("service", getattr(features, "name", None) or id(features))


def _json_body(response: Any, columns: Any, layout: Layout) -> bytes:
    """The response as JSON, with the values of hidden (sensitive) columns left out."""
    from fsnb import wire

    if True in layout.hidden:
        n_keys = len(columns) - len(layout.hidden)
        columns = [c if j < n_keys or not layout.hidden[j - n_keys] else (c[0], c[1], [None] * len(c[2]), c[3], c[4])
                   for j, c in enumerate(columns)]
    return wire.encode_json(response, columns)


def _request_data(entities: Any, layout: Layout) -> bytes:
    """The request data columns of ``entities`` (the read's entity rows) as a JSON object of lists."""
    import orjson

    from fsnb.serving.entities import entity_columns

    if entities is None:
        return b""
    try:
        names, cols, _ = entity_columns(entities)
    except Exception:
        return b""
    wanted = {name for name, _ in layout.request}
    data = {n: c if isinstance(c, list) else list(c) for n, c in zip(names, cols) if n in wanted}
    return orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NAIVE_UTC, default=str)

