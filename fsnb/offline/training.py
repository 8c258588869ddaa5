"""Training sets, engine-neutral parts: the entity frame checked against a request, and the lazy ``TrainingJob``.

An engine computes the feature columns (:meth:`~fsnb.offline.base.OfflineEngine.point_in_time`); this module
checks what the user gave before any query and assembles the result: the entity frame's own columns in their
order, then the features in ``request.output_names`` order, in their declared types. On-demand views run here,
after the engine's point-in-time join of their inputs (:func:`training_set`), through :func:`fsnb.transforms.run`
as online reads run them.
"""

from __future__ import annotations

import contextlib
import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fsnb.errors import (
    JoinKeyTypeError,
    MissingJoinKeyError,
    MissingRequestDataError,
    OfflineStoreError,
    RequestError,
)

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from fsnb.definitions import Field
    from fsnb.offline.base import OfflineEngine
    from fsnb.requests import FeatureRequest

__all__ = ["DEFAULT_TIMESTAMP", "ROW_COLUMN", "EntityFrame", "TrainingJob", "check_entity_columns", "training_set"]

DEFAULT_TIMESTAMP = "event_timestamp"
#: position of each entity row in the caller's frame, added to :attr:`EntityFrame.keys`.
ROW_COLUMN = "__fsnb_row"


@dataclass(frozen=True)
class EntityFrame:
    """The user's entity rows (``frame``: pandas or Arrow, untouched) and ``keys``: their join keys, event
    timestamp and row number (:data:`ROW_COLUMN`) as Arrow, each key checked to fit its join key's dtype."""

    frame: Any
    columns: tuple[str, ...]
    timestamp_column: str
    keys: pa.Table

    @property
    def num_rows(self) -> int:
        return self.keys.num_rows

    @classmethod
    def build(cls, entity_df: Any, request: FeatureRequest, timestamp_column: str | None = None) -> EntityFrame:
        """Check ``entity_df`` (pandas DataFrame or Arrow table) against ``request``; raises before any I/O."""
        import numpy as np
        import pyarrow as pa

        entity = _entity_frame(entity_df)
        columns = [str(c) for c in entity.columns] if _is_pandas(entity) else list(entity.column_names)
        ts_col = timestamp_column or _timestamp_column(entity, columns)
        check_entity_columns(columns, ts_col, request)
        key_fields = {f.name: f for f in request.join_keys}
        keys = _check_keys(entity, columns, [*key_fields, ts_col], key_fields, request)
        keys = keys.append_column(ROW_COLUMN, pa.array(np.arange(keys.num_rows)))
        return cls(entity, tuple(columns), ts_col, keys)


class TrainingJob:
    """A training set, computed on first use: ``to_df()``, ``to_arrow()``. ``sql`` is what the engine runs.

    ``compute`` returns the feature columns (named by ``request.output_names``, one row per entity row in order).
    """

    #: the request with on-demand views this job finishes (see :meth:`with_transforms`), or None
    _final: FeatureRequest | None = None

    def __init__(
        self,
        entity: EntityFrame,
        request: FeatureRequest,
        compute: Callable[[], pa.Table],
        *,
        queries: Sequence[str] = (),
    ) -> None:
        self._entity = entity
        self._request = request
        self._compute = compute
        self.queries = list(queries)
        self.sql = ";\n\n".join(self.queries) + ";" if self.queries else ""
        self._features: pa.Table | None = None

    def with_transforms(self, request: FeatureRequest) -> TrainingJob:
        """This job (over ``request.base``) finishing with ``request``'s on-demand views, in its output order."""
        job = TrainingJob(self._entity, self._request, self._compute, queries=self.queries)
        job._final = request
        return job

    @property
    def feature_names(self) -> list[str]:
        """Output names of the features, in request order (service order for a service)."""
        return list((self._final or self._request).output_names)

    def _fields(self) -> list[tuple[str, Field]]:
        return list((self._final or self._request).output_fields)

    def _run(self) -> pa.Table:
        if self._features is None:
            if self._request.views:
                table = self._compute()
                if table.num_rows != self._entity.num_rows:  # pragma: no cover - an engine bug
                    raise OfflineStoreError(
                        f"training set has {table.num_rows} rows for {self._entity.num_rows} entity rows"
                    )
            else:  # on-demand views of request data only: nothing stored to read
                import pyarrow as pa

                table = pa.table({})
            table = _cast_features(table, list(self._request.output_fields))
            if self._final is not None:
                table = _transformed(self._final, table, self._entity)
            self._features = table
        return self._features

    def to_arrow(self) -> pa.Table:
        """The entity columns followed by the features, as an Arrow table with the declared feature types."""
        import pyarrow as pa

        features = self._run()
        entity = self._entity.frame
        if not isinstance(entity, pa.Table):
            entity = pa.Table.from_pandas(entity, preserve_index=False)
        for name in features.column_names:
            entity = entity.append_column(name, features.column(name))
        return entity

    def to_df(self) -> pd.DataFrame:
        """The entity frame (same index, same columns) with one column per feature, in the declared pandas dtype."""
        return self._frame(None)

    def _frame(self, head: int | None) -> pd.DataFrame:
        import pandas as pd

        features = self._run()
        entity = self._entity.frame
        if head is not None:
            features = features.slice(0, head)
            entity = entity.head(head) if _is_pandas(entity) else entity.slice(0, head)
        if not _is_pandas(entity):
            entity = entity.to_pandas()
        cols = {name: _to_pandas(features.column(name), field) for name, field in self._fields()}
        return pd.concat([entity, pd.DataFrame(cols, index=entity.index)], axis=1)

    def __repr__(self) -> str:
        request = self._final or self._request
        views = ", ".join([*(r.view.name for r in request.views), *(t.view.name for t in request.transforms)])
        return f"TrainingJob({self._entity.num_rows} entity rows, {len(self.feature_names)} features from {views})"

    def _repr_html_(self) -> str:
        head = ""
        if self._features is not None:
            head = self._frame(10).to_html(max_cols=30)
        views = "".join(
            f"<li><b>{html.escape(r.view.name)}</b>: {html.escape(', '.join(r.output_names))}"
            f"{' (ttl ' + str(r.view.ttl) + ')' if r.view.ttl else ''}</li>"
            for r in self._request.views
        )
        sql = f"<details><summary>SQL</summary><pre>{html.escape(self.sql)}</pre></details>" if self.sql else ""
        return (
            f"<div><b>TrainingJob</b> — {self._entity.num_rows:,} entity rows x {len(self.feature_names)} "
            f"features<ul>{views}</ul>{head}{sql}</div>"
        )


