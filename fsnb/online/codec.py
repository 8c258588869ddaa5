"""The packed row encoding: one value per (entity, feature view) holding every feature and the event timestamp.

Row format 1 (little-endian; docs/format.md has the full description):

``u8 version | u32 schema id | i64 event time (µs, UTC) | null bitmap | fixed values | JSON array of the others``

Fixed-width dtypes (Int32, Int64, Float32, Float64, Bool, UnixTimestamp) sit at fixed offsets, so the fixed parts
of N rows joined together decode with one ``np.frombuffer`` over a structured dtype. The other features follow as
one compact JSON array (in field order), so the variable parts of N rows joined with commas decode with one
``json.loads``. A row whose version or schema id differs from the reader's reads as absent.
"""

from __future__ import annotations

import base64
import json
import operator
import struct
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from fsnb.definitions import Field
from fsnb.types import Array, DType, Map, Struct

__all__ = [
    "ROW_FORMAT_VERSION",
    "TS_OFFSET",
    "DecodedRows",
    "JsonColumn",
    "RowCodec",
    "SegmentsCodec",
    "from_micros",
    "json_texts",
    "loads_json",
    "python_converter",
    "to_micros",
]

ROW_FORMAT_VERSION = 1
#: Byte offset of the event timestamp in a row (the Lua newer-wins script reads it there).
TS_OFFSET = 5

_STRUCT = {"int32": "i", "int64": "q", "float32": "f", "float64": "d", "bool": "?", "unix_timestamp": "q"}
_FIXED = {"int32": "<i4", "int64": "<i8", "float32": "<f4", "float64": "<f8", "bool": "?", "unix_timestamp": "<i8"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_F32 = struct.Struct("<f")
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=True).encode
_scan = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def loads_json(text: bytes) -> Any:
    """``json.loads`` for the compact UTF-8 JSON that fsnb writes: it skips the encoding detection and the two
    whitespace passes (about 3x faster on a row's few values, which the few-rows paths parse one row at a time); any
    other text goes through ``json.loads`` and fails as it would."""
    s = text.decode("utf-8", "surrogatepass")
    try:
        value, end = _scan(s, 0)
    except StopIteration:  # malformed at the start
        end = -1
    return value if end == len(s) else json.loads(s)


_loads = loads_json


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
    """A value of ``dtype`` as plain JSON data: bytes as base64 text, timestamps as µs, float32 rounded."""
    if v is None:
        return None
    name = dtype.name
    if name == "string":
        return v if type(v) is str else str(v)
    if name == "unix_timestamp":
        return to_micros(v)
    if name == "bytes":
        return base64.b64encode(bytes(v)).decode()
    if name in ("int32", "int64"):
        return int(v)
    if name == "float64":
        return float(v)
    if name == "float32":
        return _F32.unpack(_F32.pack(v))[0]
    if name == "bool":
        return bool(v)
    if isinstance(dtype, Array):
        return [_to_jsonable(dtype.element, x) for x in v]
    if isinstance(dtype, Map):
        items = v.items() if hasattr(v, "items") else v  # Arrow maps come as lists of pairs
        return {str(k): _to_jsonable(dtype.value, x) for k, x in items}
    if isinstance(dtype, Struct):
        return {k: _to_jsonable(t, v.get(k)) for k, t in dtype.fields}
    return _json_plain(v)  # Json


def _as_list(v: Any) -> Any:
    if type(v) is list:
        return v
    return v.tolist() if hasattr(v, "tolist") else list(v)


def _json_converter(dtype: DType) -> Any:
    """A fast ``_to_jsonable`` for one dtype, or None when its Python values are JSON-ready as they come."""
    name = dtype.name
    if name == "string":
        return None
    if isinstance(dtype, Array) and dtype.element.name in ("string", "int64", "int32", "float64", "bool"):
        return _as_list
    if isinstance(dtype, Map) and dtype.value.name in ("string", "int64", "int32", "float64", "bool"):
        return lambda v: v if type(v) is dict else dict(v.items() if hasattr(v, "items") else v)
    return lambda v: _to_jsonable(dtype, v)


