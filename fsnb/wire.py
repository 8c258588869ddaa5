"""The wire formats of ``POST /get-online-features``, encoded straight from an ``OnlineResponse``'s columns.

JSON (default) is Feast's column-major shape, plus ``metadata.dtypes`` (fsnb dtype names, one per column) so a
client can rebuild typed columns::

    {"metadata": {"feature_names": ["customer_id", "age", ...], "dtypes": ["int64", "int64", ...]},
     "results": [{"values": [...], "statuses": ["PRESENT", ...], "event_timestamps": ["2024-01-01T00:00:00Z", ...]},
                 ...]}

Values and timestamps are spelled as Feast's own server spells them, so Feast's clients read fsnb unchanged:

- event timestamps are RFC 3339 in UTC with ``Z``, with no fraction when it is zero, milliseconds when
  millisecond-aligned, else microseconds; a cell with no event time (a join key, a value not found) has the epoch,
  ``"1970-01-01T00:00:00Z"``, never ``null``;
- a ``json`` feature travels as JSON text (a string), not as an object;
- ``bytes`` values travel as base64 text;
- non-finite floats (JSON has no such numbers) travel as the strings ``"Infinity"``, ``"-Infinity"`` and
  ``"NaN"``, with the status they have on every other path (``PRESENT``).

:func:`decode_json` undoes all four (epoch → ``None``, text → objects), so a remote read equals a direct one.

Arrow IPC (``Accept: application/vnd.apache.arrow.stream``) is the compact binary form: one record batch whose
column ``3*i`` holds feature *i*'s values (its real Arrow type), ``3*i+1`` its statuses (dictionary-encoded) and
``3*i+2`` its event timestamps (``timestamp[us, UTC]``); schema metadata ``fsnb`` holds the names and dtypes.

This module is the protocol shared by the server and the remote client; it imports nothing heavy at import time.
Errors travel as ``{"error": CLASS, "detail": MESSAGE}``; :func:`error_from_body` rebuilds the class.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from fsnb import errors as E

__all__ = [
    "ARROW_CONTENT_TYPE",
    "JSON_CONTENT_TYPE",
    "ColumnList",
    "Columns",
    "EPOCH_TEXT",
    "decode_arrow",
    "decode_json",
    "encode_arrow",
    "encode_json",
    "error_from_body",
    "event_time_texts",
    "json_column",
    "json_values",
    "response_columns",
]

JSON_CONTENT_TYPE = "application/json"
ARROW_CONTENT_TYPE = "application/vnd.apache.arrow.stream"

#: (name, dtype name or None, values, statuses, event timestamps), one per output column.
ColumnList = list[tuple[str, "str | None", list[Any], list[str], list["datetime | None"]]]
#: the columns, and how many of them (first) are join keys.
Columns = tuple[ColumnList, int]


def response_columns(response: Any) -> ColumnList:
    """Columns of an ``OnlineResponse`` with their dtype names, in one pass."""
    wire_columns = getattr(response, "wire_columns", None)
    if wire_columns is not None:
        return wire_columns()  # type: ignore[no-any-return]
    dtypes = _dtype_names(response)
    return [
        (name, (dtypes[i] if dtypes is not None else None), values, statuses, timestamps)
        for i, (name, values, statuses, timestamps) in enumerate(response.iter_columns())
    ]


def join_key_count(response: Any) -> int:
    return len(getattr(response, "join_keys", ()))


def _dtype_names(response: Any) -> list[str | None] | None:
    dtypes = getattr(response, "dtypes", None)
    if dtypes is None:
        return None
    if callable(dtypes):
        dtypes = dtypes()
    if isinstance(dtypes, dict):
        dtypes = [dtypes.get(n) for n in response.feature_names]
    return [None if d is None else getattr(d, "name", str(d)) for d in dtypes]


# ------------------------------------------------------------------------------------------------------ JSON


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(obj)).decode("ascii")
    if isinstance(obj, datetime):
        return _iso(obj)
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, Decimal):
        return float(obj)
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    item = getattr(obj, "item", None)  # numpy scalars that orjson did not take
    if callable(item):
        return item()
    tolist = getattr(obj, "tolist", None)
    if callable(tolist):
        return tolist()
    raise TypeError(f"cannot encode {type(obj).__name__} as JSON")


#: what a cell with no event time carries (Feast's zero ``Timestamp``).
EPOCH_TEXT = "1970-01-01T00:00:00Z"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TS_OPTIONS = 2 | 128  # orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z (orjson is imported only when encoding)


def _iso(ts: datetime) -> str:
    """RFC 3339 text the way protobuf (and so Feast's server) prints a ``Timestamp``: 0, 3 or 6 fraction digits."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    elif ts.utcoffset():
        ts = ts.astimezone(UTC)
    base = f"{ts.year:04d}-{ts.month:02d}-{ts.day:02d}T{ts.hour:02d}:{ts.minute:02d}:{ts.second:02d}"
    us = ts.microsecond
    if not us:
        return base + "Z"
    if not us % 1000:
        return f"{base}.{us // 1000:03d}Z"
    return f"{base}.{us:06d}Z"


def event_time_texts(timestamps: Sequence[datetime | None]) -> list[str]:
    """A column's event timestamps as wire text (:data:`EPOCH_TEXT` where there is none)."""
    memo: dict[datetime, str] = {}
    out = []
    for t in timestamps:
        if t is None:
            out.append(EPOCH_TEXT)
            continue
        text = memo.get(t)
        if text is None:
            text = memo[t] = _iso(t)
        out.append(text)
    return out


def _event_time_fragment(timestamps: Sequence[datetime | None]) -> Any:
    """:func:`event_time_texts` as a pre-encoded JSON array, formatted by orjson in one call: its UTC text has no
    fraction when it is zero and six digits otherwise, so a millisecond-aligned time loses its three trailing zeros
    (every string in the array is a timestamp, so the replacement touches nothing else)."""
    import orjson

    raw = orjson.dumps([_EPOCH if t is None else t for t in timestamps], option=_TS_OPTIONS)
    return orjson.Fragment(raw.replace(b'000Z"', b'Z"'))


def _json_texts(values: list[Any]) -> list[Any]:
    return [None if v is None else json.dumps(v) for v in values]


_NONFINITE = {"Infinity": math.inf, "-Infinity": -math.inf, "NaN": math.nan}


def _nonfinite_text(v: Any) -> Any:
    if v is None or math.isfinite(v):
        return v
    return "NaN" if v != v else ("Infinity" if v > 0 else "-Infinity")


def _all_finite(values: Any) -> bool:
    """Whether every value present is finite: a plain loop for the few values of a typical read, numpy for many."""
    if len(values) > 64:
        import numpy as np

        present = [v for v in values if v is not None] if isinstance(values, list) else values
        return bool(np.isfinite(np.asarray(present, dtype=np.float64)).all())
    isfinite = math.isfinite
    return all(v is None or isfinite(v) for v in values)


def _nonfinite_texts(values: Any, dtype: str) -> Any:
    """Float values with ±inf / NaN spelled ``"Infinity"``, ``"-Infinity"``, ``"NaN"`` (JSON has no such numbers;
    orjson would write ``null``, which reads as a missing value). Columns of finite values are returned as they are."""
    if dtype in ("float32", "float64"):
        if _all_finite(values):
            return values
        return [_nonfinite_text(v) for v in values]
    if dtype.startswith("array<float"):
        if all(v is None or all(x is None or math.isfinite(x) for x in v) for v in values):
            return values
        return [None if v is None else [_nonfinite_text(x) for x in v] for v in values]
    return values


def _nonfinite_floats(values: list[Any], dtype: str) -> list[Any]:
    """:func:`_nonfinite_texts` undone."""
    if dtype in ("float32", "float64"):
        return [_NONFINITE[v] if isinstance(v, str) else v for v in values]
    if dtype.startswith("array<float"):
        return [v if v is None else [_NONFINITE[x] if isinstance(x, str) else x for x in v] for v in values]
    return values


def encode_json(response: Any, columns: ColumnList | None = None) -> bytes:
    """Feast-shaped JSON of ``response`` (orjson, straight from the columns; pass ``columns`` if already taken)."""
    import orjson

    cols = response_columns(response) if columns is None else columns
    names = [c[0] for c in cols]
    dtypes = [c[1] for c in cols]
    texts: dict[int, Any] = {}  # columns of one view share one timestamps list: format it once
    results = []
    for _, dtype, values, statuses, timestamps in cols:
        ts = texts.get(id(timestamps))
        if ts is None:
            ts = texts[id(timestamps)] = _event_time_fragment(timestamps)
        if dtype == "json":
            values = _json_texts(values)
        elif dtype is not None and "float" in dtype:
            values = _nonfinite_texts(values, dtype)
        results.append({"values": values, "statuses": statuses, "event_timestamps": ts})
    metadata: dict[str, Any] = {"feature_names": names}
    if any(d is not None for d in dtypes):
        metadata["dtypes"] = dtypes
    metadata["join_keys"] = join_key_count(response)
    return orjson.dumps(
        {"metadata": metadata, "results": results},
        option=orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC | orjson.OPT_SERIALIZE_NUMPY,
        default=_json_default,
    )


def decode_json(body: bytes | dict[str, Any]) -> Columns:
    """Typed columns back from :func:`encode_json`'s output: timestamps parsed (the epoch back to ``None``), base64
    bytes decoded, JSON text parsed back into objects."""
    doc = body if isinstance(body, dict) else _loads(body)
    meta = doc["metadata"]
    names: Sequence[str] = meta["feature_names"]
    dtypes: Sequence[str | None] = meta.get("dtypes") or [None] * len(names)
    out: ColumnList = []
    parsed: dict[str, datetime | None] = {EPOCH_TEXT: None}
    for name, dtype, res in zip(names, dtypes, doc["results"]):
        timestamps = _parse_event_times(res["event_timestamps"], parsed)
        out.append((name, dtype, json_values(res["values"], dtype), list(res["statuses"]), timestamps))
    return out, int(meta.get("join_keys", 0))


def json_values(values: list[Any], dtype: str | None) -> list[Any]:
    """One column's values as :func:`decode_json` gives them, from their JSON form."""
    if dtype is None:
        return values
    if dtype == "json":
        return [v if not isinstance(v, str) else json.loads(v) for v in values]
    if dtype == "bytes":
        return [None if v is None else base64.b64decode(v) for v in values]
    if dtype == "unix_timestamp":
        return [None if v is None else _parse_ts(v) for v in values]
    if dtype.startswith("array<bytes"):
        return [None if v is None else [None if x is None else base64.b64decode(x) for x in v] for v in values]
    if dtype.startswith("array<unix_timestamp"):
        return [None if v is None else [None if x is None else _parse_ts(x) for x in v] for v in values]
    if "float" in dtype:
        return _nonfinite_floats(values, dtype)
    return values


def _parse_ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _parse_event_times(texts: Sequence[str | None], memo: dict[str, datetime | None]) -> list[datetime | None]:
    """Event timestamps back from text; the epoch (and ``null``, from older servers) means "no event time"."""
    out: list[datetime | None] = []
    for t in texts:
        if t is None:
            out.append(None)
            continue
        when = memo.get(t, _EPOCH)
        if when is _EPOCH:
            when = _parse_ts(t)
            memo[t] = when = None if when == _EPOCH else when
        out.append(when)
    return out


def _loads(body: bytes) -> Any:
    try:
        import orjson

        return orjson.loads(body)
    except ImportError:  # the client does not need the server extra
        return json.loads(body)


# ------------------------------------------------------------------------------------------ JSON write columns

_WIDTHS = {"int32": "Int32", "int64": "Int64", "float32": "float32", "float64": "float64", "bool": "boolean"}
_FLOAT32_MAX = 3.4028234663852886e38


def json_column(values: Any, dtype: str, what: str, *, join_key: bool = False) -> Any:
    """A JSON-born pandas column (``/push``, ``/write-to-online-store``) at its dtype's width, checked as reads check.

    JSON has one number type, so integers and floats are told apart by value: an Int column takes whole numbers
    (a float only when it is whole and the column may hold nulls, as pandas turns ``[1, null]`` into floats; never
    for a join key), a Float column numbers, a Bool column ``true``/``false``. Booleans are never numbers and text is
    never a number, except ``"Infinity"`` and ``"-Infinity"`` in a Float column (the spelling reads use); a Float32
    value beyond float32's range is refused rather than stored as infinity. Other dtypes are returned as they are.
    Raises :class:`~fsnb.errors.DataValidationError` naming ``what``.
    """
    import math

    target = _WIDTHS.get(dtype)
    if target is None or str(values.dtype) == target:
        return values
    if dtype.startswith("float") and values.dtype.kind == "O":  # ±inf spelled as reads spell them
        values = values.map(lambda v: _NONFINITE.get(v, v) if isinstance(v, str) and v != "NaN" else v)
    kind = values.dtype.kind
    present = values.dropna() if kind in "Of" else values
    need = "true or false" if dtype == "bool" else "whole numbers" if dtype.startswith("int") else "numbers"

    def bad(value: Any) -> E.DataValidationError:
        text = repr(value)
        text = text if len(text) <= 40 else text[:37] + "..."
        return E.DataValidationError(f"{what} is {dtype}: got {text} ({type(value).__name__}); send {need}")

    if kind == "O":
        for v in present:
            if dtype == "bool":
                ok = isinstance(v, bool)
            else:
                ok = isinstance(v, (int, float)) and not isinstance(v, bool)
                if ok and dtype.startswith("int") and isinstance(v, float):
                    ok = not join_key and v.is_integer()
            if not ok:
                raise bad(v)
    elif kind == "b":
        if dtype != "bool":
            raise bad(bool(values.iloc[0]))
    elif dtype == "bool":
        raise bad(values.iloc[0].item() if hasattr(values.iloc[0], "item") else values.iloc[0])
    elif kind == "f" and dtype.startswith("int"):
        for v in present:
            if join_key or not float(v).is_integer():
                raise bad(float(v))
    if dtype == "float32":
        for v in present:
            if isinstance(v, (int, float)) and math.isfinite(v) and abs(v) > _FLOAT32_MAX:
                raise E.DataValidationError(
                    f"{what} is float32: {v!r} is beyond its range (±3.4e38); declare the feature Float64"
                )
    try:
        return values.astype(target)
    except (ValueError, TypeError, OverflowError) as e:
        raise E.DataValidationError(f"{what} does not fit {dtype}: {e}") from None


# ----------------------------------------------------------------------------------------------------- Arrow

_STATUS_VOCAB = ("PRESENT", "NOT_FOUND", "NULL_VALUE", "OUTSIDE_MAX_AGE")


def encode_arrow(response: Any, columns: ColumnList | None = None) -> bytes:
    """One Arrow IPC stream holding values (their real type), statuses and event timestamps per column."""
    import pyarrow as pa

    from fsnb.types import parse_dtype

    arrays: list[Any] = []
    fields: list[Any] = []
    names: list[str] = []
    dtypes: list[str | None] = []
    ts_type = pa.timestamp("us", tz="UTC")
    vocab = pa.array(_STATUS_VOCAB, pa.string())
    codes = {s: i for i, s in enumerate(_STATUS_VOCAB)}
    cols = response_columns(response) if columns is None else columns
    for i, (name, dtype, values, statuses, timestamps) in enumerate(cols):
        names.append(name)
        dtypes.append(dtype)
        arrow_type = parse_dtype(dtype).to_arrow() if dtype else None
        if dtype == "json":
            values = [None if v is None else json.dumps(v) for v in values]
        v = pa.array(values, type=arrow_type)
        try:
            s = pa.DictionaryArray.from_arrays(pa.array([codes[x] for x in statuses], pa.int8()), vocab)
        except KeyError:
            s = pa.array(statuses, pa.string()).dictionary_encode()
        t = pa.array(timestamps, type=ts_type)
        arrays += [v, s, t]
        fields += [pa.field(f"v{i}", v.type), pa.field(f"s{i}", s.type), pa.field(f"t{i}", ts_type)]
    keys = join_key_count(response)
    meta = {b"fsnb": json.dumps({"feature_names": names, "dtypes": dtypes, "join_keys": keys}).encode()}
    schema = pa.schema(fields, metadata=meta)
    batch = pa.RecordBatch.from_arrays(arrays, schema=schema)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, schema) as writer:
        writer.write_batch(batch)
    return sink.getvalue().to_pybytes()


