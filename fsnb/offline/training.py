"""Training sets, engine-neutral parts: the entity frame checked against a request, and the lazy ``TrainingJob``.

An engine computes the feature columns (:meth:`~fsnb.offline.base.OfflineEngine.point_in_time`); this module
checks what the user gave before any query and assembles the result: the entity frame's own columns in their
order, then the features in ``request.output_names`` order, in their declared types.
"""

from __future__ import annotations

import contextlib
import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fsnb.errors import JoinKeyTypeError, MissingJoinKeyError, OfflineStoreError, RequestError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from fsnb.definitions import Field
    from fsnb.requests import FeatureRequest

__all__ = ["DEFAULT_TIMESTAMP", "ROW_COLUMN", "EntityFrame", "TrainingJob"]

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
        if ts_col not in columns:
            raise MissingJoinKeyError(f"entity_df has no timestamp column {ts_col!r}; its columns are {columns}")
        clash = sorted(set(request.output_names) & set(columns))
        if clash:
            raise RequestError(
                f"entity_df already has column(s) {clash} that a requested feature would produce: rename them, "
                "or pass full_feature_names=True"
            )
        key_fields = {f.name: f for f in request.join_keys}
        keys = _check_keys(entity, columns, [*key_fields, ts_col], key_fields, request)
        keys = keys.append_column(ROW_COLUMN, pa.array(np.arange(keys.num_rows)))
        return cls(entity, tuple(columns), ts_col, keys)


class TrainingJob:
    """A training set, computed on first use: ``to_df()``, ``to_arrow()``. ``sql`` is what the engine runs.

    ``compute`` returns the feature columns (named by ``request.output_names``, one row per entity row in order).
    """

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

    @property
    def feature_names(self) -> list[str]:
        """Output names of the features, in request order (service order for a service)."""
        return list(self._request.output_names)

    def _fields(self) -> list[tuple[str, Field]]:
        r = self._request
        return [(r.views[v].output_names[i], r.views[v].fields[i]) for v, i in r.columns]

    def _run(self) -> pa.Table:
        if self._features is None:
            table = self._compute()
            if table.num_rows != self._entity.num_rows:  # pragma: no cover - an engine bug
                raise OfflineStoreError(
                    f"training set has {table.num_rows} rows for {self._entity.num_rows} entity rows"
                )
            self._features = _cast_features(table, self._fields())
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
        views = ", ".join(r.view.name for r in self._request.views)
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