def _json_plain(v: Any) -> Any:
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    if isinstance(v, dict):
        return {str(k): _json_plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_json_plain(x) for x in v]
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, (bytes, bytearray)):
        return base64.b64encode(bytes(v)).decode()
    if hasattr(v, "tolist"):  # numpy scalars and arrays
        return _json_plain(v.tolist())
    raise TypeError(f"{type(v).__name__} is not JSON serialisable")


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
    """Whether this dtype's JSON data is its Python value (no conversion on the way back)."""
    if isinstance(dtype, Map):
        return _plain(dtype.value)
    if isinstance(dtype, Struct):
        return all(_plain(t) for _, t in dtype.fields)
    if isinstance(dtype, Array):
        return _plain(dtype.element)
    return dtype.name not in ("unix_timestamp", "bytes")


def python_converter(dtype: DType) -> Any:
    """What turns one decoded value of ``dtype`` (a fixed value as ``struct`` unpacks it, or the JSON data of a
    variable one) into its Python value; None when it already is one. Never called with None."""
    if dtype.name == "unix_timestamp":
        return from_micros
    if _is_fixed(dtype) or _plain(dtype):
        return None
    return lambda v: _from_jsonable(dtype, v)


# ------------------------------------------------------------------------------- vectorised JSON from Arrow
#
# The JSON text of a whole Arrow column, value by value, built with Arrow compute kernels from its buffers
# (offsets + values) instead of Python objects. The text is byte for byte what ``_dumps`` writes for the same
# values (tests/unit/test_codec_arrow.py compares both on random data); a column this cannot encode exactly
# (Bytes, Map, Struct, Json, odd Arrow types) gives None and takes the per-value path.

#: characters ``json`` escapes in a string (with ensure_ascii=False)
_NEEDS_ESCAPE = r'[\x00-\x1f"\\]'
_INT_TYPES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")


class JsonColumn:
    """A variable-width column already in row format: each row's JSON text (``null`` for a null value) as an
    Arrow ``large_string`` array, for :meth:`RowCodec.encode_columns`."""

    __slots__ = ("texts",)

    def __init__(self, texts: Any) -> None:
        self.texts = texts

    def __len__(self) -> int:
        return len(self.texts)


def _text(value: str) -> Any:
    """A large_string scalar (Arrow's string kernels want every argument of one type)."""
    import pyarrow as pa

    return pa.scalar(value, pa.large_string())


def _float_json(v: float) -> str:
    """One float as ``json`` writes it."""
    if v != v:
        return "NaN"
    if v == float("inf"):
        return "Infinity"
    if v == -float("inf"):
        return "-Infinity"
    return float.__repr__(v)


def _patch(texts: Any, mask: np.ndarray, values: list[str]) -> Any:
    """``texts`` with the positions set in ``mask`` replaced by ``values`` (in order)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.replace_with_mask(texts, pa.array(mask), pa.array(values, pa.large_string()))


def _json_floats(arr: Any) -> Any:
    """JSON numbers of a float64 array without nulls. Arrow's shortest round-trip digits are Python's ``repr``
    digits; only the layout differs (Arrow writes ``5`` for ``5.0`` and switches to exponents at other
    magnitudes), so values ``repr`` writes positionally and Arrow did too get ``.0`` where they lack a point, and
    the rest (exponents, NaN, infinities) go through ``repr`` one by one."""
    import pyarrow as pa
    import pyarrow.compute as pc

    x = arr.to_numpy(zero_copy_only=False)
    texts = pc.cast(arr, pa.large_string())
    with np.errstate(invalid="ignore"):
        a = np.abs(x)
        ok = ((a >= 1e-4) & (a < 1e16)) | (x == 0)
    ok &= ~pc.match_substring(texts, "e").to_numpy(zero_copy_only=False)
    if not ok.all():
        texts = _patch(texts, ~ok, [_float_json(v) for v in x[~ok].tolist()])
    point = ok & ~pc.match_substring(texts, ".").to_numpy(zero_copy_only=False)
    if point.any():
        texts = pc.if_else(pa.array(point), pc.binary_join_element_wise(texts, _text(".0"), _text("")), texts)
    return texts


def _json_strings(arr: Any) -> Any:
    """JSON strings of a string array (nulls stay null)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if arr.type != pa.large_string():
        arr = arr.cast(pa.large_string())
    texts = pc.binary_join_element_wise(_text('"'), arr, _text('"'), _text(""))
    if _may_need_escapes(arr):
        bad = pc.fill_null(pc.match_substring_regex(arr, _NEEDS_ESCAPE), False).to_numpy(zero_copy_only=False)
        if bad.any():
            texts = _patch(texts, bad, [_dumps(v) for v in arr.filter(pa.array(bad)).to_pylist()])
    return texts


