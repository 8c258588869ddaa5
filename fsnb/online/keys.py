"""Canonical entity-key bytes and the online store's key names (format in docs/format.md, "Entity keys").

An entity key is ``0x01`` (the format version) followed, for each join key in name order, by
``u8 len(name) | name (UTF-8) | tag | value``; tags: ``i`` int (8-byte big-endian two's complement, for Int32 and
Int64 alike), ``s`` str (u32 big-endian length + UTF-8), ``b`` bytes (u32 length + raw), ``?`` bool (one byte).
Names and tags make it type-aware (``1`` and ``"1"`` differ) and unambiguous for compound keys.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from fsnb.definitions import Field
from fsnb.errors import JoinKeyTypeError

__all__ = [
    "KEY_FORMAT_VERSION",
    "decode_entity_key",
    "encode_entity_keys",
    "hash_key_prefix",
    "key_encoder",
    "marker_key",
    "vector_key_prefix",
]

KEY_FORMAT_VERSION = 1
_VERSION = bytes([KEY_FORMAT_VERSION])
_TAGS = {"int32": b"i", "int64": b"i", "string": b"s", "bytes": b"b", "bool": b"?"}
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1


def hash_key_prefix(project: str) -> bytes:
    """Prefix of the hash holding every feature view's row of one entity: ``fsnb:<project>:`` + entity key."""
    return f"fsnb:{project}:".encode()


def vector_key_prefix(project: str, service: str) -> bytes:
    """Prefix of a precomputed vector: ``fsnb:<project>:v:<service>:`` + entity key."""
    return f"fsnb:{project}:v:{service}:".encode()


def marker_key(project: str, service: str) -> bytes:
    """The key holding a service's vector build marker (fingerprint and build time)."""
    return f"fsnb:{project}:vm:{service}".encode()


def _sorted_fields(join_key_fields: Sequence[Field]) -> list[tuple[int, Field]]:
    return sorted(enumerate(join_key_fields), key=lambda p: p[1].name)


def _name_part(f: Field) -> bytes:
    name = f.name.encode()
    try:
        tag = _TAGS[f.dtype.name]
    except KeyError:
        raise JoinKeyTypeError(f"join key {f.name!r} has dtype {f.dtype.name}, which cannot be a key") from None
    return bytes([len(name)]) + name + tag


def _bad(f: Field, v: Any) -> JoinKeyTypeError:
    return JoinKeyTypeError(
        f"join key {f.name!r} is {f.dtype.name} but got {v!r} ({type(v).__name__}); pass {f.dtype.name} values"
    )


def _value_part(f: Field, v: Any) -> bytes:
    kind = f.dtype.name
    if kind in ("int64", "int32"):
        if type(v) is not int:
            if isinstance(v, bool) or not hasattr(v, "__index__"):
                raise _bad(f, v)
            v = int(v)
        if not _INT_MIN <= v <= _INT_MAX:
            raise _bad(f, v)
        return v.to_bytes(8, "big", signed=True)
    if kind == "string":
        if not isinstance(v, str):
            raise _bad(f, v)
        b = v.encode()
        return len(b).to_bytes(4, "big") + b
    if kind == "bytes":
        if not isinstance(v, (bytes, bytearray, memoryview)):
            raise _bad(f, v)
        b = bytes(v)
        return len(b).to_bytes(4, "big") + b
    if kind == "bool":
        if not isinstance(v, bool) and type(v).__name__ != "bool_":
            raise _bad(f, v)
        return b"\x01" if v else b"\x00"
    raise _bad(f, v)


def _int_column(f: Field, col: Any) -> Any:
    """An int64 numpy array from a column of ints, or a JoinKeyTypeError naming the key."""
    import numpy as np

    if isinstance(col, np.ndarray):
        if col.dtype.kind not in "iu" or (col.dtype.kind == "u" and col.dtype.itemsize == 8 and col.max() > _INT_MAX):
            raise _bad(f, col[0] if len(col) else col)
        return col.astype(np.int64, copy=False)
    types = set(map(type, col))
    if types - {int}:
        for v in col:
            if type(v) is not int:
                _value_part(f, v)  # raises for a wrong value
    try:
        return np.fromiter(col, dtype=np.int64, count=len(col))
    except (OverflowError, TypeError):
        for v in col:
            _value_part(f, v)
        raise


