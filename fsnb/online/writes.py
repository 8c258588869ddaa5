"""Writing a feature view's rows online: validate an Arrow table, encode keys and packed rows, write newer-wins."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from fsnb.errors import DataValidationError
from fsnb.online.base import SupportsDelete, require
from fsnb.online.codec import RowCodec, json_texts
from fsnb.online.keys import encode_prefixed_keys, hash_key_prefix

if TYPE_CHECKING:
    import pyarrow as pa

    from fsnb._parts import StoreParts
    from fsnb.definitions import FeatureView
    from fsnb.on_demand import OnDemandFeatureView
    from fsnb.types import DType

__all__ = ["WriteResult", "arrow_column_values", "delete_view_data", "table_from", "write_view", "write_view_table"]


class WriteResult(int):
    """How many rows a write or push took (the int itself), and what happened to them online.

    ``written`` counts the (row, feature view) pairs stored; ``ignored`` those kept out by newer-wins because the
    stored row of that entity has a newer event time. A push to the offline store alone has both at 0.
    """

    written: int
    ignored: int

    def __new__(cls, rows: int, written: int = 0, ignored: int = 0) -> WriteResult:
        result = super().__new__(cls, rows)
        result.written = written
        result.ignored = ignored
        return result

    def __repr__(self) -> str:
        return f"WriteResult(rows={int(self)}, written={self.written}, ignored={self.ignored})"


class ViewWrite:
    """The canonical entity keys of the rows written to one view (row order, duplicates kept), and how many won."""

    __slots__ = ("keys", "written")

    def __init__(self, keys: list[bytes], written: int) -> None:
        self.keys = keys
        self.written = written

    @property
    def ignored(self) -> int:
        return len(self.keys) - self.written

_codecs: dict[Any, RowCodec] = {}


def codec_for(view: FeatureView) -> RowCodec:
    """The row codec of a view's full feature list (cached by schema)."""
    return codec_for_fields(view.features)


def codec_for_fields(fields: Any) -> RowCodec:
    """The row codec of an ordered list of fields, cached by their names and dtypes."""
    key = tuple((f.name, f.dtype.name) for f in fields)
    codec = _codecs.get(key)
    if codec is None:
        if len(_codecs) > 1024:
            _codecs.clear()
        codec = _codecs[key] = RowCodec(fields)
    return codec


