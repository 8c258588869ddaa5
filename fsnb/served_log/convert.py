"""Segments of served reads into the Parquet dataset: decode, build one Arrow table per service and date, write.

:func:`write_segment` names its files after the segment (``part-<stem>.parquet``, one per service and date), so
converting a segment twice (a shipper that died between writing and deleting it) rewrites the same files: every
read is in the dataset exactly once.
"""

from __future__ import annotations

import functools
import gc
import itertools
import json
import math
import os
import shutil
import time
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fsnb.served_log import STATUS_SUFFIX, TS_SUFFIX
from fsnb.served_log.frames import Frame, Layout, read_segment

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["Retention", "write_segment"]

#: seconds between two retention sweeps of one log folder.
RETENTION_EVERY = 600.0
_DAY_US = 86_400_000_000
_first = itemgetter(0)
_EPOCH_DAY = date(1970, 1, 1)

#: reads converted between two yields of the GIL (a writer thread shares its process with the event loop).
CHUNK = 256


def write_segment(data: bytes, root: Path, stem: str, *, on_lost: Callable[[int, str], None] | None = None) -> int:
    """Write the reads of one segment under ``root`` (``service=<name>/date=<day>/part-<stem>.parquet``); returns
    how many were written. A read that cannot be decoded, or a damaged tail, is left out and reported to
    ``on_lost(count, why)``; a damaged header raises ``ValueError`` (nothing is written)."""
    import pyarrow as pa

    def lost(n: int, why: str) -> None:
        if on_lost is not None:
            on_lost(n, why)

    by_shape: dict[tuple[int, int], list[Frame]] = {}  # (layout, day number) → reads
    segment = read_segment(data)  # a damaged header raises here: nothing of the segment is readable
    read = 0
    try:
        for fr in segment:
            key = (id(fr.layout), fr.request_us // _DAY_US)
            same = by_shape.get(key)
            if same is None:
                same = by_shape[key] = []
            same.append(fr)
            read += 1
    except ValueError as exc:  # cut short: the reads before the damage are kept
        lost(1, f"segment {stem} is damaged after {read} reads ({exc}): the read there and any after it are lost")
    groups: dict[tuple[str, int], list[list[Frame]]] = {}  # (service, day number) → reads of each layout
    for (_, day_number), frames in by_shape.items():
        groups.setdefault((frames[0].layout.name, day_number), []).append(frames)
    written = 0
    collecting = gc.isenabled()
    gc.disable()  # parsed bodies live until their chunk is built: no cycles, nothing for the collector to find
    try:
        for (name, day_number), by_layout in groups.items():
            day = _EPOCH_DAY + timedelta(days=day_number)
            tables = []
            count = 0
            for frames in by_layout:
                layout = frames[0].layout
                for start in range(0, len(frames), CHUNK):
                    if start:
                        time.sleep(0)  # let the event loop in (a writer thread shares its process)
                    for batch in _decode(frames[start:start + CHUNK], lost):
                        tables.append(_chunk(layout, batch))
                        count += len(batch.frames)
            if not tables:
                continue
            try:
                table = tables[0] if len(tables) == 1 else pa.concat_tables(tables, promote_options="permissive")
                _write(table, root / f"service={name}" / f"date={day.isoformat()}", stem)
            except Exception as exc:
                lost(count, f"writing {count} served reads failed ({type(exc).__name__}: {exc})")
                continue
            written += count
    finally:
        if collecting:
            gc.enable()
    return written


class Retention:
    """``retention_days`` applied to a log folder: date folders older than ``days`` removed (0 keeps them), at most
    every :data:`RETENTION_EVERY` seconds."""

    def __init__(self, root: Path, days: float) -> None:
        self.root = root
        self.days = days
        self._swept = -math.inf

    def sweep(self) -> None:
        now = time.monotonic()
        if not self.days or now - self._swept < RETENTION_EVERY or not self.root.is_dir():
            return
        self._swept = now
        oldest = (datetime.now(UTC) - timedelta(days=self.days)).date().isoformat()
        for folder in self.root.glob("service=*/date=*"):
            if folder.name[5:] < oldest:
                shutil.rmtree(folder, ignore_errors=True)


def _write(table: pa.Table, folder: Path, stem: str) -> None:
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".part-{stem}.tmp"
    pq.write_table(table, tmp, compression="snappy")
    os.replace(tmp, folder / f"part-{stem}.parquet")  # readers never see half a file


class _Batch:
    """Reads of one layout whose responses share their column names and dtypes: per read, per column, its values,
    statuses and event times (``raw``: JSON's forms, under keys ``"values"``, ``"statuses"``,
    ``"event_timestamps"``; else decoded, under 0, 1, 2)."""

    __slots__ = ("frames", "names", "dtypes", "n_keys", "results", "raw", "keys")

    def __init__(self, frames: list[Frame], meta: dict[str, Any], results: list[Any], raw: bool) -> None:
        self.frames = frames
        self.names: list[str] = meta["feature_names"]
        self.dtypes: list[str | None] = meta.get("dtypes") or [None] * len(self.names)
        self.n_keys = int(meta.get("join_keys", 0))
        self.results = results
        self.raw = raw
        self.keys: tuple[Any, ...] = ("values", "statuses", "event_timestamps") if raw else (0, 1, 2)


_RESULTS = b',"results":'


def _decode(frames: list[Frame], lost: Callable[[int, str], None]) -> list[_Batch]:
    """The reads of ``frames`` (one layout) in batches. JSON bodies of one request shape are parsed in one call
    (their shared metadata once); a body that does not parse alone is reported lost."""
    import orjson

    from fsnb import wire

    by_meta: dict[bytes, list[tuple[Frame, bytes]]] = {}
    arrow: list[Frame] = []
    for fr in frames:
        if fr.arrow:
            arrow.append(fr)
            continue
        cut = fr.body.find(_RESULTS)
        by_meta.setdefault(fr.body[:cut] if cut > 0 else b"", []).append((fr, fr.body[cut + len(_RESULTS):-1]))
    batches = []
    width = len(frames[0].layout.features) if frames else 0
    for head, items in by_meta.items():
        try:
            meta = orjson.loads(head + b"}")["metadata"]
            parsed = orjson.loads(b"[" + b",".join([r for _, r in items]) + b"]")
        except Exception:  # find the bad ones
            meta, parsed = _parse_each(items, lost)
            if meta is None:
                continue
            items = [it for it, ok in zip(items, parsed) if ok is not None]
            parsed = [p for p in parsed if p is not None]
        batch = _Batch([fr for fr, _ in items], meta, parsed, True)
        batches.append(batch)
    for fr in arrow:
        try:
            cols, n_keys = wire.decode_arrow(fr.body)
        except Exception as exc:
            lost(1, f"a served read could not be decoded ({type(exc).__name__}: {exc})")
            continue
        meta = {"feature_names": [c[0] for c in cols], "dtypes": [c[1] for c in cols], "join_keys": n_keys}
        batches.append(_Batch([fr], meta, [[c[2:] for c in cols]], False))
    out = []
    for batch in batches:
        if len(batch.names) != batch.n_keys + width:
            lost(len(batch.frames), f"{len(batch.frames)} served reads have {len(batch.names)} columns, their "
                 f"request {batch.n_keys + width}")
        elif batch.frames:
            out.append(batch)
    return out


def _parse_each(items: list[tuple[Frame, bytes]], lost: Callable[[int, str], None]) -> tuple[Any, list[Any]]:
    import orjson

    meta = None
    parsed: list[Any] = []
    for fr, _ in items:
        try:
            doc = orjson.loads(fr.body)
            meta = meta or doc["metadata"]
            parsed.append(doc["results"])
        except Exception as exc:
            lost(1, f"a served read could not be decoded ({type(exc).__name__}: {exc})")
            parsed.append(None)
    return meta, parsed


@functools.lru_cache(maxsize=256)
def _arrow_type(dtype: str | None) -> Any:
    from fsnb.types import parse_dtype

    if not dtype:
        return None
    try:
        return parse_dtype(dtype).to_arrow()
    except Exception:
        return None


def _array(values: list[Any], dtype: str | None) -> Any:
    import pyarrow as pa

    arrow_type = _arrow_type(dtype)
    if dtype == "json":
        values = [None if v is None else json.dumps(v) for v in values]
    if arrow_type is not None:
        try:
            return pa.array(values, type=arrow_type)
        except (pa.ArrowException, TypeError, ValueError, OverflowError):
            pass
    try:
        return pa.array(values)
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return pa.array([None if v is None else str(v) for v in values], type=pa.string())


#: dtypes whose JSON values Arrow takes as they are (floats unless one is spelled "NaN" / "Infinity").
_AS_IS = {"bool", "int32", "int64", "float32", "float64", "string", "array<bool>", "array<int32>", "array<int64>",
          "array<float32>", "array<float64>", "array<string>"}


def _chunk(layout: Layout, batch: _Batch) -> pa.Table:
    import pyarrow as pa
    import pyarrow.compute as pc

    from fsnb import wire

    chain = itertools.chain.from_iterable
    results, frames = batch.results, batch.frames
    kv, ks, kt = batch.keys
    sizes = [len(r[0][kv]) if r else 0 for r in results]
    one_row = all(n == 1 for n in sizes)

    by_column = list(zip(*results))  # per column, its cell of every read (C loops below, not Python ones)

    def each(i: int, k: Any) -> list[Any]:
        cells = map(itemgetter(k), by_column[i])
        return list(map(_first, cells)) if one_row else list(chain(cells))

    def per_read(get: Callable[[Frame], Any]) -> list[Any]:
        if one_row:
            return [get(fr) for fr in frames]
        return list(chain([get(fr)] * n for fr, n in zip(frames, sizes)))

    def values(i: int) -> Any:
        dtype = batch.dtypes[i]
        if not batch.raw:
            return _array(each(i, kv), dtype)
        if dtype == "json":  # already JSON text
            return pa.array(each(i, kv), type=pa.string())
        if dtype in _AS_IS:
            try:
                return pa.array(each(i, kv), type=_arrow_type(dtype))
            except (pa.ArrowException, TypeError, ValueError, OverflowError):
                pass
        return _array(list(chain(wire.json_values(cell[kv], dtype) for cell in by_column[i])), dtype)

    def times(i: int) -> Any:
        if not batch.raw:
            return pa.array(each(i, kt), type=utc)
        texts = pa.array(each(i, kt), type=pa.string())
        texts = pc.if_else(pc.equal(texts, wire.EPOCH_TEXT), pa.scalar(None, pa.string()), texts)
        return texts.cast(utc)

    utc = pa.timestamp("us", tz="UTC")
    arrays: dict[str, Any] = {
        "request_id": pa.array(per_read(lambda fr: fr.request_id), type=pa.string()),
        "request_time": pa.array(per_read(lambda fr: fr.request_us), type=pa.int64()).cast(utc),
        "duration_us": pa.array(per_read(lambda fr: fr.duration_us), type=pa.int64()),
        "mode": pa.array(per_read(lambda fr: fr.mode), type=pa.string()),
        "worker": pa.array(per_read(lambda fr: fr.worker), type=pa.int32()),
        "row": pa.array(list(chain(range(n) for n in sizes)), type=pa.int32()),
    }
    n_keys = batch.n_keys
    for i in range(n_keys):
        arrays[batch.names[i]] = values(i)
    if layout.request:
        requests = [_request_doc(fr.request) for fr in frames]
        for name, dtype in layout.request:
            arrays[name] = _array(wire.json_values(_request_values(requests, name, sizes), dtype), dtype)
    for j, name in enumerate(layout.features):
        i = n_keys + j
        if not layout.hidden[j]:
            arrays[name] = values(i)
        arrays[name + STATUS_SUFFIX] = pa.array(each(i, ks), type=pa.string())
    seen: set[str] = set()
    for j, view in enumerate(layout.views):  # one event time per view: its columns share it
        if view not in seen:
            seen.add(view)
            arrays[view + TS_SUFFIX] = times(n_keys + j)
    return pa.table(arrays)


def _request_doc(data: bytes) -> Any:
    """A read's request data (a JSON object of columns), ``{}`` when there is none or it does not parse."""
    import orjson

    if not data:
        return {}
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError:
        return {}
    return doc if isinstance(doc, dict) else {}


def _request_values(requests: Iterable[dict[str, Any]], name: str, sizes: list[int]) -> list[Any]:
    out: list[Any] = []
    for req, n in zip(requests, sizes):
        got = req.get(name)
        out.extend(got if isinstance(got, list) and len(got) == n else [None] * n)
    return out
