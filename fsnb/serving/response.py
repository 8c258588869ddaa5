"""``OnlineResponse``: the columnar result of an online read, with the same exits from every access mode.

Inside, each output column holds its values (a numpy array for fixed-width dtypes, a list otherwise) and a
validity mask; each feature view contributes one uint8 row-status array and one int64 event-time array (µs) that
its columns share. Per-value statuses (``PRESENT``, ``NOT_FOUND``, ``NULL_VALUE``, ``OUTSIDE_MAX_AGE``) are derived
only when asked for.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from fsnb.online.codec import from_micros, to_micros
from fsnb.types import DType, coerce_dtype

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = ["NOT_FOUND", "NULL_VALUE", "OUTSIDE_MAX_AGE", "PRESENT", "STATUS_NAMES", "OnlineResponse"]

# Feast's FieldStatus numbering.
PRESENT = 1
NULL_VALUE = 2
NOT_FOUND = 3
OUTSIDE_MAX_AGE = 4
STATUS_NAMES = ("INVALID", "PRESENT", "NULL_VALUE", "NOT_FOUND", "OUTSIDE_MAX_AGE")
_STATUS_CODES = {n: i for i, n in enumerate(STATUS_NAMES)}
_PRESENT_NAME = STATUS_NAMES[PRESENT]
_NULL_NAME = STATUS_NAMES[NULL_VALUE]

_INT_NP = {"int32": "int32", "int64": "int64"}
_FIXED_NP = {"int32": "int32", "int64": "int64", "float32": "float32", "float64": "float64", "bool": "bool",
             "unix_timestamp": "int64"}
_pd_cache: dict[str, Any] = {}


def _pd_dtype(dtype: DType) -> Any:
    got = _pd_cache.get(dtype.name)
    if got is None:
        got = _pd_cache[dtype.name] = dtype.pandas_dtype
    return got


class OnlineResponse:
    """Feature values for a batch of entity rows: ``to_df()``, ``to_dict()``, ``to_arrow()``.

    ``statuses`` and ``event_timestamps`` give, per output column, one entry per row.
    """

    # Inside: per column, values (numpy array with a validity mask, or a list with None where missing, valid
    # None) and the index of its view; per view, row statuses (uint8) and event times (int64 µs), as numpy
    # arrays or, for few-row results, plain lists.

    __slots__ = ("_col_view", "_dtypes", "_n", "_n_keys", "_names", "_valid", "_values", "_view_status", "_view_ts")

    def __init__(
        self,
        names: Sequence[str],
        dtypes: Sequence[DType],
        n_keys: int,
        n_rows: int,
        values: list[Any],
        valid: list[Any],
        col_view: Sequence[int],
        view_status: list[Any],
        view_ts: list[Any],
    ) -> None:
        self._names = names
        self._dtypes = dtypes
        self._n_keys = n_keys
        self._n = n_rows
        self._values = values
        self._valid = valid
        self._col_view = col_view
        self._view_status = view_status
        self._view_ts = view_ts

    # ------------------------------------------------------------------------------------------ shape

    @property
    def feature_names(self) -> list[str]:
        """Output column names: join keys first, then features in request order."""
        return list(self._names)

    @property
    def join_keys(self) -> list[str]:
        return list(self._names[: self._n_keys])

    @property
    def dtypes(self) -> dict[str, DType]:
        return dict(zip(self._names, self._dtypes))

    def __len__(self) -> int:
        return self._n

    def __repr__(self) -> str:
        return f"OnlineResponse({self._n} rows x {len(self._names)} columns: {', '.join(self._names)})"

    # ------------------------------------------------------------------------------------------ per column

    def _py_values(self, i: int) -> list[Any]:
        """Column ``i`` as a new list of Python values, None where missing."""
        vals = self._values[i]
        valid = self._valid[i]
        out = list(vals) if isinstance(vals, list) else vals.tolist()
        if valid is not None:
            out = [v if ok else None for v, ok in zip(out, valid.tolist())]
        if self._dtypes[i].name == "unix_timestamp" and not isinstance(vals, list):
            out = [None if v is None else from_micros(v) for v in out]
        return out  # type: ignore[no-any-return]

    def status_codes(self, name: str) -> np.ndarray:
        """uint8 status codes of column ``name`` (1 PRESENT, 2 NULL_VALUE, 3 NOT_FOUND, 4 OUTSIDE_MAX_AGE)."""
        i = self._names.index(name)
        v = self._col_view[i]
        if v < 0:
            return np.full(self._n, PRESENT, dtype=np.uint8)
        rows = np.asarray(self._view_status[v], dtype=np.uint8)
        valid = self._valid[i]
        if valid is None:
            vals = self._values[i]
            if not isinstance(vals, list):  # a numpy column without a mask: every value is there
                return rows.copy()  # type: ignore[no-any-return]
            valid = np.array([x is not None for x in vals], dtype=bool)  # a list: None marks a missing value
        out = rows.copy()
        out[(rows == PRESENT) & ~valid] = NULL_VALUE
        return out  # type: ignore[no-any-return]

    def _status_names(self, i: int) -> list[str]:
        """Status names of column ``i``: plain Python for few-row results (numpy per column costs more than the
        whole loop at 1 row), through :meth:`status_codes` otherwise."""
        v = self._col_view[i]
        if v < 0:
            return [_PRESENT_NAME] * self._n
        rows = self._view_status[v]
        if not isinstance(rows, list):
            return [STATUS_NAMES[c] for c in self.status_codes(self._names[i]).tolist()]
        names = STATUS_NAMES
        valid = self._valid[i]
        if valid is None:
            vals = self._values[i]
            if not isinstance(vals, list):
                return [names[s] for s in rows]
            return [_NULL_NAME if s == PRESENT and x is None else names[s] for s, x in zip(rows, vals)]
        ok = valid.tolist() if not isinstance(valid, list) else valid
        return [_NULL_NAME if s == PRESENT and not o else names[s] for s, o in zip(rows, ok)]

    def _timestamps(self, i: int) -> list[datetime | None]:
        v = self._col_view[i]
        if v < 0:
            return [None] * self._n
        ts = _as_list(self._view_ts[v])
        st = _as_list(self._view_status[v])
        return [None if s == NOT_FOUND else from_micros(t) for t, s in zip(ts, st)]

    @property
    def statuses(self) -> dict[str, list[str]]:
        """Per column, the status name of each value."""
        return {n: self._status_names(i) for i, n in enumerate(self._names)}

    @property
    def event_timestamps(self) -> dict[str, list[datetime | None]]:
        """Per column, the event time of the row each value came from (None for join keys and NOT_FOUND)."""
        return {n: self._timestamps(i) for i, n in enumerate(self._names)}

    def iter_columns(self) -> Iterator[tuple[str, list[Any], list[str], list[datetime | None]]]:
        """``(name, values, statuses, event_timestamps)`` per output column, join keys first.

        Columns of one view share one ``event_timestamps`` list: read it, don't mutate it.
        """
        per_view: dict[int, list[datetime | None]] = {}
        for i, n in enumerate(self._names):
            v = self._col_view[i]
            ts = per_view.get(v)
            if ts is None:
                ts = per_view[v] = self._timestamps(i)
            yield n, self._py_values(i), self._status_names(i), ts

    def wire_columns(self) -> list[tuple[str, str, list[Any], list[str], list[datetime | None]]]:
        """``(name, dtype name, values, statuses, event_timestamps)`` per column, join keys first: what the wire
        encoders take (:func:`fsnb.wire.encode_json`), built in one pass with no generator and, for few-row
        results, no per-column copies. Lists may be shared between columns and with this response: read only."""
        n = self._n
        names = STATUS_NAMES
        present = [_PRESENT_NAME] * n
        per_view_ts: dict[int, list[datetime | None]] = {}
        per_view_names: dict[int, list[str]] = {}
        view_status = self._view_status
        out = []
        for i, name in enumerate(self._names):
            v = self._col_view[i]
            vals = self._values[i]
            valid = self._valid[i]
            ts = per_view_ts.get(v)
            if ts is None:
                ts = per_view_ts[v] = self._timestamps(i)
            if v < 0:
                out.append((name, self._dtypes[i].name, vals if type(vals) is list else self._py_values(i), present,
                            ts))
                continue
            rows = view_status[v]
            if valid is None and type(rows) is list and type(vals) is list:
                if any(x is None for x in vals):
                    statuses = [_NULL_NAME if s == PRESENT and x is None else names[s] for s, x in zip(rows, vals)]
                else:
                    statuses = per_view_names.get(v)  # type: ignore[assignment]
                    if statuses is None:
                        statuses = per_view_names[v] = [names[s] for s in rows]
                out.append((name, self._dtypes[i].name, vals, statuses, ts))
                continue
            out.append((name, self._dtypes[i].name, self._py_values(i), self._status_names(i), ts))
        return out

    # ------------------------------------------------------------------------------------------ exits

    def to_dict(self) -> dict[str, list[Any]]:
        """``{column: [values]}``, join keys first; nulls (and stale or missing values) are None."""
        out = {}
        py_values = self._py_values
        for i, (name, vals, valid) in enumerate(zip(self._names, self._values, self._valid)):
            # a list without a mask already holds the final Python values (None where missing): copy it
            out[name] = vals.copy() if valid is None and type(vals) is list else py_values(i)
        return out

    def _pandas_array(self, i: int) -> Any:
        """Column ``i`` as the pandas array of its declared dtype (fresh memory, never a view of a reply)."""
        import pandas as pd

        dtype = self._dtypes[i]
        name = dtype.name
        vals = self._values[i]
        npt = _FIXED_NP.get(name)
        if npt is None:
            py = self._py_values(i)
            if name == "string":
                return _string_array(py, _pd_dtype(dtype))
            out = np.empty(len(py), dtype=object)
            out[:] = py
            return out
        valid = self._valid[i]
        if isinstance(vals, list):  # few-rows results: Python values, None where missing
            if valid is not None:
                vals = [v if ok else None for v, ok in zip(vals, valid.tolist())]
            missing = None
            if None in vals:
                missing = np.array([v is None for v in vals], dtype=bool)
                vals = [0 if v is None else v for v in vals]
            if name == "unix_timestamp":
                vals = [to_micros(v) for v in vals]
            arr = np.array(vals, dtype=npt)
        else:
            arr = np.array(vals, dtype=npt)
            missing = None if valid is None else ~valid
        if name in _INT_NP:
            return _masked(pd.arrays.IntegerArray, arr, missing)
        if name == "bool":
            return _masked(pd.arrays.BooleanArray, arr, missing)
        if name == "unix_timestamp":
            if missing is not None:
                arr[missing] = np.iinfo(np.int64).min
            return _datetime_array(arr)
        if missing is not None:
            arr[missing] = np.nan
        return arr

    def to_df(self) -> pd.DataFrame:
        """A DataFrame with the declared dtypes (nullable ints stay ints), join keys first."""

        arrays = [self._pandas_array(i) for i in range(len(self._names))]
        return _frame(arrays, self._names, self._n)

    def to_arrow(self) -> pa.Table:
        """A pyarrow Table with the declared Arrow types."""
        import pyarrow as pa

        cols = []
        for i, dtype in enumerate(self._dtypes):
            vals = self._values[i]
            valid = self._valid[i]
            if not isinstance(vals, list) and dtype.name in ("int32", "int64", "float32", "float64", "bool"):
                mask = None if valid is None else ~valid
                cols.append(pa.array(np.ascontiguousarray(vals), type=dtype.to_arrow(), mask=mask))
            elif dtype.name == "json":
                import json

                py = self._py_values(i)
                cols.append(pa.array([None if v is None else json.dumps(v) for v in py], type=pa.string()))
            else:
                cols.append(pa.array(self._py_values(i), type=dtype.to_arrow()))
        return pa.table(cols, names=list(self._names))

    # ------------------------------------------------------------------------------------------ building

    @classmethod
    def from_columns(
        cls,
        columns: Iterable[tuple[str, Sequence[Any], Sequence[str], Sequence[datetime | None]]],
        *,
        dtypes: Mapping[str, DType | str] | Sequence[DType | str],
        join_keys: int | Sequence[str],
    ) -> OnlineResponse:
        """Rebuild a response from ``iter_columns()``-shaped data (what the remote client receives).

        ``dtypes`` gives each column's dtype (by name or in order); ``join_keys`` the key columns (a count or names,
        which come first).
        """
        cols = list(columns)
        names = [c[0] for c in cols]
        if isinstance(dtypes, Mapping):
            dts = [coerce_dtype(dtypes[n]) for n in names]
        else:
            dts = [coerce_dtype(d) for d in dtypes]
        n_keys = join_keys if isinstance(join_keys, int) else len(join_keys)
        n = len(cols[0][1]) if cols else 0
        values: list[Any] = []
        valid: list[Any] = []
        col_view: list[int] = []
        view_status: list[Any] = []
        view_ts: list[Any] = []
        for i, (_, vals, sts, tss) in enumerate(cols):
            name = dts[i].name
            present = [v is not None for v in vals]
            if name in _FIXED_NP:
                fill = [0 if v is None else (to_micros(_parse_ts(v)) if name == "unix_timestamp" else v) for v in vals]
                values.append(np.array(fill, dtype=_FIXED_NP[name]))
            else:
                values.append(list(vals))
            if i < n_keys:
                valid.append(None)
                col_view.append(-1)
                continue
            codes = np.array([_STATUS_CODES.get(s, 0) if isinstance(s, str) else int(s) for s in sts], dtype=np.uint8)
            ok = np.array(present, dtype=bool) & (codes == PRESENT)
            valid.append(ok)
            row_status = codes.copy()
            row_status[row_status == NULL_VALUE] = PRESENT
            col_view.append(len(view_status))
            view_status.append(row_status)
            view_ts.append(np.array([0 if t is None else to_micros(_parse_ts(t)) for t in tss], dtype=np.int64))
        return cls(names, dts, n_keys, n, values, valid, col_view, view_status, view_ts)

    # ------------------------------------------------------------------------------------------ notebook

    def _repr_html_(self) -> str:
        counts: dict[str, int] = {}
        for i, n in enumerate(self._names):
            if i < self._n_keys:
                continue
            for c in self.status_codes(n).tolist():
                counts[STATUS_NAMES[c]] = counts.get(STATUS_NAMES[c], 0) + 1
        summary = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
        head = self.to_df().head(20)
        return (
            f"<div><b>OnlineResponse</b> — {self._n} rows x {len(self._names) - self._n_keys} features"
            f" <small>({html.escape(summary)})</small>{head._repr_html_()}</div>"
        )


_columns_cache: dict[tuple[str, ...], Any] = {}
_fast_frame: list[Any] = []


def _frame(arrays: list[Any], names: Sequence[str], n: int) -> pd.DataFrame:
    """A DataFrame from finished column arrays, built straight from a block manager (no per-column checks);
    falls back to the public constructor if pandas' internals differ."""
    import pandas as pd

    key = tuple(names)
    columns = _columns_cache.get(key)
    if columns is None:
        if len(_columns_cache) > 256:
            _columns_cache.clear()
        columns = _columns_cache[key] = pd.Index(list(names), dtype=object)
    if not _fast_frame:
        try:
            from pandas.core.internals.managers import create_block_manager_from_column_arrays

            _fast_frame.append(create_block_manager_from_column_arrays)
        except ImportError:
            _fast_frame.append(None)
    make = _fast_frame[0]
    if make is not None:
        try:
            # consolidated: one 2-D block per numpy dtype (float64, float32, object), as pandas' own constructor
            mgr = make(arrays, [columns, pd.RangeIndex(n)], consolidate=True, refs=[None] * len(arrays))
            return pd.DataFrame._from_mgr(mgr, mgr.axes)
        except (TypeError, AttributeError, ValueError):
            _fast_frame[0] = None
    return pd.DataFrame(dict(zip(names, arrays)), copy=False)


