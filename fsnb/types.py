"""The dtype system: what a feature's values are, and how they map to Arrow, pandas and Python.

Scalars are module-level singletons (``Int64``, ``String``, ...); composite types are built by calling
``Array(Int64)``, ``Map(Float64)`` and ``Struct({"city": String, "zip": Int32})``. Every dtype has a canonical
text form (``dtype.name``, e.g. ``"array<int64>"``) that :func:`parse_dtype` reads back; the registry stores it.
pyarrow and pandas are imported only when a mapping is asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from fsnb.errors import DefinitionError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "Array",
    "Bool",
    "Bytes",
    "DType",
    "Float32",
    "Float64",
    "Int32",
    "Int64",
    "Json",
    "Map",
    "String",
    "Struct",
    "UnixTimestamp",
    "parse_dtype",
]


class DType:
    """A feature dtype. Compare by value; use the module constants and constructors, not this class."""

    __slots__ = ("name",)
    name: str

    #: Scalar kind code shared with the value codec; composites use their own.
    kind: str = ""

    def __init__(self, name: str) -> None:
        object.__setattr__(self, "name", name)

    def __setattr__(self, key: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DType) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return self.name

    def __reduce__(self) -> tuple[Any, ...]:
        return (parse_dtype, (self.name,))

    @property
    def is_scalar(self) -> bool:
        return isinstance(self, _Scalar)

    @property
    def is_numeric(self) -> bool:
        return self.name in _NUMERIC

    def to_arrow(self) -> pa.DataType:
        """The Arrow type values of this dtype take in tables and in ``to_arrow()`` results."""
        raise NotImplementedError

    @property
    def pandas_dtype(self) -> Any:
        """The pandas dtype of a column of this dtype (nullable where pandas has one)."""
        return object

    def accepts_arrow(self, arrow_type: pa.DataType) -> bool:
        """Whether a source column of ``arrow_type`` can feed a feature of this dtype without loss of meaning."""
        raise NotImplementedError


class _Scalar(DType):
    __slots__ = ()

    def to_arrow(self) -> pa.DataType:
        import pyarrow as pa

        return {
            "int32": pa.int32(),
            "int64": pa.int64(),
            "float32": pa.float32(),
            "float64": pa.float64(),
            "string": pa.string(),
            "bytes": pa.binary(),
            "bool": pa.bool_(),
            "unix_timestamp": pa.timestamp("us", tz="UTC"),
        }[self.name]

    @property
    def pandas_dtype(self) -> Any:
        import pandas as pd

        return {
            "int32": pd.Int32Dtype(),
            "int64": pd.Int64Dtype(),
            "float32": "float32",
            "float64": "float64",
            "string": pd.StringDtype(),
            "bytes": object,
            "bool": pd.BooleanDtype(),
            "unix_timestamp": pd.DatetimeTZDtype("us", "UTC"),
        }[self.name]

    def accepts_arrow(self, arrow_type: pa.DataType) -> bool:
        import pyarrow as pa
        import pyarrow.types as t

        if t.is_dictionary(arrow_type):
            arrow_type = arrow_type.value_type
        if t.is_null(arrow_type):
            return True
        name = self.name
        if name == "int32":
            return t.is_integer(arrow_type) and arrow_type != pa.uint64()
        if name == "int64":
            return t.is_integer(arrow_type) and arrow_type != pa.uint64()
        if name in ("float32", "float64"):
            return t.is_floating(arrow_type) or t.is_integer(arrow_type) or t.is_decimal(arrow_type)
        if name == "string":
            return t.is_string(arrow_type) or t.is_large_string(arrow_type) or t.is_string_view(arrow_type)
        if name == "bytes":
            return t.is_binary(arrow_type) or t.is_large_binary(arrow_type) or t.is_fixed_size_binary(arrow_type)
        if name == "bool":
            return t.is_boolean(arrow_type)
        if name == "unix_timestamp":
            return t.is_timestamp(arrow_type) or t.is_date(arrow_type) or t.is_integer(arrow_type)
        return False


_NUMERIC = frozenset({"int32", "int64", "float32", "float64"})

Int32: DType = _Scalar("int32")
Int64: DType = _Scalar("int64")
Float32: DType = _Scalar("float32")
Float64: DType = _Scalar("float64")
String: DType = _Scalar("string")
Bytes: DType = _Scalar("bytes")
Bool: DType = _Scalar("bool")
UnixTimestamp: DType = _Scalar("unix_timestamp")

_SCALARS: dict[str, DType] = {
    d.name: d for d in (Int32, Int64, Float32, Float64, String, Bytes, Bool, UnixTimestamp)
}


def _list_like(arrow_type: pa.DataType) -> bool:
    import pyarrow.types as t

    return t.is_list(arrow_type) or t.is_large_list(arrow_type) or t.is_fixed_size_list(arrow_type)


class Array(DType):
    """A list of scalars: ``Array(Int64)``."""

    __slots__ = ("element",)
    element: DType

    def __init__(self, element: DType) -> None:
        element = _coerce(element)
        if not element.is_scalar:
            raise DefinitionError(f"Array element must be a scalar dtype, got {element.name}")
        super().__init__(f"array<{element.name}>")
        object.__setattr__(self, "element", element)

    def to_arrow(self) -> pa.DataType:
        import pyarrow as pa

        return pa.list_(self.element.to_arrow())

    def accepts_arrow(self, arrow_type: pa.DataType) -> bool:
        import pyarrow.types as t

        if t.is_null(arrow_type):  # every value missing, as for scalars
            return True
        return _list_like(arrow_type) and self.element.accepts_arrow(arrow_type.value_type)


class Map(DType):
    """A map with string keys: ``Map(Float64)``; ``Map()`` maps strings to strings."""

    __slots__ = ("value",)
    value: DType

    def __init__(self, value: DType | None = None) -> None:
        value = _coerce(value) if value is not None else String
        if not value.is_scalar:
            raise DefinitionError(f"Map values must be a scalar dtype, got {value.name}")
        super().__init__(f"map<{value.name}>")
        object.__setattr__(self, "value", value)

    def to_arrow(self) -> pa.DataType:
        import pyarrow as pa

        return pa.map_(pa.string(), self.value.to_arrow())

    def accepts_arrow(self, arrow_type: pa.DataType) -> bool:
        import pyarrow.types as t

        if t.is_map(arrow_type):
            return String.accepts_arrow(arrow_type.key_type) and self.value.accepts_arrow(arrow_type.item_type)
        if t.is_struct(arrow_type):  # a struct column read as a map of its fields
            return all(self.value.accepts_arrow(arrow_type.field(i).type) for i in range(arrow_type.num_fields))
        return String.accepts_arrow(arrow_type)  # JSON text


class Struct(DType):
    """A record with named, typed fields: ``Struct({"city": String, "zip": Int32})``."""

    __slots__ = ("fields",)
    fields: tuple[tuple[str, DType], ...]

    def __init__(self, fields: Mapping[str, DType] | list[tuple[str, DType]]) -> None:
        items = list(fields.items()) if isinstance(fields, Mapping) else list(fields)
        if not items:
            raise DefinitionError("Struct needs at least one field")
        norm = tuple((str(k), _coerce(v)) for k, v in items)
        names = [k for k, _ in norm]
        if len(set(names)) != len(names):
            raise DefinitionError(f"Struct field names must be unique, got {names}")
        super().__init__("struct<" + ",".join(f"{k}:{v.name}" for k, v in norm) + ">")
        object.__setattr__(self, "fields", norm)

    def to_arrow(self) -> pa.DataType:
        import pyarrow as pa

        return pa.struct([(k, v.to_arrow()) for k, v in self.fields])

    def accepts_arrow(self, arrow_type: pa.DataType) -> bool:
        import pyarrow.types as t

        if t.is_struct(arrow_type):
            have = {arrow_type.field(i).name: arrow_type.field(i).type for i in range(arrow_type.num_fields)}
            return all(k in have and v.accepts_arrow(have[k]) for k, v in self.fields)
        return String.accepts_arrow(arrow_type)  # JSON text


class _Json(DType):
    __slots__ = ()

    def to_arrow(self) -> pa.DataType:
        import pyarrow as pa

        return pa.string()

    def accepts_arrow(self, arrow_type: pa.DataType) -> bool:
        return True  # any column can be represented as JSON


#: Any JSON-serialisable value; stored as JSON text, returned parsed.
Json: DType = _Json("json")


def _coerce(dtype: Any) -> DType:
    if isinstance(dtype, DType):
        return dtype
    if dtype is Map:
        return Map()
    if isinstance(dtype, str):
        return parse_dtype(dtype)
    raise DefinitionError(f"not a dtype: {dtype!r} (use fsnb.Int64, fsnb.String, fsnb.Array(...), ...)")


def parse_dtype(text: str) -> DType:
    """Read a dtype back from its canonical text form (``"array<int64>"``), case-insensitively."""
    s = text.strip()
    low = s.lower()
    aliases = {"timestamp": "unix_timestamp", "str": "string", "float": "float64", "int": "int64"}
    low = aliases.get(low, low)
    if low in _SCALARS:
        return _SCALARS[low]
    if low == "json":
        return Json
    if low.endswith(">"):
        head, _, inner = s.partition("<")
        inner = inner[:-1]
        head = head.strip().lower()
        if head in ("array", "list"):
            return Array(parse_dtype(inner))
        if head == "map":
            return Map(parse_dtype(inner)) if inner.strip() else Map()
        if head == "struct":
            return Struct([_parse_struct_field(p) for p in _split_top(inner)])
    raise DefinitionError(
        f"unknown dtype {text!r}; expected one of {sorted(_SCALARS)}, json, array<T>, map<T>, struct<name:T,...>"
    )


def _parse_struct_field(part: str) -> tuple[str, DType]:
    name, sep, dt = part.partition(":")
    if not sep:
        raise DefinitionError(f"struct field {part!r} needs the form name:dtype")
    return name.strip(), parse_dtype(dt)


def _split_top(text: str) -> list[str]:
    parts: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in text:
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if cur:
        parts.append("".join(cur))
    return parts


def coerce_dtype(dtype: Any) -> DType:
    """A DType from a DType, the ``Map`` class, or a dtype's text form."""
    return _coerce(dtype)
