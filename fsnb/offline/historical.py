"""Point-in-time-correct training sets: ``store.get_historical_features(entity_df, features)``."""

from __future__ import annotations

import contextlib
import html
from typing import TYPE_CHECKING, Any

from fsnb.errors import JoinKeyTypeError, MissingJoinKeyError, OfflineStoreError, RequestError
from fsnb.offline.features import ViewRequest, resolve_features
from fsnb.offline.pit import ENTITY_TABLE, ROW_COLUMN, ViewSource, point_in_time_queries
from fsnb.offline.store import quote, timestamp_sql

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from fsnb.definitions import Field
    from fsnb.offline.store import OfflineStore
    from fsnb.store import Store

__all__ = ["TrainingJob", "get_historical_features"]

DEFAULT_TIMESTAMP = "event_timestamp"


def get_historical_features(
    store: Store, entity_df: Any, features: Any, full_feature_names: bool = False
) -> TrainingJob:
    """A training set: for every row of ``entity_df``, each feature as it was at that row's event timestamp.

    ``entity_df`` is a pandas DataFrame, an Arrow table or a SQL query (run on the offline store) holding the join
    keys of every requested view and an event-timestamp column (``event_timestamp``, or its only timestamp
    column). ``features`` is a list of ``"view:feature"`` references, a FeatureService or its name. Every entity
    row comes back, in order, with its other columns; features are null where no row is recent enough (``ttl``).

    >>> store.get_historical_features(orders_df, "realtime_scoring").to_df()
    """
    requests = resolve_features(store.snapshot(), features, full_feature_names=full_feature_names)
    offline = store.offline
    entity = _entity_frame(offline, entity_df)
    columns = [str(c) for c in entity.columns] if _is_pandas(entity) else entity.column_names
    ts_col = _timestamp_column(entity, columns)
    join_keys: list[str] = []
    key_fields: dict[str, Field] = {}
    for req in requests:
        for col in req.view.entity_columns:
            if col.name not in key_fields:
                key_fields[col.name] = col
                join_keys.append(col.name)
    outputs = [o for r in requests for o in r.output_names]
    clash = sorted(set(outputs) & set(columns))
    if clash:
        raise RequestError(
            f"entity_df already has column(s) {clash} that a requested feature would produce: rename them, or "
            "pass full_feature_names=True"
        )
    import numpy as np
    import pyarrow as pa

    keyed = _check_keys(entity, columns, [*join_keys, ts_col], key_fields, requests)
    keyed = keyed.append_column(ROW_COLUMN, pa.array(np.arange(keyed.num_rows)))
    with offline.cursor("reading the entity frame") as cur:
        cur.register(ENTITY_TABLE, keyed)
        ts_type = {r[0]: r[1] for r in cur.execute(f"DESCRIBE {ENTITY_TABLE}").fetchall()}[ts_col]
        t_min, t_max = cur.execute(
            f"SELECT min(t), max(t) FROM (SELECT {timestamp_sql(quote(ts_col), ts_type)} AS t FROM {ENTITY_TABLE})"
        ).fetchone()  # type: ignore[misc]
    views = [_view_source(offline, req) for req in requests]
    queries = point_in_time_queries(
        entity_timestamp=ts_col, entity_timestamp_type=ts_type, views=views, t_min=t_min, t_max=t_max
    )
    return TrainingJob(offline, queries, entity, keyed, requests)