def training_set(engine: OfflineEngine, entity_df: Any, request: FeatureRequest) -> Any:
    """``engine``'s training set for ``request``; on-demand views run on the point-in-time rows of their inputs,
    with their request data taken from ``entity_df``'s columns."""
    if not request.transforms:
        return engine.training_set(entity_df, request)
    columns = _columns_of(entity_df)
    if columns is not None:
        _check_request_data(columns, request)
    job = engine.training_set(entity_df, request.base)
    entity = getattr(job, "_entity", None)
    if entity is None:
        raise RequestError(
            "on-demand views run on the entity rows in this process: pass entity_df as a pandas DataFrame or an "
            "Arrow table, not a frame that stays in the cluster"
        )
    _check_request_data(list(entity.columns), request)
    check_entity_columns(list(entity.columns), entity.timestamp_column, request)
    return job.with_transforms(request)


def check_entity_columns(columns: Sequence[str], timestamp_column: str, request: FeatureRequest) -> None:
    """Raise when the entity frame lacks its timestamp column or already has a column a feature would produce."""
    if timestamp_column not in columns:
        raise MissingJoinKeyError(
            f"entity_df has no timestamp column {timestamp_column!r}; its columns are {list(columns)}"
        )
    clash = sorted(set(request.output_names) & set(columns))
    if clash:
        raise RequestError(
            f"entity_df already has column(s) {clash} that a requested feature would produce: rename them, "
            "or pass full_feature_names=True"
        )


def _columns_of(entity_df: Any) -> list[str] | None:
    if _is_pandas(entity_df):
        return [str(c) for c in entity_df.columns]
    return list(entity_df.column_names) if hasattr(entity_df, "column_names") else None


def _check_request_data(columns: list[str], request: FeatureRequest) -> None:
    for t in request.transforms:
        missing = [f.name for f in t.request_fields if f.name not in columns]
        if missing:
            raise MissingRequestDataError(
                f"on-demand view {t.view.name!r} needs request data {missing}: add them as columns of entity_df "
                f"(its columns are {columns})"
            )


