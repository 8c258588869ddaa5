"""``assert_online_equal``: two online results hold the same columns, values, statuses and event times."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["assert_online_equal"]


def assert_online_equal(
    left: Any, right: Any, *, check_dtypes: bool = True, check_timestamps: bool = True, rel_tol: float = 0.0
) -> None:
    """Raise ``AssertionError`` naming the first differences between two online results.

    ``left`` is an :class:`~fsnb.serving.response.OnlineResponse`; ``right`` another one, or a mapping of column →
    expected values (then only the values of those columns are compared). Floats compare equal within ``rel_tol``;
    NaN equals NaN.
    """
    if isinstance(right, Mapping):
        got = left.to_dict()
        missing = [c for c in right if c not in got]
        if missing:
            raise AssertionError(f"columns {missing} are not in the response (it has {list(got)})")
        _compare_values({c: got[c] for c in right}, dict(right), rel_tol)
        return
    if list(left.feature_names) != list(right.feature_names):
        raise AssertionError(f"columns differ: {list(left.feature_names)} != {list(right.feature_names)}")
    if check_dtypes:
        a, b = {k: str(v) for k, v in left.dtypes.items()}, {k: str(v) for k, v in right.dtypes.items()}
        if a != b:
            diff = {k: (a[k], b.get(k)) for k in a if a[k] != b.get(k)}
            raise AssertionError(f"dtypes differ (left, right): {diff}")
    _compare_values(left.to_dict(), right.to_dict(), rel_tol)
    _compare_columns("statuses", left.statuses, right.statuses)
    if check_timestamps:
        _compare_columns("event timestamps", left.event_timestamps, right.event_timestamps)


def _compare_values(a: dict[str, Sequence[Any]], b: dict[str, Sequence[Any]], rel_tol: float) -> None:
    problems = []
    for col, want in b.items():
        have = a[col]
        if len(have) != len(want):
            problems.append(f"{col}: {len(have)} rows != {len(want)} rows")
            continue
        for i, (x, y) in enumerate(zip(have, want)):
            if not _same(x, y, rel_tol):
                problems.append(f"{col}[{i}]: {x!r} != {y!r}")
                break
    if problems:
        raise AssertionError("values differ: " + "; ".join(problems[:10]))


def _compare_columns(what: str, a: dict[str, list[Any]], b: dict[str, list[Any]]) -> None:
    for col in b:
        if a.get(col) != b[col]:
            rows = [i for i, (x, y) in enumerate(zip(a.get(col, []), b[col])) if x != y]
            raise AssertionError(
                f"{what} of {col!r} differ at rows {rows[:10]}: {a.get(col)!r:.200} != {b[col]!r:.200}"
            )


def _same(x: Any, y: Any, rel_tol: float) -> bool:
    if isinstance(x, float) and isinstance(y, float):
        if math.isnan(x) and math.isnan(y):
            return True
        return x == y or math.isclose(x, y, rel_tol=rel_tol)
    if isinstance(x, (list, tuple)) and isinstance(y, (list, tuple)):
        return len(x) == len(y) and all(_same(p, q, rel_tol) for p, q in zip(x, y))
    if isinstance(x, dict) and isinstance(y, dict):
        return x.keys() == y.keys() and all(_same(x[k], y[k], rel_tol) for k in x)
    return bool(x == y)
