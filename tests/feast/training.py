"""Compare a training set of fsnb with Feast's ``get_historical_features`` on the same entity frame and data.

Feast 0.67's file offline store (``feast/infra/offline_stores/dask.py``) differs from fsnb in three documented ways,
each checked here rather than hidden:

- ``_filter_ttl`` filters the left-joined rows *before* picking the latest one, and keeps a row only if its feature
  timestamp is null (no feature row for the key at all) or within ``[T - ttl, T]``. An entity row whose key has
  feature rows, none of them in its window, loses every joined row and so leaves the result: Feast drops it. fsnb
  keeps every entity row, in order, with nulls for that view (as Feast's SQL offline stores do with a LEFT JOIN).
- ``_drop_duplicates`` keeps one row per (join keys, entity timestamp): repeated entity rows collapse. fsnb keeps them.
- Ties on the event timestamp are meant to go to the latest created timestamp, but Feast sorts by created and then by
  event timestamp with pandas' default (unstable) sort, so which tied row it returns is arbitrary. fsnb returns the
  latest created row; such rows are checked against the data, not against Feast.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class ViewData:
    """One feature view's source rows and the point-in-time rule that reads them."""

    name: str
    rows: pd.DataFrame
    join_key: str
    ttl: timedelta | None
    created: str | None = "created"
    timestamp: str = "event_timestamp"


def point_in_time(entity_df: pd.DataFrame, view: ViewData, features: list[str]) -> tuple[pd.DataFrame, pd.Series]:
    """The expected features per entity row (latest row in ``[T - ttl, T]``, ties to the latest created) and each
    row's case: ``match``, ``tie`` (several rows at the chosen event time), ``outside`` (the key has rows, none in
    the window) or ``absent`` (no row for the key)."""
    rows = view.rows.assign(**{view.timestamp: pd.to_datetime(view.rows[view.timestamp], utc=True)})
    groups = dict(tuple(rows.groupby(view.join_key)))
    values: list[dict[str, Any]] = []
    cases: list[str] = []
    for key, at in zip(entity_df[view.join_key], pd.to_datetime(entity_df["event_timestamp"], utc=True)):
        group = groups.get(key)
        if group is None:
            values.append({})
            cases.append("absent")
            continue
        ts = group[view.timestamp]
        window = group[(ts <= at) & ((ts >= at - view.ttl) if view.ttl else True)]
        if window.empty:
            values.append({})
            cases.append("outside")
            continue
        top = window[window[view.timestamp] == window[view.timestamp].max()]
        if view.created:
            top = top.assign(_c=pd.to_datetime(top[view.created], utc=True)).sort_values("_c", kind="stable")
        values.append(top.iloc[-1][features].to_dict())
        cases.append("tie" if len(top) > 1 else "match")
    return pd.DataFrame(values, index=entity_df.index, columns=features), pd.Series(cases, index=entity_df.index)


def normalize(x: Any) -> Any:
    """A value as plain Python (lists, dicts, numbers, str) with every null as ``None``."""
    if isinstance(x, np.ndarray | list | tuple):
        return [normalize(v) for v in x]
    if isinstance(x, dict):
        return {k: normalize(v) for k, v in x.items()}
    if x is None or x is pd.NA or x is pd.NaT or (isinstance(x, float | np.floating) and np.isnan(x)):
        return None
    return x.item() if isinstance(x, np.generic) else x


def feast_dtype(ours: Any, has_null: bool) -> str:
    """The pandas dtype Feast's file store returns for a feature fsnb returns as ``ours``: pandas' own upcasts of a
    left join (nullable ints become float64 when a null is present, booleans object); everything else the same."""
    name = str(ours)
    if name in ("Int32", "Int64"):
        return "float64" if has_null else name.lower()
    if name == "boolean":
        return "object" if has_null else "bool"
    if name == "string":  # pandas' default for text read back from Parquet: "str" (pandas 3) or "object"
        return str(pd.Series(["text"]).dtype)
    return name


def column_values(frame: pd.DataFrame, column: str) -> list[Any]:
    return [normalize(v) for v in frame[column].tolist()]


def assert_matches_feast(entity_df: pd.DataFrame, ours: pd.DataFrame, theirs: pd.DataFrame,
                         views: list[tuple[ViewData, list[str]]]) -> pd.DataFrame:
    """Check fsnb's training set ``ours`` against the data and Feast's ``theirs`` for the same ``entity_df``.

    fsnb: every entity row in order, each feature equal to :func:`point_in_time`. Feast: exactly the distinct entity
    rows without an ``outside`` case; on those without a ``tie``, values, nulls and dtypes equal fsnb's. Returns the
    cases (one column per view) with a ``compared`` column, so callers can check what was covered.
    """
    keys = [views[0][0].join_key, "event_timestamp"]
    assert ours[keys].reset_index(drop=True).equals(entity_df[keys].reset_index(drop=True)), "entity rows changed"
    cases = pd.DataFrame(index=entity_df.index)
    for view, features in views:
        expected, cases[view.name] = point_in_time(entity_df, view, features)
        found = cases[view.name].isin(["match", "tie"])
        for f in features:
            want = [v if hit else None for v, hit in zip(column_values(expected, f), found)]
            assert column_values(ours, f) == want, f"fsnb {view.name}:{f} differs from the data"
    outside = (cases == "outside").any(axis=1)
    distinct = ~entity_df.duplicated(keys)
    kept = entity_df[~outside & distinct]
    theirs = theirs.assign(event_timestamp=theirs["event_timestamp"].astype(entity_df["event_timestamp"].dtype))
    assert len(theirs) == len(kept)
    assert set(theirs[keys].itertuples(index=False)) == set(kept[keys].itertuples(index=False))
    cases["compared"] = ~outside & distinct & ~(cases == "tie").any(axis=1)
    both = entity_df[cases["compared"]][keys].merge(theirs, on=keys, how="left", validate="one_to_one")
    mine = ours[cases["compared"].to_numpy()].reset_index(drop=True)
    for view, features in views:
        for f in features:
            assert column_values(mine, f) == column_values(both, f), f"{view.name}:{f} differs from Feast's"
            assert str(both[f].dtype) == feast_dtype(mine[f].dtype, bool(theirs[f].isna().any())), f
    return cases
