"""Running on-demand feature views: one code path for training sets and online reads.

Both callers hand :func:`run` the same thing: the view's inputs as Python values, one list per input (stored
features as their dtype's Python values, None where missing; request fields coerced to their declared dtypes by
:func:`request_column`). ``python`` mode passes them as a dict of lists, ``pandas`` mode as a DataFrame with the
declared pandas dtypes. Outputs are checked against the declared schema and come back as Python values, one list
per output. Errors name the view and the column: :class:`~fsnb.errors.TransformError`.
"""

from __future__ import annotations

import datetime as _dt
import json
import struct
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from fsnb.errors import DefinitionError, MissingRequestDataError, TransformError
from fsnb.types import DType

if TYPE_CHECKING:
    from fsnb.on_demand import OnDemandFeatureView

__all__ = ["check_view", "request_column", "run", "sample_inputs", "sample_value", "series_values"]

_f32 = struct.Struct("<f")
_UTC = _dt.UTC


def run(view: OnDemandFeatureView, inputs: dict[str, list[Any]], n: int) -> list[list[Any]]:
    """The view's outputs (one list of ``n`` Python values per declared feature, in order) for ``inputs``."""
    return _outputs(view, _call(view, inputs, n), n)


def _call(view: OnDemandFeatureView, inputs: dict[str, list[Any]], n: int) -> Any:
    """The function's own result for ``inputs``: a mapping (python mode) or a DataFrame (pandas mode)."""
    python = view.mode == "python"
    try:
        out = view.udf(inputs if python else _frame(view, inputs, n))
    except Exception as e:
        raise _raised(view, e) from e
    if python and type(out) is not dict and not isinstance(out, Mapping):
        raise TransformError(
            f"on-demand view {view.name!r} (python mode) returned {type(out).__name__}; return a dict of lists "
            f"with keys {list(view.feature_names)}"
        )
    if not python and (not hasattr(out, "columns") or not hasattr(out, "__getitem__")):
        raise TransformError(
            f"on-demand view {view.name!r} (pandas mode) returned {type(out).__name__}; return a DataFrame with "
            f"columns {list(view.feature_names)}"
        )
    return out


def _outputs(view: OnDemandFeatureView, out: Any, n: int) -> list[list[Any]]:
    if view.mode != "python":
        out = {f.name: series_values(out[f.name]) for f in view.features if f.name in out.columns}
    return [_checked(view, f.name, f.dtype, out, n) for f in view.features]


def request_column(view_names: str, field_name: str, dtype: DType, values: Any) -> list[Any]:
    """Request data of one field as Python values of its declared dtype (ints become floats for a float field;
    None and NaN are missing values); raises :class:`~fsnb.errors.MissingRequestDataError` for a value that does
    not fit."""
    values = values.tolist() if hasattr(values, "tolist") else list(values)
    exact = _EXACT.get(dtype.name)
    if exact is not None and all(type(v) is exact and v == v for v in values):
        return values  # already the declared type, and no NaN
    conv = _converter(dtype)
    try:
        return [None if v is None or v != v else conv(v) for v in values]
    except (TypeError, ValueError, OverflowError) as e:
        raise MissingRequestDataError(
            f"request data {field_name!r} of on-demand view(s) {view_names} must be {dtype.name}: {e}"
        ) from None


def sample_inputs(view: OnDemandFeatureView, n: int = 3) -> dict[str, list[Any]]:
    """Generated inputs for a trial run at apply: ``n`` non-null values of each input's dtype."""
    return {f.name: [_sample(f.dtype, i) for i in range(n)] for f in view.input_fields}


def check_view(view: OnDemandFeatureView) -> None:
    """Run the function once on generated inputs; raises DefinitionError when it fails or its output does not fit
    the declared schema (missing or extra columns, wrong dtypes)."""
    try:
        out = _call(view, sample_inputs(view), 3)
        _outputs(view, out, 3)
    except TransformError as e:
        raise DefinitionError(f"{e} (on generated input at apply: fix the function or its schema)") from None
    extra = [c for c in map(str, out.columns if view.mode != "python" else out) if c not in view.feature_names]
    if extra:
        raise DefinitionError(
            f"on-demand view {view.name!r} returns column(s) {extra} its schema does not declare; declare them or "
            "stop returning them"
        )


# ----------------------------------------------------------------------------------------------- helpers