def _may_need_escapes(arr: Any) -> bool:
    """Whether any byte of a large_string array's data buffer is one ``json`` escapes (a quick scan of the whole
    buffer with numpy; most columns have none, and then no value needs a closer look)."""
    data = arr.buffers()[2]
    if data is None:
        return False
    b = np.frombuffer(data, dtype=np.uint8)
    return bool(((b < 0x20) | (b == 0x22) | (b == 0x5C)).any())


def _json_elements(arr: Any, dtype: DType) -> Any:
    """JSON texts (``null`` for nulls) of the values of an Arrow array fed to elements of ``dtype``, or None when
    this Arrow type needs the per-value path to come out exactly as it does."""
    import pyarrow as pa
    import pyarrow.compute as pc

    t = arr.type
    name = dtype.name
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        if name != "string":
            return None
        texts = _json_strings(arr)
    elif str(t) in _INT_TYPES and name in ("int32", "int64", "float64"):  # ints stay ints, as they do in Python
        texts = pc.cast(arr, pa.large_string())
    elif (pa.types.is_float64(t) and name == "float64") or (pa.types.is_float32(t) and name in ("float32", "float64")):
        texts = _json_floats(pc.fill_null(arr, 0.0).cast(pa.float64()))
    elif pa.types.is_boolean(t) and name == "bool":
        texts = pc.if_else(arr, _text("true"), _text("false"))
    else:
        return None
    if arr.null_count:
        texts = pc.if_else(arr.is_null(), _text("null"), texts)
    return texts


def json_texts(arr: Any, dtype: DType) -> JsonColumn | None:
    """The JSON text of every value of an Arrow array (no chunks, no dictionary) as a feature of ``dtype``
    (String or Array), as the row format holds it; None when only the per-value path encodes it exactly."""
    import pyarrow as pa
    import pyarrow.compute as pc

    t = arr.type
    if dtype.name == "string":
        texts = _json_elements(arr, dtype)
        return None if texts is None else JsonColumn(texts)
    if not isinstance(dtype, Array) or not (pa.types.is_list(t) or pa.types.is_large_list(t)):
        return None
    offsets = arr.offsets
    values = arr.values
    start, end = offsets[0].as_py(), offsets[-1].as_py()
    if start or end != len(values):  # a slice: only the child values it covers
        values = values.slice(start, end - start)
        offsets = pc.subtract(offsets, pa.scalar(start, offsets.type))
    elements = _json_elements(values, dtype.element)
    if elements is None:
        return None
    lists = pa.LargeListArray.from_arrays(offsets.cast(pa.int64()), elements)
    texts = pc.binary_join_element_wise(_text("["), pc.binary_join(lists, _text(",")), _text("]"), _text(""))
    if arr.null_count:
        texts = pc.if_else(arr.is_null(), _text("null"), texts)
    return JsonColumn(texts)


# ---------------------------------------------------------------------------------------------- codec


class DecodedRows:
    """Columns decoded from N rows: ``found`` and ``ts`` per row, ``values``/``valid`` per field.

    Fixed-width fields come as numpy arrays (garbage where not valid); the others as lists (None where not valid).
    """

    __slots__ = ("found", "ok", "ts", "valid", "values")

    def __init__(
        self, found: np.ndarray, ts: np.ndarray, values: list[Any], valid: list[Any], ok: Any = None
    ) -> None:
        self.found = found
        self.ts = ts
        self.values = values
        self.valid = valid
        #: the (rows x fields) validity matrix ``valid`` is cut from, when there is one
        self.ok = ok