def _transformed(request: FeatureRequest, base: pa.Table, entity: EntityFrame) -> pa.Table:
    """The final feature columns: stored ones renamed from the base table, on-demand ones computed."""
    import pyarrow as pa

    from fsnb.transforms import request_column, run, series_values

    n = entity.num_rows
    frame = entity.frame
    request_data: dict[str, list[Any]] = {}
    for f in request.request_fields:
        users = ", ".join(repr(t.view.name) for t in request.transforms if f in t.request_fields)
        values = frame.column(f.name).to_pylist() if isinstance(frame, pa.Table) else series_values(frame[f.name])
        request_data[f.name] = request_column(users, f.name, f.dtype, values)
    outputs: dict[tuple[int, int], Any] = {}
    n_views = len(request.views)
    for t_index, t in enumerate(request.transforms):
        inputs = {f.name: base.column(col).to_pylist() for f, col in t.inputs}
        inputs.update({f.name: request_data[f.name] for f in t.request_fields})
        computed = run(t.view, inputs, n)
        by_name = dict(zip(t.view.feature_names, computed))
        for i, f in enumerate(t.fields):
            outputs[(n_views + t_index, i)] = pa.array(by_name[f.name], type=f.dtype.to_arrow()) \
                if f.dtype.name != "json" else pa.array(by_name[f.name])
    columns = []
    base_names = {(r.view.name, f.name): name for r, names in zip(request.base.views, (r.output_names for r in
                  request.base.views)) for f, name in zip(r.fields, names)}
    for v, i in request.columns:
        if v < n_views:
            r = request.views[v]
            columns.append(base.column(base_names[(r.view.name, r.fields[i].name)]))
        else:
            columns.append(outputs[(v, i)])
    return pa.table(columns, names=list(request.output_names))


# ------------------------------------------------------------------------------------------------- helpers


def _is_pandas(obj: Any) -> bool:
    return type(obj).__module__.startswith("pandas") and hasattr(obj, "columns")


def _entity_frame(entity_df: Any) -> Any:
    import pyarrow as pa

    if isinstance(entity_df, pa.Table):
        return entity_df
    if _is_pandas(entity_df):
        if not entity_df.columns.is_unique:
            raise RequestError(f"entity_df has duplicate column names: {list(entity_df.columns)}")
        return entity_df
    raise RequestError(
        f"entity_df must be a pandas DataFrame, a pyarrow Table or a SQL query string, got {type(entity_df).__name__}"
    )


def _timestamp_column(entity: Any, columns: list[str]) -> str:
    if DEFAULT_TIMESTAMP in columns:
        return DEFAULT_TIMESTAMP
    if _is_pandas(entity):
        import pandas as pd

        candidates = [str(c) for c in entity.columns if pd.api.types.is_datetime64_any_dtype(entity[c].dtype)]
    else:
        import pyarrow.types as t

        candidates = [f.name for f in entity.schema if t.is_timestamp(f.type) or t.is_date(f.type)]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise MissingJoinKeyError(
            f"entity_df has no event timestamp column: add '{DEFAULT_TIMESTAMP}' (datetimes; naive means UTC); "
            f"its columns are {columns}"
        )
    raise RequestError(
        f"entity_df has several timestamp columns {candidates}: name the event time '{DEFAULT_TIMESTAMP}'"
    )


def _check_keys(
    entity: Any, columns: list[str], needed: list[str], key_fields: dict[str, Field], request: FeatureRequest
) -> pa.Table:
    """The join-key and timestamp columns as Arrow, each key checked to exist and to have a fitting type."""
    import pyarrow as pa

    for name in key_fields:
        if name not in columns:
            views = [r.view.name for r in request.views if name in r.view.join_keys]
            raise MissingJoinKeyError(
                f"entity_df has no column {name!r}, the join key of {views}; its columns are {columns}"
            )
    if _is_pandas(entity):
        try:
            table = pa.Table.from_pandas(entity[needed], preserve_index=False)
        except (pa.ArrowException, ValueError, TypeError) as e:
            raise RequestError(f"entity_df columns {needed} cannot be read: {e}") from e
    else:
        table = entity.select(needed)
    for name, field in key_fields.items():
        arrow_type = table.schema.field(name).type
        if not field.dtype.accepts_arrow(arrow_type):
            raise JoinKeyTypeError(
                f"entity_df column {name!r} is {arrow_type} but join key {name!r} is {field.dtype.name}: "
                "convert the column"
            )
    return table


def _cast_features(table: pa.Table, fields: list[tuple[str, Field]]) -> pa.Table:
    import pyarrow as pa

    columns = []
    for name, field in fields:
        col = table.column(name)
        target = field.dtype.to_arrow()
        if col.type != target:
            # composite values an engine returns in a shape Arrow cannot cast are kept as they are
            with contextlib.suppress(pa.ArrowException, NotImplementedError):
                col = col.cast(target)
        columns.append(col)
    return pa.table(columns, names=[n for n, _ in fields])


def _to_pandas(col: pa.ChunkedArray, field: Field) -> Any:
    import pandas as pd

    target = field.dtype.pandas_dtype
    if isinstance(target, pd.api.extensions.ExtensionDtype) and not isinstance(target, pd.DatetimeTZDtype):
        arrow_type = col.type
        values = col.to_pandas(types_mapper=lambda t: target if t == arrow_type else None)
    else:
        values = col.to_pandas()
    if target is not object and values.dtype != target:
        with contextlib.suppress(TypeError, ValueError):
            values = values.astype(target)
    return values.to_numpy() if target is object else values.array