def _raised(view: OnDemandFeatureView, e: Exception) -> TransformError:
    hint = ""
    if isinstance(e, NameError):
        hint = (" (functions run from their source text: import modules and define helpers inside the function; "
                "math, np, datetime and timedelta are available, and pd in pandas mode)")
    elif isinstance(e, KeyError):
        hint = f" (its inputs are {list(f.name for f in view.input_fields)})"
    return TransformError(f"on-demand view {view.name!r}: its function raised {type(e).__name__}: {e}{hint}")


def _frame(view: OnDemandFeatureView, inputs: dict[str, list[Any]], n: int) -> Any:
    """The inputs as a DataFrame with the declared pandas dtypes (nullable ints and bools, strings)."""
    import pandas as pd

    cols = {f.name: _pandas_column(inputs[f.name], f.dtype) for f in view.input_fields}
    return pd.DataFrame(cols, index=pd.RangeIndex(n), copy=False)


def _pandas_column(values: list[Any], dtype: DType) -> Any:
    import numpy as np
    import pandas as pd

    name = dtype.name
    if name in ("float64", "float32"):
        return np.array(values, dtype=name)  # None becomes NaN
    if name in ("int32", "int64") and None not in values:
        return pd.arrays.IntegerArray(np.array(values, dtype=name), np.zeros(len(values), dtype=bool))
    target = dtype.pandas_dtype
    if target is object:
        out = np.empty(len(values), dtype=object)
        out[:] = values
        return out
    return pd.array(values, dtype=target)


def series_values(series: Any) -> list[Any]:
    """A pandas column as Python values, None where pandas sees a missing value (NaN, NA, NaT)."""
    arr = series.to_numpy()
    kind = arr.dtype.kind
    if kind == "f":
        return [None if v != v else v for v in arr.tolist()]
    if kind in "iub":
        return arr.tolist()  # type: ignore[no-any-return]
    values = series.to_numpy(dtype=object, na_value=None).tolist()
    if kind == "M" or any(hasattr(v, "to_pydatetime") for v in values[:1]):
        values = [v.to_pydatetime() if hasattr(v, "to_pydatetime") else v for v in values]
    return values  # type: ignore[no-any-return]


def _checked(view: OnDemandFeatureView, name: str, dtype: DType, out: Mapping[str, Any], n: int) -> list[Any]:
    if name not in out:
        raise TransformError(
            f"on-demand view {view.name!r}: its function returned no column {name!r} (returned "
            f"{list(out)}); return every declared feature"
        )
    values = out[name]
    if type(values) is list and len(values) == n:
        exact = _EXACT.get(dtype.name)
        if exact is not None and all(v is None or type(v) is exact for v in values):
            return values
        conv = _converter(dtype)
        try:
            return [None if v is None else conv(v) for v in values]
        except (TypeError, ValueError, OverflowError) as e:
            raise TransformError(
                f"on-demand view {view.name!r}: output {name!r} is declared {dtype.name}: {e}"
            ) from None
    if hasattr(values, "tolist") and not isinstance(values, (list, str)):
        values = values.tolist()
    elif not isinstance(values, list):
        try:
            values = list(values)
        except TypeError:
            raise TransformError(
                f"on-demand view {view.name!r}: output {name!r} must be a list of {n} values, got "
                f"{type(values).__name__}"
            ) from None
    if len(values) != n:
        raise TransformError(
            f"on-demand view {view.name!r}: output {name!r} has {len(values)} values for {n} rows"
        )
    conv = _converter(dtype)
    try:
        return [None if v is None else conv(v) for v in values]
    except (TypeError, ValueError, OverflowError) as e:
        raise TransformError(f"on-demand view {view.name!r}: output {name!r} is declared {dtype.name}: {e}") from None


def _converter(dtype: DType) -> Callable[[Any], Any]:
    name = dtype.name
    conv = _SCALAR.get(name)
    if conv is not None:
        return conv
    if name.startswith("array<"):
        element = _converter(dtype.element)  # type: ignore[attr-defined]

        def array(v: Any) -> list[Any]:
            if isinstance(v, (str, bytes, Mapping)) or not hasattr(v, "__iter__"):
                raise TypeError(f"{v!r:.60} is not a list")
            return [None if x is None else element(x) for x in (v.tolist() if hasattr(v, "tolist") else v)]

        return array
    if name == "json":
        return _json
    return _mapping


