"""Entity keys and packed rows: canonical, type-aware, and lossless for every dtype (hypothesis)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fsnb import errors
from fsnb.definitions import Field
from fsnb.online.codec import ROW_FORMAT_VERSION, RowCodec, to_micros
from fsnb.online.keys import decode_entity_key, encode_entity_keys
from fsnb.types import (
    Array,
    Bool,
    Bytes,
    DType,
    Float32,
    Float64,
    Int32,
    Int64,
    Json,
    Map,
    String,
    Struct,
    UnixTimestamp,
)

# ------------------------------------------------------------------------------------------ entity keys

IK = Field("id", Int64)
S = Field("id", String)


def test_keys_are_type_aware_and_canonical() -> None:
    assert encode_entity_keys([IK], [[1]]) != encode_entity_keys([S], [["1"]])
    assert encode_entity_keys([IK], [[1]]) == encode_entity_keys([Field("id", Int32)], [[1]])
    a, b = Field("a", String), Field("b", Int64)
    # field order in the definition does not matter; names do
    assert encode_entity_keys([a, b], [["x"], [2]]) == encode_entity_keys([b, a], [[2], ["x"]])
    assert encode_entity_keys([Field("c", String), b], [["x"], [2]]) != encode_entity_keys([a, b], [["x"], [2]])
    # no ambiguity between compound parts
    k1 = encode_entity_keys([a, Field("z", String)], [["ab"], ["c"]])
    k2 = encode_entity_keys([a, Field("z", String)], [["a"], ["bc"]])
    assert k1 != k2


def test_vectorised_int_keys_equal_scalar_ones() -> None:
    ids = [0, 1, -1, 2**63 - 1, -(2**63), *range(20)]
    many = encode_entity_keys([IK], [ids])
    assert many == [encode_entity_keys([IK], [[i]])[0] for i in ids]
    assert many == encode_entity_keys([IK], [np.array(ids, dtype=np.int64)])


@pytest.mark.parametrize("bad", [["1"], [1.5], [True], [None], [2**64]])
def test_wrong_key_values_name_the_key(bad: list[Any]) -> None:
    with pytest.raises(errors.JoinKeyTypeError, match="'id'"):
        encode_entity_keys([IK], [bad])
    with pytest.raises(errors.JoinKeyTypeError, match="'id'"):
        encode_entity_keys([IK], [list(range(20)) + bad])


key_values = {
    "int64": st.integers(min_value=-(2**63), max_value=2**63 - 1),
    "string": st.text(max_size=20),
    "bytes": st.binary(max_size=20),
    "bool": st.booleans(),
}


@given(st.data())
def test_keys_decode_back(data: st.DataObject) -> None:
    kinds = data.draw(st.lists(st.sampled_from(sorted(key_values)), min_size=1, max_size=3))
    fields = [Field(f"k{i}", k) for i, k in enumerate(kinds)]
    values = [data.draw(key_values[k]) for k in kinds]
    [key] = encode_entity_keys(fields, [[v] for v in values])
    assert decode_entity_key(key) == {f.name: v for f, v in zip(fields, values)}


@given(st.lists(st.tuples(st.integers(-5, 5), st.text(max_size=3)), min_size=2, max_size=6, unique=True))
def test_distinct_compound_keys_never_collide(rows: list[tuple[int, str]]) -> None:
    fields = [Field("n", Int64), Field("s", String)]
    keys = encode_entity_keys(fields, [[r[0] for r in rows], [r[1] for r in rows]])
    assert len(set(keys)) == len(rows)


# ------------------------------------------------------------------------------------------ packed rows

_TS = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)
_F32 = st.floats(width=32, allow_nan=False)
_F64 = st.floats(allow_nan=False)
SCALARS: dict[str, st.SearchStrategy[Any]] = {
    "int32": st.integers(-(2**31), 2**31 - 1),
    "int64": st.integers(-(2**63), 2**63 - 1),
    "float32": _F32,
    "float64": _F64,
    "string": st.text(max_size=30),
    "bytes": st.binary(max_size=30),
    "bool": st.booleans(),
    "unix_timestamp": _TS,
}
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=10,
)
DTYPES: list[DType] = [
    Int32, Int64, Float32, Float64, String, Bytes, Bool, UnixTimestamp,
    Array(Int64), Array(Float32), Array(String), Array(Bytes), Array(Bool), Array(UnixTimestamp),
    Map(Float64), Map(String), Map(UnixTimestamp), Map(Bytes),
    Struct({"city": String, "zip": Int32, "seen": UnixTimestamp, "tags": Array(String)}),
    Json,
]


def values_of(dtype: DType) -> st.SearchStrategy[Any]:
    if dtype.name in SCALARS:
        return SCALARS[dtype.name]
    if isinstance(dtype, Array):
        return st.lists(st.none() | values_of(dtype.element), max_size=6)
    if isinstance(dtype, Map):
        return st.dictionaries(st.text(max_size=6), st.none() | values_of(dtype.value), max_size=4)
    if isinstance(dtype, Struct):
        return st.fixed_dictionaries({k: st.none() | values_of(t) for k, t in dtype.fields})
    return _JSON


def as_stored(dtype: DType, v: Any) -> Any:
    """What a value reads back as (float32 rounding)."""
    if v is None:
        return None
    if dtype.name == "float32":
        return float(np.float32(v))
    if isinstance(dtype, Array):
        return [as_stored(dtype.element, x) for x in v]
    return v


def equal(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return bool(a == b)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_rows_round_trip_every_dtype(data: st.DataObject) -> None:
    dtypes = data.draw(st.lists(st.sampled_from(DTYPES), min_size=1, max_size=12))
    fields = [Field(f"f{i}", d) for i, d in enumerate(dtypes)]
    codec = RowCodec(fields)
    n = data.draw(st.integers(1, 5))
    rows = [[data.draw(st.none() | values_of(d)) for d in dtypes] for _ in range(n)]
    times = [data.draw(_TS) for _ in range(n)]
    blobs = codec.encode_rows(rows, times)
    # one absent row in the middle of the batch
    decoded = codec.decode([*blobs[:1], None, *blobs[1:]])
    order = [0, None, *range(1, n)]
    assert decoded.found.tolist() == [r is not None for r in order]
    for pos, r in enumerate(order):
        if r is None:
            assert not any(v[pos] for v in decoded.valid)
            continue
        assert int(decoded.ts[pos]) == to_micros(times[r])
        for i, d in enumerate(dtypes):
            want = as_stored(d, rows[r][i])
            assert bool(decoded.valid[i][pos]) == (want is not None)
            if want is None:
                continue
            got = decoded.values[i][pos]
            if d.name == "unix_timestamp":
                got = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(got))
            elif hasattr(got, "item"):
                got = got.item()
            assert equal(got, want), (d, got, want)


def test_rows_of_another_schema_or_version_read_as_absent() -> None:
    a = RowCodec([Field("x", Int64)])
    b = RowCodec([Field("x", Int64), Field("y", Int64)])
    c = RowCodec([Field("x", Int32)])
    t = datetime(2024, 1, 1, tzinfo=UTC)
    blob = a.encode_row([5], t)
    assert blob[0] == ROW_FORMAT_VERSION
    assert b.decode([blob]).found.tolist() == [False]
    assert c.decode([blob]).found.tolist() == [False]
    assert a.decode([b"\x02" + blob[1:], b"junk", blob]).found.tolist() == [False, False, True]
    assert [r is not None for r in a.decode_py([b"\x02" + blob[1:], b"junk", blob])] == [False, False, True]
    # rows with variable parts, read by a codec of another schema, by both decoders
    v1 = RowCodec([Field("x", Int64), Field("s", String)])
    v2 = RowCodec([Field("x", Int64), Field("s", String), Field("f", Float64)])
    old = v1.encode_row([1, "a"], t)
    assert v2.decode([old]).found.tolist() == [False] and v2.decode_py([old]) == [None]
    assert v1.decode_py([v2.encode_row([1, "a", 2.0], t)]) == [None]


def test_many_rows_decode_in_one_pass() -> None:
    codec = RowCodec([Field("a", Int64), Field("b", Float64), Field("s", String)])
    t = datetime(2024, 1, 1, tzinfo=UTC)
    rows = [[i, i / 2, str(i) if i % 3 else None] for i in range(1000)]
    decoded = codec.decode(codec.encode_rows(rows, [t] * 1000))
    assert decoded.values[0].tolist() == list(range(1000))
    assert decoded.values[2] == [str(i) if i % 3 else None for i in range(1000)]
    assert decoded.valid[2].tolist() == [bool(i % 3) for i in range(1000)]
