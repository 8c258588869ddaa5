"""Entity rows of a request (a list of dicts, a dict of lists or a DataFrame) as join-key columns."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from fsnb.errors import EmptyRequestError, ExtraJoinKeyError, MissingJoinKeyError, RequestError
from fsnb.transforms import series_values

__all__ = ["entity_columns"]


def entity_columns(entity_rows: Any) -> tuple[tuple[str, ...], list[Any], int]:
    """(join-key names, one column per name, row count) from a list of dicts, a dict of lists or a DataFrame.

    Series and DataFrame columns are taken by position; their index is ignored.
    """
    if isinstance(entity_rows, list):
        if not entity_rows:
            raise EmptyRequestError("no entity rows: pass at least one row of join key values")
        first = entity_rows[0]
        if not isinstance(first, Mapping):
            raise RequestError(f"entity rows must be dicts of join key values, got {type(first).__name__}")
        names = tuple(first)
        if len(entity_rows) == 1:
            return names, [[first[k]] for k in names], 1
        try:
            cols = [[r[k] for r in entity_rows] for k in names]
        except KeyError as e:
            raise MissingJoinKeyError(f"an entity row lacks join key {e.args[0]!r} that the first row has") from None
        except TypeError:
            raise RequestError("entity rows must all be dicts of join key values") from None
        width = len(names)
        for r in entity_rows:
            if len(r) != width:
                extra = sorted(set(r) - set(names))
                raise ExtraJoinKeyError(f"an entity row has key(s) {extra} that the first row does not have")
        return names, cols, len(entity_rows)
    if isinstance(entity_rows, Mapping):
        names = tuple(entity_rows)
        cols = [list(v) if type(v) is list else _key_column(k, v) for k, v in entity_rows.items()]
        lengths = {len(c) for c in cols}
        if len(lengths) > 1:
            raise RequestError(f"entity columns have different lengths: {dict(zip(names, map(len, cols)))}")
        n = lengths.pop() if lengths else 0
        if n == 0:
            raise EmptyRequestError("no entity rows: the join key lists are empty")
        return names, cols, n
    if hasattr(entity_rows, "columns") and hasattr(entity_rows, "to_numpy"):  # pandas DataFrame
        names = tuple(str(c) for c in entity_rows.columns)
        if len(set(names)) != len(names):
            twice = sorted({c for c in names if names.count(c) > 1})
            raise RequestError(f"the entity DataFrame has duplicate column names {twice}: keep one column per join key")
        n = len(entity_rows)
        if n == 0:
            raise EmptyRequestError("no entity rows: the entity DataFrame is empty")
        cols = []
        for c in entity_rows.columns:
            s = entity_rows[c]
            arr = s.to_numpy()
            if arr.dtype.kind in "iu":
                cols.append(arr)
            elif s.hasnans or arr.dtype.kind in "mM" or arr.dtype != s.dtype:
                cols.append(series_values(s))  # None where missing: an error for a join key, null request data
            else:
                cols.append(arr.tolist())
        return names, cols, n
    raise RequestError(
        f"entity_rows must be a list of dicts, a dict of lists or a DataFrame, got {type(entity_rows).__name__}"
    )


def _key_column(name: Any, values: Any) -> Any:
    """A dict-of-lists entry that is not a plain list: an array or Series as is, another collection as a list; a
    string or a single value is a mistake (a string would otherwise be read as one row per character)."""
    if hasattr(values, "dtype") and getattr(values, "ndim", 1) == 1:
        if hasattr(values, "reset_index"):  # a pandas Series: by position, whatever its index
            return values.reset_index(drop=True)
        return values
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable) or hasattr(values, "dtype"):
        raise RequestError(
            f"entity_rows[{name!r}] must be a list of join key values, got {type(values).__name__} "
            f"{values!r:.40}; wrap a single value in a list: {{{name!r}: [value]}}"
        )
    return list(values)
