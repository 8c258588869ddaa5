"""The vectorised write path (JSON straight from Arrow buffers) writes exactly the bytes of the per-value encoder.

The reference below is the per-value encoder as it was before the write path was vectorised (``to_pylist`` and
one ``json`` encode per row), kept here verbatim so that every stored row stays valid and decoders need no change.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fsnb.definitions import Field
from fsnb.online import codec as codec_module
from fsnb.online.codec import JsonColumn, RowCodec, json_texts
from fsnb.online.writes import arrow_column_values
from fsnb.types import Array, Bool, Bytes, DType, Float32, Float64, Int32, Int64, Map, String, UnixTimestamp

# ------------------------------------------------------------------------------ the reference (old) encoder

_ref_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=True).encode


def _ref_arrow_column_values(col: Any, dtype: DType) -> tuple[Any, Any]:
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    null = col.is_null().to_numpy(zero_copy_only=False) if col.null_count else None
    kind = dtype.name
    if kind in ("int32", "int64", "float32", "float64", "bool"):
        if null is not None:
            col = pc.fill_null(col, False if kind == "bool" else 0)
        return col.to_numpy(zero_copy_only=False), null
    if kind == "unix_timestamp":  # fixed width: not what changed
        return arrow_column_values(col, dtype, "t")
    values = col.to_pylist()
    if kind != "string" and kind != "bytes" and (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        values = [None if v is None else json.loads(v) for v in values]
    return values, null


def _ref_as_list(v: Any) -> Any:
    if type(v) is list:
        return v
    return v.tolist() if hasattr(v, "tolist") else list(v)


def _ref_json_converter(dtype: DType) -> Any:
    name = dtype.name
    if name == "string":
        return None
    if isinstance(dtype, Array) and dtype.element.name in ("string", "int64", "int32", "float64", "bool"):
        return _ref_as_list
    if isinstance(dtype, Map) and dtype.value.name in ("string", "int64", "int32", "float64", "bool"):
        return lambda v: v if type(v) is dict else dict(v.items() if hasattr(v, "items") else v)
    return lambda v: codec_module._to_jsonable(dtype, v)


def _ref_encode_columns(codec: RowCodec, columns: Any, ts_us: Any) -> list[bytes]:
    ts = np.asarray(ts_us, dtype=np.int64)
    n = len(ts)
    rec = np.zeros(n, dtype=codec.record)
    rec["v"] = codec_module.ROW_FORMAT_VERSION
    rec["s"] = codec.schema_id
    rec["t"] = ts
    nulls = np.zeros((n, max(len(codec.fields), 1)), dtype=bool)
    np_types = {i: np.dtype(codec_module._FIXED[codec.dtypes[i].name]) for i in codec.fixed}
    for i, (values, null) in enumerate(columns):
        if null is not None:
            nulls[:, i] = null
        elif i not in np_types:
            nulls[:, i] = [v is None for v in values]
    rec["n"] = np.packbits(nulls, axis=1, bitorder="little")[:, : codec.nbm]
    for i in codec.fixed:
        col = rec[f"f{i}"]
        col[:] = np.asarray(columns[i][0]).astype(np_types[i], copy=False)
        if nulls[:, i].any():
            col[nulls[:, i]] = 0
    raw = rec.tobytes()
    w = codec.width
    fixed_parts = [raw[j : j + w] for j in range(0, n * w, w)]
    if not codec.var:
        return fixed_parts
    var_cols = []
    for i in codec.var:
        values, isnull = columns[i][0], nulls[:, i].tolist()
        conv = _ref_json_converter(codec.dtypes[i])
        if conv is None:
            var_cols.append([None if z else v for v, z in zip(values, isnull)])
        else:
            var_cols.append([None if z else conv(v) for v, z in zip(values, isnull)])
    return [head + _ref_dumps(list(vals)).encode() for head, vals in zip(fixed_parts, zip(*var_cols))]


def _encode_both(fields: list[Field], table: pa.Table) -> tuple[list[bytes], list[bytes]]:
    codec = RowCodec(fields)
    ts = np.arange(table.num_rows, dtype=np.int64) * 1_000_003 - 5
    new = [arrow_column_values(table.column(f.name), f.dtype, f.name) for f in fields]
    ref = [_ref_arrow_column_values(table.column(f.name), f.dtype) for f in fields]
    return codec.encode_columns(new, ts), _ref_encode_columns(codec, ref, ts)


# ----------------------------------------------------------------------------------------- random data

_SPECIAL = st.sampled_from(list('"\\\n\r\t\b\f\x00\x1f\x7f\u2028é😀'))  # escaped, or near what is
_TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",)) | _SPECIAL,
    max_size=12,
)
_FLOAT = st.floats() | st.sampled_from([0.0, -0.0, 1.0, 1e16, 1e15, 9999999999999998.0, 1e-4, 9.999999999999999e-05,
                                        1e-5, 5e-324, 1.7976931348623157e308, 2.0**53 + 2, 123456789.125])
_INT64 = st.integers(-(2**63), 2**63 - 1)
_INT32 = st.integers(-(2**31), 2**31 - 1)

#: (feature dtype, Arrow type of the column, values)
_CASES: list[tuple[DType, pa.DataType, st.SearchStrategy[Any]]] = [
    (String, pa.string(), _TEXT),
    (String, pa.large_string(), _TEXT),
    (String, pa.string_view(), _TEXT),
    (Array(Float64), pa.list_(pa.float64()), _FLOAT),
    (Array(Float64), pa.large_list(pa.float64()), _FLOAT),
    (Array(Float64), pa.list_(pa.float32()), st.floats(width=32)),
    (Array(Float64), pa.list_(pa.int64()), _INT64),
    (Array(Float32), pa.list_(pa.float32()), st.floats(width=32)),
    (Array(Float32), pa.list_(pa.float64()), st.floats(-1e30, 1e30)),  # per-value path
    (Array(Int64), pa.list_(pa.int64()), _INT64),
    (Array(Int64), pa.list_(pa.int32()), _INT32),
    (Array(Int32), pa.list_(pa.int32()), _INT32),
    (Array(Bool), pa.list_(pa.bool_()), st.booleans()),
    (Array(String), pa.list_(pa.string()), _TEXT),
    (Array(String), pa.large_list(pa.large_string()), _TEXT),
    (Array(Bytes), pa.list_(pa.binary()), st.binary(max_size=8)),  # per-value path
    (Bytes, pa.binary(), st.binary(max_size=8)),  # per-value path
    (Map(Float64), pa.map_(pa.string(), pa.float64()), st.floats(allow_nan=False)),  # per-value path
]
_FIXED_CASES: list[tuple[DType, pa.DataType, st.SearchStrategy[Any]]] = [
    (Int64, pa.int64(), _INT64),
    (Float32, pa.float32(), st.floats(width=32)),
    (Bool, pa.bool_(), st.booleans()),
]


def _column(data: st.DataObject, dtype: DType, atype: pa.DataType, values: st.SearchStrategy[Any], n: int) -> Any:
    if isinstance(dtype, Map):
        item = st.none() | st.dictionaries(st.text(max_size=4), st.none() | values, max_size=3).map(
            lambda d: list(d.items())
        )
    elif isinstance(dtype, Array):
        item = st.none() | st.lists(st.none() | values, max_size=5)
    else:
        item = st.none() | values
    pad = data.draw(st.integers(0, 2))  # sliced arrays: the column starts inside its buffers
    rows = data.draw(st.lists(item, min_size=n + pad, max_size=n + pad))
    arr = pa.array(rows, atype).slice(pad, n)
    if n > 1 and data.draw(st.booleans()):  # several chunks
        return pa.chunked_array([arr.slice(0, 1), arr.slice(1)])
    return arr


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_arrow_write_path_bytes_equal_the_per_value_encoder(data: st.DataObject) -> None:
    cases = data.draw(st.lists(st.sampled_from(_CASES + _FIXED_CASES), min_size=1, max_size=7))
    n = data.draw(st.integers(1, 12))
    fields = [Field(f"f{i}", d) for i, (d, _, _) in enumerate(cases)]
    table = pa.table({f.name: _column(data, d, t, v, n) for f, (d, t, v) in zip(fields, cases)})
    new, ref = _encode_both(fields, table)
    assert new == ref


def test_the_banking_shapes_take_the_vectorised_path() -> None:
    lists = pa.array([[1.5, None], [], None, [2.0]], pa.list_(pa.float64()))
    assert isinstance(json_texts(lists, Array(Float64)), JsonColumn)
    assert isinstance(json_texts(pa.array(["a", None]), String), JsonColumn)
    assert isinstance(json_texts(pa.array([["a"], None]), Array(String)), JsonColumn)
    assert json_texts(pa.array([b"a"]), Bytes) is None
    assert json_texts(pa.array([[1.5]], pa.list_(pa.float64())), Array(Float32)) is None
    assert json_texts(lists, Array(Float64)).texts.to_pylist() == ["[1.5,null]", "[]", "null", "[2.0]"]  # type: ignore[union-attr]


@pytest.mark.parametrize("seed", [0, 1])
def test_floats_of_every_magnitude_read_as_python_writes_them(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = np.concatenate([
        rng.integers(0, 2**64, 50_000, dtype=np.uint64).view(np.float64),  # every bit pattern: NaNs, subnormals
        rng.standard_normal(50_000) * 10.0 ** rng.integers(-20, 22, 50_000),
        np.round(rng.random(50_000) * 10.0 ** rng.integers(0, 17, 50_000), 2),
        rng.integers(-(10**17), 10**17, 20_000).astype(np.float64),
    ])
    got = codec_module._json_floats(pa.array(x)).to_pylist()
    assert got == [_ref_dumps(v) for v in x.tolist()]


def test_many_rows_in_one_batch() -> None:
    n = 5000
    rng = np.random.default_rng(3)
    amounts = [None if i % 97 == 0 else np.round(rng.random(i % 7) * 500, 2).tolist() for i in range(n)]
    cats = [None if i % 89 == 0 else [f"c{j}é" for j in range(i % 4)] for i in range(n)]
    table = pa.table({
        "a": pa.array(amounts, pa.list_(pa.float64())),
        "c": pa.array(cats, pa.list_(pa.string())),
        "s": pa.array([None if i % 5 == 0 else f'v"{i}' for i in range(n)]),
        "t": pa.array([datetime(2024, 1, 1, tzinfo=UTC)] * n, pa.timestamp("us", tz="UTC")),
    })
    fields = [Field("a", Array(Float64)), Field("c", Array(String)), Field("s", String), Field("t", UnixTimestamp)]
    new, ref = _encode_both(fields, table)
    assert new == ref
    decoded = RowCodec(fields).decode(new)
    assert decoded.values[0] == amounts and decoded.values[1] == cats