class RowCodec:
    """Encodes and decodes packed rows for one ordered list of fields (a feature view's, or a projection's)."""

    def __init__(self, fields: Sequence[Field]) -> None:
        self.fields = tuple(fields)
        self.dtypes = tuple(f.dtype for f in self.fields)
        text = "\n".join(f"{f.name}:{f.dtype.name}" for f in self.fields)
        self.schema_id = zlib.crc32(text.encode())
        n = len(self.fields)
        self.nbm = (n + 7) // 8
        self.fixed = [i for i, d in enumerate(self.dtypes) if _is_fixed(d)]
        self.var = [i for i, d in enumerate(self.dtypes) if not _is_fixed(d)]
        self.spec: list[Any] = [("v", "u1"), ("s", "<u4"), ("t", "<i8"), ("n", "u1", (self.nbm,))]
        self.spec += [(f"f{i}", _FIXED[self.dtypes[i].name]) for i in self.fixed]
        self.record = np.dtype(self.spec)
        self.width = self.record.itemsize
        self.zero = bytes(self.width)
        #: the JSON of an absent row's variable part (without brackets)
        self.var_nulls = b",".join([b"null"] * len(self.var))
        self._np_types = {i: np.dtype(_FIXED[self.dtypes[i].name]) for i in self.fixed}
        self._var_plain = [_plain(self.dtypes[i]) for i in self.var]
        self._var_to_json = [_json_converter(self.dtypes[i]) for i in self.var]
        self.struct_fmt = f"BIq{self.nbm}s" + "".join(_STRUCT[self.dtypes[i].name] for i in self.fixed)
        self._struct = struct.Struct("<" + self.struct_fmt)
        self._ts_fields = [k for k, i in enumerate(self.fixed) if self.dtypes[i].name == "unix_timestamp"]
        self._var_conv = [
            (k, self.dtypes[i]) for k, i in enumerate(self.var) if not self._var_plain[k]
        ]
        order = self.fixed + self.var  # unpacked position → field index
        pos_of = {i: pos for pos, i in enumerate(order)}
        self._to_field_order = (
            None if order == sorted(order) else operator.itemgetter(*[pos_of[i] for i in range(n)])
        )

    # ------------------------------------------------------------------------------------------ encode

    def encode_columns(self, columns: Sequence[tuple[Any, Any]], ts_us: Any) -> list[bytes]:
        """Rows from columns: per field ``(values, null_mask | None)``; fixed fields as numpy arrays of any
        numeric dtype (timestamps as int µs), the others as lists. ``ts_us`` holds event times in µs."""
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
            elif i not in self._np_types and not isinstance(values, JsonColumn):
                nulls[:, i] = [v is None for v in values]
        rec["n"] = np.packbits(nulls, axis=1, bitorder="little")[:, : self.nbm]
        for i in self.fixed:
            col = rec[f"f{i}"]
            col[:] = np.asarray(columns[i][0]).astype(self._np_types[i], copy=False)
            if nulls[:, i].any():
                col[nulls[:, i]] = 0
        raw = rec.tobytes()
        w = self.width
        if self.var and any(isinstance(columns[i][0], JsonColumn) for i in self.var):
            return self._join_texts(raw, n, columns, nulls)
        fixed_parts = [raw[j : j + w] for j in range(0, n * w, w)]
        if not self.var:
            return fixed_parts
        var_cols = []
        for k, i in enumerate(self.var):
            values, isnull = columns[i][0], nulls[:, i].tolist()
            conv = self._var_to_json[k]
            if conv is None:
                var_cols.append([None if z else v for v, z in zip(values, isnull)])
            else:
                var_cols.append([None if z else conv(v) for v, z in zip(values, isnull)])
        dumps = _dumps
        return [head + dumps(list(vals)).encode() for head, vals in zip(fixed_parts, zip(*var_cols))]

    def _join_texts(self, raw: bytes, n: int, columns: Sequence[tuple[Any, Any]], nulls: np.ndarray) -> list[bytes]:
        """Rows from the fixed parts and the variable columns, some already JSON (:class:`JsonColumn`): every row's
        ``fixed part | [v1,v2,...]`` joined by Arrow in one pass, then cut into one ``bytes`` per row."""
        import pyarrow as pa
        import pyarrow.compute as pc

        w = self.width
        if n == 0:
            return []
        heads = pa.Array.from_buffers(
            pa.large_binary(), n, [None, pa.py_buffer(np.arange(0, (n + 1) * w, w, dtype=np.int64)), pa.py_buffer(raw)]
        )
        parts: list[Any] = [heads, pa.scalar(b"[", pa.large_binary())]
        dumps = _dumps
        for k, i in enumerate(self.var):
            values = columns[i][0]
            if isinstance(values, JsonColumn):
                texts = values.texts
            else:
                conv = self._var_to_json[k]
                texts = pa.array(
                    [
                        "null" if z else dumps(v if conv is None else conv(v))
                        for v, z in zip(values, nulls[:, i].tolist())
                    ],
                    pa.large_string(),
                )
            if k:
                parts.append(pa.scalar(b",", pa.large_binary()))
            parts.append(texts.cast(pa.large_binary()))
        parts += [pa.scalar(b"]", pa.large_binary()), pa.scalar(b"", pa.large_binary())]
        rows: list[bytes] = pc.binary_join_element_wise(*parts).to_pylist()
        return rows

    def encode_row(self, values: Sequence[Any], ts_us: Any) -> bytes:
        """One row from Python values (None = null; timestamps as datetimes or int µs)."""
        return self.encode_rows([values], [ts_us])[0]

    def encode_rows(self, rows: Sequence[Sequence[Any]], ts_us: Sequence[Any]) -> list[bytes]:
        """Rows from Python values, row-major."""
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
        w = self.width
        zero = self.zero
        if self.var:
            fixed = [zero if b is None or len(b) <= w else b[:w] for b in blobs]
        else:
            fixed = [zero if b is None or len(b) != w else b for b in blobs]
        rec = np.frombuffer(b"".join(fixed), dtype=self.record)
        d = self.decode_record(rec, "")
        if self.var:
            found = d.found.tolist()
            nulls = self.var_nulls
            texts = [b[w + 1 : -1] if ok else nulls for b, ok in zip(blobs, found)]  # type: ignore[index]
            self.decode_var(d, texts)
        return d

    def decode_record(self, rec: Any, prefix: str) -> DecodedRows:
        """The fixed part from a structured array whose fields are this codec's, named ``prefix + name``."""
        found = (rec[prefix + "v"] == ROW_FORMAT_VERSION) & (rec[prefix + "s"] == self.schema_id)
        nfields = len(self.fields)
        bits = np.unpackbits(rec[prefix + "n"], axis=1, count=nfields, bitorder="little").view(bool)
        ok = ~bits
        ok &= found[:, None]
        values: list[Any] = [None] * nfields
        valid: list[Any] = [ok[:, i] for i in range(nfields)]
        for i in self.fixed:
            values[i] = rec[f"{prefix}f{i}"]
        return DecodedRows(found, rec[prefix + "t"], values, valid, ok)

    def decode_var(self, d: DecodedRows, texts: Sequence[bytes]) -> None:
        """Fill the variable fields of ``d`` from each row's JSON array contents (no brackets)."""
        if not texts:
            for i in self.var:
                d.values[i] = []
            return
        # one flat JSON array for all rows: no list per row (fewer objects for the GC), columns by slicing
        flat = _loads(b"[" + b",".join(texts) + b"]")
        k = len(self.var)
        self.var_columns(d, [flat[j::k] for j in range(k)] if k > 1 else [flat])

    def var_columns(self, d: DecodedRows, cols: Sequence[list[Any]]) -> None:
        """Set the variable fields of ``d`` from decoded JSON columns (one new list per variable field)."""
        for k, i in enumerate(self.var):
            col = cols[k]
            if self._var_plain[k]:
                d.values[i] = col
            else:
                dtype = self.dtypes[i]
                d.values[i] = [None if v is None else _from_jsonable(dtype, v) for v in col]


    # --------------------------------------------------------------------------------- small batches

    def row_values(self, fixed: Sequence[Any], var: list[Any] | None) -> list[Any] | None:
        """Python values of one row in field order from its unpacked fixed tuple (version, schema id, time,
        bitmap, values...) and its decoded JSON list; None if the row is of another version or schema."""
        if fixed[0] != ROW_FORMAT_VERSION or fixed[1] != self.schema_id:
            return None
        vals = list(fixed[4:])
        for k in self._ts_fields:
            vals[k] = from_micros(vals[k])
        if var is not None:
            for k, dtype in self._var_conv:
                if var[k] is not None:
                    var[k] = _from_jsonable(dtype, var[k])
            vals += var
        out = list(self._to_field_order(vals)) if self._to_field_order is not None else vals
        bm = fixed[3]
        if any(bm):
            for i in range(len(out)):
                if bm[i >> 3] >> (i & 7) & 1:
                    out[i] = None
        return out

    def decode_py(self, blobs: Sequence[bytes | None]) -> list[tuple[int, list[Any]] | None]:
        """Per row, ``(event time µs, values in field order)`` or None when absent: the path for a few rows,
        where numpy's per-call cost outweighs its per-row speed."""
        w = self.width
        unpack = self._struct.unpack_from
        out: list[tuple[int, list[Any]] | None] = []
        for b in blobs:
            if b is None or len(b) < w or (not self.var and len(b) != w):
                out.append(None)
                continue
            fixed = unpack(b)
            if fixed[0] != ROW_FORMAT_VERSION or fixed[1] != self.schema_id:  # another schema: bytes differ
                out.append(None)
                continue
            vals = self.row_values(fixed, _loads(b[w:]) if self.var else None)
            out.append(None if vals is None else (fixed[2], vals))
        return out


