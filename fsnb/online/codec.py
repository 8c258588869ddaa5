"""The packed row encoding: one value per (entity, feature view) holding every feature and the event timestamp.

Layout (row format 1, little-endian; see docs/format.md):

``u8 version | u32 schema id | i64 event time (µs since epoch, UTC) | null bitmap | fixed values | variable values``

Fixed-width dtypes (Int32, Int64, Float32, Float64, Bool, UnixTimestamp) sit at fixed offsets, so the fixed parts
of N rows joined together decode with one ``np.frombuffer`` over a structured dtype. The others follow in field
order as ``u32 length | payload``. A row whose version or schema id differs from the reader's is treated as absent.
"""

from __future__ import annotations

import base64
import json
import struct
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from fsnb.definitions import Field
from fsnb.types import Array, DType, Map, Struct

if TYPE_CHECKING:
    import numpy as np

__all__ = ["ROW_FORMAT_VERSION", "DecodedRows", "RowCodec", "TS_OFFSET", "from_micros", "to_micros"]

ROW_FORMAT_VERSION = 1
#: Byte offset of the event timestamp in a row (the Lua newer-wins script reads it there).
TS_OFFSET = 5
_HEADER = 13

_FIXED = {"int32": "<i4", "int64": "<i8", "float32": "<f4", "float64": "<f8", "bool": "?", "unix_timestamp": "<i8"}
_STRUCT = {"int32": "i", "int64": "q", "float32": "f", "float64": "d", "bool": "?", "unix_timestamp": "q"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_U32 = struct.Struct("<I")


def to_micros(value: Any) -> int:
    """Microseconds since the epoch (UTC) of a datetime (naive = UTC), pandas Timestamp or int µs."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        d = value - _EPOCH
        return (d.days * 86_400 + d.seconds) * 1_000_000 + d.microseconds
    if hasattr(value, "value") and hasattr(value, "tz_localize"):  # pandas Timestamp (ns)
        return int(value.value) // 1000
    return int(value)


def from_micros(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=int(us))


def _is_fixed(dtype: DType) -> bool:
    return dtype.name in _FIXED


# ------------------------------------------------------------------------------------- JSON-able values


def _to_jsonable(dtype: DType, v: Any) -> Any:
    if v is None:
        return None
    name = dtype.name
    if name == "unix_timestamp":
        return to_micros(v)
    if name == "bytes":
        return base64.b64encode(bytes(v)).decode()
    if name in ("int32", "int64"):
        return int(v)
    if name in ("float32", "float64"):
        return float(v)
    if name == "bool":
        return bool(v)
    if name == "string":
        return str(v)
    if isinstance(dtype, Array):
        return [_to_jsonable(dtype.element, x) for x in v]
    if isinstance(dtype, Map):
        items = v.items() if hasattr(v, "items") else v  # Arrow maps come as lists of pairs
        return {str(k): _to_jsonable(dtype.value, x) for k, x in items}
    if isinstance(dtype, Struct):
        return {k: _to_jsonable(t, v.get(k)) for k, t in dtype.fields}
    return v  # Json


def _from_jsonable(dtype: DType, v: Any) -> Any:
    if v is None:
        return None
    name = dtype.name
    if name == "unix_timestamp":
        return from_micros(v)
    if name == "bytes":
        return base64.b64decode(v)
    if isinstance(dtype, Array):
        return [_from_jsonable(dtype.element, x) for x in v]
    if isinstance(dtype, Map):
        return {k: _from_jsonable(dtype.value, x) for k, x in v.items()}
    if isinstance(dtype, Struct):
        return {k: _from_jsonable(t, v.get(k)) for k, t in dtype.fields}
    return v


def _plain(dtype: DType) -> bool:
    """Whether JSON text of this dtype needs no conversion on the way back."""
    if isinstance(dtype, Map):
        return _plain(dtype.value)
    if isinstance(dtype, Struct):
        return all(_plain(t) for _, t in dtype.fields)
    if isinstance(dtype, Array):
        return _plain(dtype.element)
    return dtype.name not in ("unix_timestamp", "bytes")


# ------------------------------------------------------------------------------------ variable payloads


def _var_encoder(dtype: DType) -> Any:
    name = dtype.name
    if name == "string":
        return lambda v: str(v).encode()
    if name == "bytes":
        return bytes
    if isinstance(dtype, Array):
        return _array_encoder(dtype.element)
    if name == "json":
        return lambda v: json.dumps(v, separators=(",", ":"), ensure_ascii=False, default=_json_default).encode()
    return lambda v: json.dumps(_to_jsonable(dtype, v), separators=(",", ":"), ensure_ascii=False).encode()


def _json_default(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, (bytes, bytearray)):
        return base64.b64encode(bytes(v)).decode()
    if hasattr(v, "tolist"):  # numpy scalars and arrays
        return v.tolist()
    raise TypeError(f"{type(v).__name__} is not JSON serialisable")


def _var_decoder(dtype: DType) -> Any:
    name = dtype.name
    if name == "string":
        return lambda b: b.decode()
    if name == "bytes":
        return bytes
    if isinstance(dtype, Array):
        return _array_decoder(dtype.element)
    if _plain(dtype):
        return json.loads
    return lambda b: _from_jsonable(dtype, json.loads(b))


def _array_encoder(elem: DType) -> Any:
    code = _STRUCT.get(elem.name)
    ename = elem.name

    def enc(v: Any) -> bytes:
        items = list(v)
        n = len(items)
        nulls = bytearray((n + 7) // 8)
        for i, x in enumerate(items):
            if x is None or (isinstance(x, float) and x != x and ename not in ("float32", "float64")):
                nulls[i >> 3] |= 1 << (i & 7)
        out = [_U32.pack(n), bytes(nulls)]
        if code is not None:
            fill = [
                0 if x is None else (to_micros(x) if ename == "unix_timestamp" else x) for x in items
            ]
            out.append(struct.pack(f"<{n}{code}", *fill))
        else:
            for x in items:
                b = b"" if x is None else (x.encode() if ename == "string" else bytes(x))
                out.append(_U32.pack(len(b)))
                out.append(b)
        return b"".join(out)

    return enc


def _array_decoder(elem: DType) -> Any:
    code = _STRUCT.get(elem.name)
    ename = elem.name

    def dec(b: bytes) -> list[Any]:
        (n,) = _U32.unpack_from(b, 0)
        nb = (n + 7) // 8
        nulls = b[4 : 4 + nb]
        pos = 4 + nb
        if code is not None:
            vals = list(struct.unpack_from(f"<{n}{code}", b, pos))
            if ename == "unix_timestamp":
                vals = [from_micros(x) for x in vals]
        else:
            vals = []
            for _ in range(n):
                (ln,) = _U32.unpack_from(b, pos)
                raw = b[pos + 4 : pos + 4 + ln]
                vals.append(raw.decode() if ename == "string" else raw)
                pos += 4 + ln
        if any(nulls):
            for i in range(n):
                if nulls[i >> 3] >> (i & 7) & 1:
                    vals[i] = None
        return vals

    return dec


# ---------------------------------------------------------------------------------------------- codec


class DecodedRows:
    """Columns decoded from N rows: ``found`` and ``ts`` per row, ``values``/``valid`` per field.

    Fixed-width fields come as numpy arrays (garbage where not valid); the others as lists (None where not valid).
    """

    __slots__ = ("found", "ts", "valid", "values")

    def __init__(self, found: np.ndarray, ts: np.ndarray, values: list[Any], valid: list[np.ndarray]) -> None:
        self.found = found
        self.ts = ts
        self.values = values
        self.valid = valid


class RowCodec:
    """Encodes and decodes packed rows for one ordered list of fields (a feature view's, or a projection's)."""

    def __init__(self, fields: Sequence[Field]) -> None:
        import numpy as np

        self.fields = tuple(fields)
        self.dtypes = tuple(f.dtype for f in self.fields)
        text = "\n".join(f"{f.name}:{f.dtype.name}" for f in self.fields)
        self.schema_id = zlib.crc32(text.encode())
        n = len(self.fields)
        self.nbm = (n + 7) // 8
        self.fixed = [i for i, d in enumerate(self.dtypes) if _is_fixed(d)]
        self.var = [i for i, d in enumerate(self.dtypes) if not _is_fixed(d)]
        spec: list[Any] = [("v", "u1"), ("s", "<u4"), ("t", "<i8"), ("n", "u1", (self.nbm,))]
        spec += [(f"f{i}", _FIXED[self.dtypes[i].name]) for i in self.fixed]
        self.record = np.dtype(spec)
        self.width = self.record.itemsize
        self.zero = bytes(self.width)
        self._var_enc = {i: _var_encoder(self.dtypes[i]) for i in self.var}
        self._var_dec = {i: _var_decoder(self.dtypes[i]) for i in self.var}
        self._np_types = {i: np.dtype(_FIXED[self.dtypes[i].name]) for i in self.fixed}

    # ------------------------------------------------------------------------------------------ encode

    def encode_columns(self, columns: Sequence[tuple[Any, Any]], ts_us: Any) -> list[bytes]:
        """Rows from columns: per field ``(values, null_mask | None)``; fixed fields as numpy arrays of any
        numeric dtype (timestamps as int µs), the others as lists. ``ts_us`` holds event times in µs."""
        import numpy as np

        ts = np.asarray(ts_us, dtype=np.int64)
        n = len(ts)
        rec = np.zeros(n, dtype=self.record)
        rec["v"] = ROW_FORMAT_VERSION
        rec["s"] = self.schema_id
        rec["t"] = ts
        nulls = np.zeros((n, max(len(self.fields), 1)), dtype=bool)
        for i, (values, null) in enumerate(columns):
            if null is not None:
                nulls[:, i] = null
            elif i in self._var_enc:
                nulls[:, i] = [v is None for v in values]
        rec["n"] = np.packbits(nulls, axis=1, bitorder="little")[:, : self.nbm]
        for i in self.fixed:
            values = np.asarray(columns[i][0])
            col = rec[f"f{i}"]
            col[:] = values.astype(self._np_types[i], copy=False)
            if nulls[:, i].any():
                col[nulls[:, i]] = 0
        raw = rec.tobytes()
        w = self.width
        fixed_parts = [raw[j : j + w] for j in range(0, n * w, w)]
        if not self.var:
            return fixed_parts
        var_cols = [(self._var_enc[i], columns[i][0], nulls[:, i].tolist()) for i in self.var]
        out = []
        pack = _U32.pack
        for r, head in enumerate(fixed_parts):
            parts = [head]
            for enc, values, isnull in var_cols:
                if isnull[r]:
                    parts.append(b"\x00\x00\x00\x00")
                else:
                    b = enc(values[r])
                    parts.append(pack(len(b)))
                    parts.append(b)
            out.append(b"".join(parts))
        return out

    def encode_row(self, values: Sequence[Any], ts_us: int) -> bytes:
        """One row from Python values (None = null; timestamps as datetimes or int µs)."""
        return self.encode_rows([values], [ts_us])[0]

    def encode_rows(self, rows: Sequence[Sequence[Any]], ts_us: Sequence[int]) -> list[bytes]:
        """Rows from Python values, row-major."""
        import numpy as np

        cols: list[tuple[Any, Any]] = []
        for i, d in enumerate(self.dtypes):
            vals = [r[i] for r in rows]
            null = np.array([v is None for v in vals], dtype=bool)
            if i in self._np_types:
                if d.name == "unix_timestamp":
                    vals = [0 if v is None else to_micros(v) for v in vals]
                else:
                    vals = [0 if v is None else v for v in vals]
                cols.append((np.array(vals, dtype=self._np_types[i]), null))
            else:
                cols.append((vals, null))
        return self.encode_columns(cols, np.array([to_micros(t) for t in ts_us], dtype=np.int64))

    # ------------------------------------------------------------------------------------------ decode

    def decode(self, blobs: Sequence[bytes | None]) -> DecodedRows:
        """Columns from N stored rows (None = absent). A row of another version or schema counts as absent."""
        import numpy as np

        w = self.width
        zero = self.zero
        parts = [zero if b is None or len(b) < w else b[:w] for b in blobs] if self.var else [
            zero if b is None or len(b) != w else b for b in blobs
        ]
        rec = np.frombuffer(b"".join(parts), dtype=self.record)
        found = (rec["v"] == ROW_FORMAT_VERSION) & (rec["s"] == self.schema_id)
        ts = rec["t"]
        nfields = len(self.fields)
        nulls = np.unpackbits(rec["n"], axis=1, count=nfields, bitorder="little").view(bool)
        valid_all = ~nulls
        valid_all &= found[:, None]
        values: list[Any] = [None] * nfields
        valid: list[Any] = [valid_all[:, i] for i in range(nfields)]
        for i in self.fixed:
            values[i] = rec[f"f{i}"]
        if self.var:
            self._decode_var(blobs, valid, values)
        return DecodedRows(found, ts, values, valid)

    def _decode_var(self, blobs: Sequence[bytes | None], valid: list[Any], values: list[Any]) -> None:
        w = self.width
        unpack = _U32.unpack_from
        cols: list[list[Any]] = [[] for _ in self.var]
        decs = [self._var_dec[i] for i in self.var]
        valid_rows = [valid[i].tolist() for i in self.var]
        for r, b in enumerate(blobs):
            pos = w
            for k, dec in enumerate(decs):
                if b is None or not valid_rows[k][r]:
                    if b is not None and pos + 4 <= len(b):
                        pos += 4 + unpack(b, pos)[0]
                    cols[k].append(None)
                    continue
                (ln,) = unpack(b, pos)
                cols[k].append(dec(b[pos + 4 : pos + 4 + ln]))
                pos += 4 + ln
        for k, i in enumerate(self.var):
            values[i] = cols[k]
