"""The dtype system: text forms that round-trip, Arrow and pandas mappings, which source types fit."""

from __future__ import annotations

import pickle

import pyarrow as pa
import pytest

import fsnb
from fsnb.errors import DefinitionError
from fsnb.types import parse_dtype

ALL = [
    fsnb.Int32, fsnb.Int64, fsnb.Float32, fsnb.Float64, fsnb.String, fsnb.Bytes, fsnb.Bool, fsnb.UnixTimestamp,
    fsnb.Json, fsnb.Array(fsnb.Int64), fsnb.Array(fsnb.String), fsnb.Map(fsnb.Float64), fsnb.Map(),
    fsnb.Struct({"city": fsnb.String, "zip": fsnb.Int32}),
    fsnb.Struct({"tags": fsnb.Array(fsnb.String), "scores": fsnb.Map(fsnb.Float64)}),
]


@pytest.mark.parametrize("dtype", ALL, ids=lambda d: d.name)
def test_text_form_round_trips(dtype: fsnb.types.DType) -> None:
    assert parse_dtype(dtype.name) == dtype
    if "struct" not in dtype.name:  # struct field names keep their case
        assert parse_dtype(dtype.name.upper()) == dtype
    assert pickle.loads(pickle.dumps(dtype)) == dtype
    assert hash(parse_dtype(dtype.name)) == hash(dtype)
    assert isinstance(dtype.to_arrow(), pa.DataType)


def test_aliases_and_names() -> None:
    assert parse_dtype("timestamp") == fsnb.UnixTimestamp
    assert parse_dtype("list<int64>") == fsnb.Array(fsnb.Int64)
    assert parse_dtype(" Float ") == fsnb.Float64
    assert fsnb.Struct({"a": fsnb.Int32}).name == "struct<a:int32>"
    assert repr(fsnb.Map(fsnb.Int64)) == "map<int64>"


def test_unknown_dtype_lists_the_options() -> None:
    with pytest.raises(DefinitionError, match=r"unknown dtype 'decimal'.*int64"):
        parse_dtype("decimal")


def test_composites_reject_nested_composites_where_unsupported() -> None:
    with pytest.raises(DefinitionError, match="scalar"):
        fsnb.Array(fsnb.Array(fsnb.Int64))
    with pytest.raises(DefinitionError, match="unique"):
        fsnb.Struct([("a", fsnb.Int64), ("a", fsnb.String)])


def test_arrow_and_pandas_mappings() -> None:
    assert fsnb.Int64.to_arrow() == pa.int64()
    assert fsnb.UnixTimestamp.to_arrow() == pa.timestamp("us", tz="UTC")
    assert fsnb.Array(fsnb.Float32).to_arrow() == pa.list_(pa.float32())
    assert fsnb.Map(fsnb.Int64).to_arrow() == pa.map_(pa.string(), pa.int64())
    assert fsnb.Json.to_arrow() == pa.string()
    assert str(fsnb.Int64.pandas_dtype) == "Int64" and str(fsnb.Bool.pandas_dtype) == "boolean"


@pytest.mark.parametrize(
    ("dtype", "arrow", "fits"),
    [
        (fsnb.Int64, pa.int32(), True),
        (fsnb.Int64, pa.uint64(), False),
        (fsnb.Int32, pa.int64(), True),  # range is checked when values are written
        (fsnb.Int32, pa.uint64(), False),
        (fsnb.Float64, pa.int64(), True),
        (fsnb.String, pa.int64(), False),
        (fsnb.String, pa.dictionary(pa.int32(), pa.string()), True),
        (fsnb.Bool, pa.int8(), False),
        (fsnb.UnixTimestamp, pa.timestamp("ns"), True),
        (fsnb.UnixTimestamp, pa.string(), False),
        (fsnb.Array(fsnb.Int64), pa.list_(pa.int32()), True),
        (fsnb.Array(fsnb.Int64), pa.list_(pa.string()), False),
        (fsnb.Map(fsnb.Float64), pa.map_(pa.string(), pa.float64()), True),
        (fsnb.Struct({"a": fsnb.Int64}), pa.struct([("a", pa.int64()), ("b", pa.string())]), True),
        (fsnb.Struct({"a": fsnb.Int64}), pa.struct([("b", pa.int64())]), False),
        (fsnb.Json, pa.struct([("x", pa.int64())]), True),
        (fsnb.Int64, pa.null(), True),
    ],
)
def test_which_source_types_fit(dtype: fsnb.types.DType, arrow: pa.DataType, fits: bool) -> None:
    assert dtype.accepts_arrow(arrow) is fits