def decode_arrow(body: bytes) -> Columns:
    """Typed columns back from :func:`encode_arrow`'s output."""
    import pyarrow as pa

    reader = pa.ipc.open_stream(body)
    table = reader.read_all()
    meta = json.loads(table.schema.metadata[b"fsnb"])
    out: ColumnList = []
    for i, (name, dtype) in enumerate(zip(meta["feature_names"], meta["dtypes"])):
        values = table.column(3 * i).to_pylist()
        if dtype == "json":
            values = [None if v is None else json.loads(v) for v in values]
        elif dtype is not None and dtype.startswith("map<"):
            values = [None if v is None else dict(v) for v in values]
        statuses = table.column(3 * i + 1).to_pylist()
        timestamps = table.column(3 * i + 2).to_pylist()
        out.append((name, dtype, values, statuses, timestamps))
    return out, int(meta.get("join_keys", 0))


def error_from_body(status: int, body: Any) -> E.FsnbError:
    """Rebuild the server's error on the client: the same :mod:`fsnb.errors` class and message.

    Unknown names (another server, a proxy's HTML page) become :class:`fsnb.errors.ServerError`, or
    :class:`fsnb.errors.OnlineStoreUnavailableError` for 502/503/504 without a body fsnb understands.
    """
    name, detail = None, None
    if isinstance(body, dict):
        name, detail = body.get("error"), body.get("detail")
    cls = getattr(E, name, None) if isinstance(name, str) else None
    message = f"{detail}" if detail else f"feature server answered HTTP {status}"
    if isinstance(cls, type) and issubclass(cls, E.FsnbError):
        err: E.FsnbError = cls(message)
    elif status in (502, 503, 504):
        err = E.OnlineStoreUnavailableError(f"feature server unavailable (HTTP {status}): {message}")
    else:
        err = E.ServerError(f"feature server error (HTTP {status}, {name or 'no error name'}): {message}")
    err.http_status = status
    return err