def _string_array(values: list[Any], dtype: Any) -> Any:
    """A pandas string array of ``dtype``; pyarrow-backed ones are built straight from a pyarrow array."""
    import pandas as pd

    if getattr(dtype, "storage", None) == "pyarrow" and dtype.na_value is pd.NA:
        import pyarrow as pa

        return pd.arrays.ArrowStringArray(pa.array(values, type=pa.large_string()), dtype=dtype)
    return pd.array(values, dtype=dtype)


_simple_masked: list[bool] = [True]


def _masked(cls: Any, values: Any, missing: Any) -> Any:
    """A pandas masked array (Int32/Int64/boolean) over ``values`` and its ``missing`` mask (None: none missing),
    without the constructor's checks (the values are ours and already of the right dtype)."""
    mask = missing if missing is not None else np.zeros(len(values), dtype=bool)
    if _simple_masked[0]:
        try:
            return cls._simple_new(values, mask)
        except (AttributeError, TypeError):  # pandas internals moved: take the public road from now on
            _simple_masked[0] = False
    return cls(values, mask)


def _as_list(values: Any) -> list[Any]:
    return values if isinstance(values, list) else values.tolist()  # type: ignore[no-any-return]


def _datetime_array(us: Any) -> Any:
    """A ``datetime64[us, UTC]`` pandas array over int64 µs (NaT = int64 min)."""
    import pandas as pd

    try:
        return pd.arrays.DatetimeArray._simple_new(us.view("M8[us]"), dtype=pd.DatetimeTZDtype("us", "UTC"))
    except (AttributeError, TypeError):  # pandas internals moved: take the public road
        return pd.array(us.view("M8[us]")).tz_localize("UTC")


def _parse_ts(v: Any) -> Any:
    if isinstance(v, str):
        return datetime.fromisoformat(v.replace("Z", "+00:00"))
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return round(v * 1_000_000)  # numbers are seconds since the epoch
    return v