class SegmentsCodec:
    """Several row codecs laid side by side in one value (a precomputed vector): all fixed parts first, at fixed
    offsets, then one JSON array with every segment's variable values in order."""

    def __init__(self, codecs: Sequence[RowCodec], header: int) -> None:
        self.codecs = list(codecs)
        self.header = header
        spec: list[Any] = []
        for j, c in enumerate(self.codecs):
            spec += [(f"g{j}{name}", *rest) for name, *rest in c.spec]
        self.record = np.dtype(spec)
        self.width = self.record.itemsize
        self.zero = bytes(self.width)
        self.var_counts = [len(c.var) for c in self.codecs]
        self.var_nulls = b",".join([b"null"] * sum(self.var_counts))
        #: one struct over every segment's fixed part; its tuple holds, per segment, (version, schema id, event time,
        #: null bitmap, fixed values...) from ``spans[j][0]`` to ``spans[j][1]``
        self.struct = struct.Struct("<" + "".join(c.struct_fmt for c in self.codecs))
        #: per segment, (start, end) of its items in the struct's tuple and of its values in the JSON array
        self.spans: list[tuple[int, int, int, int]] = []
        pos = 0
        vpos = 0
        for c in self.codecs:
            n = 4 + len(c.fixed)
            self.spans.append((pos, pos + n, vpos, vpos + len(c.var)))
            pos += n
            vpos += len(c.var)

    def decode_py(self, bodies: Sequence[bytes | None]) -> list[list[tuple[int, list[Any]] | None]]:
        """Per segment, per vector, ``(event time µs, values)`` or None (the few-rows path)."""
        h = self.header
        end = h + self.width
        unpack = self.struct.unpack_from
        has_var = any(self.var_counts)
        out: list[list[tuple[int, list[Any]] | None]] = [[] for _ in self.codecs]
        for b in bodies:
            if b is None:
                for o in out:
                    o.append(None)
                continue
            fixed = unpack(b, h)
            var = _loads(b[end:]) if has_var else None
            for c, o, (a, z, va, vz) in zip(self.codecs, out, self.spans):
                part = fixed[a:z]
                vals = c.row_values(part, var[va:vz] if c.var else None)  # type: ignore[index]
                o.append(None if vals is None else (part[2], vals))
        return out

    def join(self, segments: Sequence[bytes | None]) -> bytes:
        """One vector body from each segment's stored row (None: the view has no row)."""
        fixed = []
        var = []
        for c, s in zip(self.codecs, segments):
            if s is None:
                fixed.append(c.zero)
                if c.var:
                    var.append(c.var_nulls)
            else:
                fixed.append(s[: c.width])
                if c.var:
                    var.append(s[c.width + 1 : -1])
        return b"".join(fixed) + b"[" + b",".join(var) + b"]"

    def decode(self, bodies: Sequence[bytes | None]) -> list[DecodedRows]:
        """Per segment, the columns of N vector bodies (None: no vector)."""
        h, w = self.header, self.width
        end = h + w
        fixed = [self.zero if b is None else b[h:end] for b in bodies]
        rec = np.frombuffer(b"".join(fixed), dtype=self.record)
        out = [c.decode_record(rec, f"g{j}") for j, c in enumerate(self.codecs)]
        if any(self.var_counts):
            nulls = self.var_nulls
            texts = [nulls if b is None else b[end + 1 : -1] for b in bodies]
            flat = _loads(b"[" + b",".join(texts) + b"]")
            total = sum(self.var_counts)
            cols = [flat[j::total] for j in range(total)]
            pos = 0
            for c, d, k in zip(self.codecs, out, self.var_counts):
                if k:
                    c.var_columns(d, cols[pos : pos + k])
                    pos += k
        return out