class TrainingJob:
    """A training set, computed on first use. ``to_df()``, ``to_arrow()``; ``sql`` is what DuckDB runs.

    ``sql`` holds one statement per feature view (``queries`` lists them); in them the entity frame (its join keys,
    its timestamp and a row number) is the table ``__fsnb_entity``.
    """

    def __init__(
        self, offline: OfflineStore, queries: list[str], entity: Any, keyed: pa.Table, requests: list[ViewRequest]
    ) -> None:
        self._offline = offline
        self.queries = queries
        self.sql = ";\n\n".join(queries) + ";"
        self._entity = entity
        self._keyed = keyed
        self._requests = requests
        self._features: pa.Table | None = None

    @property
    def feature_names(self) -> list[str]:
        """Output names of the features, in request order."""
        return [o for r in self._requests for o in r.output_names]

    def _fields(self) -> list[tuple[str, Field]]:
        return [(o, f) for r in self._requests for o, f in zip(r.output_names, r.fields)]

    def _run(self) -> pa.Table:
        if self._features is None:
            import pyarrow as pa

            columns: dict[str, pa.ChunkedArray] = {}
            for req, sql in zip(self._requests, self.queries):
                table = self._offline.fetch_arrow(
                    sql, what=f"joining feature view {req.view.name!r}", tables={ENTITY_TABLE: self._keyed}
                )
                if table.num_rows != self._keyed.num_rows:  # pragma: no cover - guarded by the ASOF LEFT JOIN
                    raise OfflineStoreError(
                        f"training set has {table.num_rows} rows for {self._keyed.num_rows} entity rows"
                    )
                for name in req.output_names:
                    columns[name] = table.column(name)
            self._features = _cast_features(pa.table(columns), self._fields())
        return self._features

    def to_arrow(self) -> pa.Table:
        """The entity columns followed by the features, as an Arrow table with the declared feature types."""
        import pyarrow as pa

        features = self._run()
        entity = self._entity
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
        entity = self._entity
        if head is not None:
            features = features.slice(0, head)
            entity = entity.head(head) if _is_pandas(entity) else entity.slice(0, head)
        if not _is_pandas(entity):
            entity = entity.to_pandas()
        cols = {name: _to_pandas(features.column(name), field) for name, field in self._fields()}
        return pd.concat([entity, pd.DataFrame(cols, index=entity.index)], axis=1)

    def __repr__(self) -> str:
        views = ", ".join(r.view.name for r in self._requests)
        return f"TrainingJob({self._keyed.num_rows} entity rows, {len(self.feature_names)} features from {views})"

    def _repr_html_(self) -> str:
        head = ""
        if self._features is not None:
            head = self._frame(10).to_html(max_cols=30)
        views = "".join(
            f"<li><b>{html.escape(r.view.name)}</b>: {html.escape(', '.join(r.output_names))}"
            f"{' (ttl ' + str(r.view.ttl) + ')' if r.view.ttl else ''}</li>"
            for r in self._requests
        )
        return (
            f"<div><b>TrainingJob</b> — {self._keyed.num_rows:,} entity rows x {len(self.feature_names)} features"
            f"<ul>{views}</ul>{head}<details><summary>SQL</summary><pre>{html.escape(self.sql)}</pre></details>"
            "</div>"
        )


# ------------------------------------------------------------------------------------------------- helpers


def _is_pandas(obj: Any) -> bool:
    return type(obj).__module__.startswith("pandas") and hasattr(obj, "columns")


def _entity_frame(offline: OfflineStore, entity_df: Any) -> Any:
    """The entity rows as given (a pandas DataFrame or Arrow table), or the result of a SQL query."""
    import pyarrow as pa

    if isinstance(entity_df, str):
        return offline.fetch_arrow(entity_df, what="running the entity query")
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
    entity: Any, columns: list[str], needed: list[str], key_fields: dict[str, Field], requests: list[ViewRequest]
) -> pa.Table:
    """The join-key and timestamp columns as Arrow, each key checked to exist and to have a fitting type."""
    import pyarrow as pa

    for name in key_fields:
        if name not in columns:
            views = [r.view.name for r in requests if name in r.view.join_keys]
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


def _view_source(offline: OfflineStore, req: ViewRequest) -> ViewSource:
    return ViewSource(req, *offline.view_source(req.view, (f.name for f in req.fields)))


def _cast_features(table: pa.Table, fields: list[tuple[str, Field]]) -> pa.Table:
    import pyarrow as pa

    columns = []
    for name, field in fields:
        col = table.column(name)
        target = field.dtype.to_arrow()
        if col.type != target:
            # composite values DuckDB returns in a shape Arrow cannot cast are kept as they are
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