def table_from(data: Any) -> pa.Table:
    """A pyarrow Table from a DataFrame, a RecordBatch or a Table."""
    import pyarrow as pa

    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if hasattr(data, "columns") and hasattr(data, "to_numpy"):
        try:
            return pa.Table.from_pandas(data, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
            raise DataValidationError(f"the DataFrame cannot be converted to Arrow: {e}") from e
    raise DataValidationError(f"expected a DataFrame or a pyarrow Table, got {type(data).__name__}")


def _plain_array(col: Any) -> Any:
    import pyarrow as pa

    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    if pa.types.is_dictionary(col.type):
        col = col.dictionary_decode()
    return col


def timestamps_us(col: Any, what: str) -> Any:
    """int64 µs since the epoch (UTC) from an Arrow timestamp, date or integer (seconds) column."""
    import pyarrow as pa
    import pyarrow.compute as pc

    col = _plain_array(col)
    t = col.type
    if pa.types.is_timestamp(t):
        # ns → µs truncates (pandas timestamps carry ns; the online format keeps µs) instead of raising
        col = col.cast(pa.timestamp("us", tz=t.tz), safe=False) if t.unit != "us" else col
        return col.view(pa.int64()) if hasattr(col, "view") else col.cast(pa.int64())
    if pa.types.is_date(t):
        return col.cast(pa.timestamp("us")).cast(pa.int64())
    if pa.types.is_integer(t):
        return pc.multiply(col.cast(pa.int64()), 1_000_000)
    raise DataValidationError(f"{what} must be a timestamp, a date or epoch seconds, got {t}")


def arrow_column_values(col: Any, dtype: DType, name: str) -> tuple[Any, Any]:
    """``(values, null_mask | None)`` for :meth:`RowCodec.encode_columns` from an Arrow column: numpy arrays for
    fixed-width dtypes, a :class:`~fsnb.online.codec.JsonColumn` for String and Array columns that Arrow can
    encode exactly, Python lists otherwise."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    col = _plain_array(col)
    if pa.types.is_null(col.type):  # every value missing (pandas gives no type to a column of None)
        col = pa.nulls(len(col), type=dtype.to_arrow())
    null = col.is_null().to_numpy(zero_copy_only=False) if col.null_count else None
    kind = dtype.name
    if kind in ("int32", "int64", "float32", "float64", "bool"):
        if pa.types.is_decimal(col.type):
            col = col.cast(pa.float64())
        if null is not None:
            col = pc.fill_null(col, False if kind == "bool" else 0)
        arr = col.to_numpy(zero_copy_only=False)
        if kind == "float32" and arr.dtype.kind in "fiu" and arr.dtype.itemsize > 4 and len(arr):
            _check_float32(arr, name)
        if kind == "int32" and arr.dtype.kind in "iu" and len(arr):
            lo, hi = arr.min(), arr.max()
            if lo < -(2**31) or hi >= 2**31:
                raise DataValidationError(f"column {name!r} has values outside the int32 range of its feature")
        return arr, null
    if kind == "unix_timestamp":
        us = timestamps_us(col, f"column {name!r}")
        if null is not None:
            us = pc.fill_null(us, 0)
        return np.asarray(us.to_numpy(zero_copy_only=False), dtype=np.int64), null
    texts = json_texts(col, dtype)  # String and Array columns: JSON straight from the Arrow buffers
    if texts is not None:
        return texts, null
    values = col.to_pylist()
    if kind != "string" and kind != "bytes" and (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        try:
            values = [None if v is None else json.loads(v) for v in values]
        except ValueError as e:
            raise DataValidationError(f"column {name!r} holds text that is not valid JSON: {e}") from e
    return values, null


def check_not_future(times_us: Any, column: str, horizon_s: float) -> None:
    """Refuse event times more than ``horizon_s`` after now: such a row would beat every later write (newer-wins)."""
    import time
    from datetime import UTC, datetime

    if not len(times_us):
        return
    latest = int(times_us.max())
    if latest > (time.time() + horizon_s) * 1_000_000:
        when = datetime.fromtimestamp(latest / 1_000_000, UTC).isoformat() if latest < 253402300799000000 else latest
        raise DataValidationError(
            f"timestamp column {column!r} has an event time in the future ({when}); rows may be at most "
            f"{horizon_s:g} s ahead of now (max_future_seconds in fsnb.yaml), or they would win over every later "
            "write of their entity"
        )


def _check_float32(arr: Any, name: str) -> None:
    """Finite values beyond float32's range would be stored as ±inf: refuse them instead."""
    import numpy as np

    big = np.abs(arr.astype(np.float64)) > np.finfo(np.float32).max
    if big.any():
        value = arr[int(np.argmax(big))]
        raise DataValidationError(
            f"column {name!r} holds {value!r}, beyond the float32 range of its feature (±3.4e38); "
            "declare the feature Float64 or scale the values"
        )


def validate_table(view: FeatureView, table: pa.Table, timestamp_column: str) -> None:
    """Raise DataValidationError naming the column when ``table`` does not fit ``view``."""
    names = set(table.column_names)
    need = [*view.join_keys, *view.feature_names, timestamp_column]
    missing = [c for c in need if c not in names]
    if missing:
        raise DataValidationError(
            f"rows for feature view {view.name!r} lack column(s) {missing}; it needs {need}"
        )
    for f in (*view.entity_columns, *view.features):
        t = table.schema.field(f.name).type
        if not f.dtype.accepts_arrow(t):
            raise DataValidationError(
                f"column {f.name!r} of feature view {view.name!r} is {t} but the view declares {f.dtype.name}"
            )
    for k in view.join_keys:
        if table.column(k).null_count:
            raise DataValidationError(f"join key column {k!r} has missing values")
    ts = table.column(timestamp_column)
    if ts.null_count:
        raise DataValidationError(f"timestamp column {timestamp_column!r} has missing values")


def write_view_table(store: StoreParts, view: FeatureView, table: pa.Table, *, timestamp_column: str) -> list[bytes]:
    """Validate, encode and write ``table``'s rows of ``view`` online; a stored row with a newer event time wins.

    Returns the canonical entity keys of the rows, in row order (duplicates included).
    """
    return write_view(store, view, table, timestamp_column=timestamp_column).keys


def write_view(
    store: StoreParts, view: FeatureView, table: pa.Table, *, timestamp_column: str, fresh: bool = False
) -> ViewWrite:
    """:func:`write_view_table`, also saying how many rows were stored (the others lost newer-wins).

    ``fresh`` rows (pushed, not materialized) may not be dated more than ``config.max_future_seconds`` ahead.
    """
    validate_table(view, table, timestamp_column)
    if table.num_rows == 0:
        return ViewWrite([], 0)
    key_cols = []
    for f in view.entity_columns:
        col = _plain_array(table.column(f.name))
        key_cols.append(col.to_numpy(zero_copy_only=False) if f.dtype.name in ("int32", "int64") else col.to_pylist())
    keys = encode_prefixed_keys(b"", view.entity_columns, key_cols)
    codec = codec_for(view)
    columns = [arrow_column_values(table.column(f.name), f.dtype, f.name) for f in view.features]
    ts = timestamps_us(table.column(timestamp_column), f"timestamp column {timestamp_column!r}")
    import numpy as np

    times: Any = np.asarray(ts.to_numpy(zero_copy_only=False), dtype=np.int64)  # a sequence of µs
    if fresh:
        check_not_future(times, timestamp_column, store.config.max_future_seconds)
    rows = codec.encode_columns(columns, times)
    prefix = hash_key_prefix(store.project)
    written = store.online.write_rows([prefix + k for k in keys], view.name.encode(), rows, times)
    snapshot = store.snapshot()
    for odfv in snapshot.written_from(view.name):
        twin = snapshot.written_views[odfv.name]
        write_view(store, twin, computed_rows(odfv, twin, table, timestamp_column), timestamp_column=timestamp_column)
    return ViewWrite(keys, int(written))


def computed_rows(odfv: OnDemandFeatureView, twin: FeatureView, table: pa.Table, timestamp_column: str) -> pa.Table:
    """A ``write_to_online_store`` view's rows for the source rows in ``table``: the same keys and event times, its
    features computed by its function (:func:`fsnb.transforms.run`, as training sets run it)."""
    import pyarrow as pa

    from fsnb.transforms import run

    inputs = {f.name: table.column(f.name).to_pylist() for f in odfv.input_fields}
    outputs = run(odfv, inputs, table.num_rows)
    columns = [table.column(k) for k in twin.join_keys]
    columns += [pa.array(v, type=f.dtype.to_arrow()) if f.dtype.name != "json" else pa.array(v)
                for f, v in zip(odfv.features, outputs)]
    columns.append(table.column(timestamp_column))
    return pa.table(columns, names=[*twin.join_keys, *odfv.feature_names, timestamp_column])


def delete_view_data(store: StoreParts, view: FeatureView | str) -> int:
    """Remove every online row of ``view`` (for example after the view is deleted); returns how many."""
    name = view if isinstance(view, str) else view.name
    online = require(store.online, SupportsDelete, what="deleting a feature view's online rows")
    return online.delete_field(hash_key_prefix(store.project) + b"\x01", name.encode())