def encode_entity_keys(join_key_fields: Sequence[Field], columns: Sequence[Sequence[Any]]) -> list[bytes]:
    """Canonical key bytes for each row of ``columns`` (one column per field of ``join_key_fields``).

    Raises :class:`fsnb.errors.JoinKeyTypeError` naming the key when a value does not fit its dtype.
    """
    return encode_prefixed_keys(b"", join_key_fields, columns)


def encode_prefixed_keys(
    prefix: bytes, join_key_fields: Sequence[Field], columns: Sequence[Sequence[Any]]
) -> list[bytes]:
    """``prefix`` + the canonical key of each row; one int key of many rows is encoded in one numpy pass."""
    order = _sorted_fields(join_key_fields)
    if len(order) == 1:
        i, f = order[0]
        col = columns[i]
        head = prefix + _VERSION + _name_part(f)
        n = len(col)
        if f.dtype.name in ("int64", "int32") and n > 8:

            raw = _int_column(f, col).astype(">i8").tobytes()
            return [head + raw[j : j + 8] for j in range(0, 8 * n, 8)]
        return [head + _value_part(f, v) for v in col]
    heads = [_name_part(f) for _, f in order]
    cols = [columns[i] for i, _ in order]
    fields = [f for _, f in order]
    head = prefix + _VERSION
    out = []
    for row in zip(*cols):
        parts = [head]
        for h, f, v in zip(heads, fields, row):
            parts.append(h)
            parts.append(_value_part(f, v))
        out.append(b"".join(parts))
    return out


def key_encoder(prefix: bytes, join_key_fields: Sequence[Field]) -> Callable[[Sequence[Sequence[Any]]], list[bytes]]:
    """:func:`encode_prefixed_keys` bound to ``prefix`` and ``join_key_fields`` (a read plan keeps one): a single
    Int key's head is built once, so one row (the commonest read) costs one ``int.to_bytes``."""
    order = _sorted_fields(join_key_fields)
    if len(order) == 1 and order[0][1].dtype.name in ("int64", "int32"):
        i, f = order[0]
        head = prefix + _VERSION + _name_part(f)

        def encode(columns: Sequence[Sequence[Any]]) -> list[bytes]:
            col = columns[i]
            if len(col) == 1:
                v = col[0]
                if type(v) is int and _INT_MIN <= v <= _INT_MAX:
                    return [head + v.to_bytes(8, "big", signed=True)]
            return encode_prefixed_keys(prefix, join_key_fields, columns)

        return encode
    return functools.partial(encode_prefixed_keys, prefix, tuple(join_key_fields))


def decode_entity_key(key: bytes) -> dict[str, Any]:
    """The join-key values in a canonical key (for tools and debugging)."""
    if not key or key[0] != KEY_FORMAT_VERSION:
        raise ValueError(f"not an fsnb entity key of format {KEY_FORMAT_VERSION}: {key!r}")
    out: dict[str, Any] = {}
    pos = 1
    while pos < len(key):
        n = key[pos]
        name = key[pos + 1 : pos + 1 + n].decode()
        pos += 1 + n
        tag = key[pos : pos + 1]
        pos += 1
        if tag == b"i":
            out[name] = int.from_bytes(key[pos : pos + 8], "big", signed=True)
            pos += 8
        elif tag in (b"s", b"b"):
            ln = int.from_bytes(key[pos : pos + 4], "big")
            raw = key[pos + 4 : pos + 4 + ln]
            out[name] = raw.decode() if tag == b"s" else raw
            pos += 4 + ln
        elif tag == b"?":
            out[name] = key[pos] == 1
            pos += 1
        else:
            raise ValueError(f"unknown tag {tag!r} in entity key {key!r}")
    return out