def _int(v: Any) -> int:
    if isinstance(v, bool) or (hasattr(v, "dtype") and v.dtype.kind == "b"):
        raise TypeError(f"{v!r} is a bool, not an integer")
    if isinstance(v, int) or (hasattr(v, "dtype") and v.dtype.kind in "iu"):
        return int(v)
    if isinstance(v, float) and v.is_integer():
        return int(v)
    raise TypeError(f"{v!r:.60} ({type(v).__name__}) is not an integer")


def _int_in(bits: int) -> Callable[[Any], int]:
    low, high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1

    def check(v: Any) -> int:
        i = _int(v)
        if not low <= i <= high:
            raise ValueError(f"{i!r:.60} is outside the int{bits} range")
        return i

    return check


def _float(v: Any) -> float:
    if isinstance(v, (float, int)) and not isinstance(v, bool):
        return float(v)
    if hasattr(v, "dtype") and v.dtype.kind in "iuf":
        return float(v)
    raise TypeError(f"{v!r:.60} ({type(v).__name__}) is not a number")


def _float32(v: Any) -> float:
    return _f32.unpack(_f32.pack(_float(v)))[0]  # type: ignore[no-any-return]


def _str(v: Any) -> str:
    if isinstance(v, str):
        return str(v)
    raise TypeError(f"{v!r:.60} ({type(v).__name__}) is not a string")


def _bytes(v: Any) -> bytes:
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v)
    raise TypeError(f"{v!r:.60} ({type(v).__name__}) is not bytes")


def _bool(v: Any) -> bool:
    if isinstance(v, bool) or (hasattr(v, "dtype") and v.dtype.kind == "b"):
        return bool(v)
    raise TypeError(f"{v!r:.60} ({type(v).__name__}) is not a bool")


def _timestamp(v: Any) -> _dt.datetime:
    if hasattr(v, "to_pydatetime"):
        v = v.to_pydatetime()
    if isinstance(v, _dt.datetime):
        return v.replace(tzinfo=_UTC) if v.tzinfo is None else v.astimezone(_UTC)
    raise TypeError(f"{v!r:.60} ({type(v).__name__}) is not a datetime")


def _json(v: Any) -> Any:
    json.dumps(v)
    return v


def _mapping(v: Any) -> Any:
    if not isinstance(v, Mapping):
        raise TypeError(f"{v!r:.60} ({type(v).__name__}) is not a dict")
    return dict(v)


#: dtypes whose Python values of exactly this type need no conversion (ints need a range check, float32 rounding)
_EXACT: dict[str, type] = {"float64": float, "string": str, "bool": bool}

_SCALAR: dict[str, Callable[[Any], Any]] = {
    "int32": _int_in(32), "int64": _int_in(64), "float64": _float, "float32": _float32, "string": _str, "bytes": _bytes,
    "bool": _bool, "unix_timestamp": _timestamp,
}


def _sample(dtype: DType, i: int) -> Any:
    name = dtype.name
    if name in ("int32", "int64"):
        return i + 1
    if name in ("float32", "float64"):
        return 0.5 + i
    if name == "string":
        return "abc"[i % 3]
    if name == "bytes":
        return b"abc"[i % 3 : i % 3 + 1]
    if name == "bool":
        return i % 2 == 0
    if name == "unix_timestamp":
        return _dt.datetime(2024, 1, 1 + i, tzinfo=_UTC)
    if name.startswith("array<"):
        return [_sample(dtype.element, j) for j in range(i + 1)]  # type: ignore[attr-defined]
    if name.startswith("map<"):
        return {"k": _sample(dtype.value, i)}  # type: ignore[attr-defined]
    if name.startswith("struct<"):
        return {k: _sample(t, i) for k, t in dict(dtype.fields).items()}  # type: ignore[attr-defined]
    return {"k": i}


def sample_value(dtype: DType, rng: Any) -> Any:
    """A random value of ``dtype`` drawn with ``rng`` (a ``random.Random``): request data for profiles and checks."""
    name = dtype.name
    if name in ("int32", "int64"):
        return rng.randint(0, 1000)
    if name in ("float32", "float64"):
        return round(rng.uniform(0, 1000), 2)
    if name == "string":
        return rng.choice(["north", "south", "east", "west", "central", "overseas"])
    if name == "bool":
        return rng.random() < 0.5
    if name == "unix_timestamp":
        return _dt.datetime.now(_UTC) - _dt.timedelta(seconds=rng.randint(0, 86400))
    return _sample(dtype, rng.randint(0, 2))
