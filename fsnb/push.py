"""Push: fresh rows of a PushSource to the online store, the offline store, or both.

The rows are validated against every feature view fed by the source (join keys, features, event timestamp, each
with a dtype that fits) before anything is written. Online, each view's rows go through the same newer-wins write
path as materialization (rows older than what is stored are ignored) and the precomputed vectors of the entities
touched are refreshed. Offline, the offline engine appends the rows where the source's batch data lives (see
:meth:`fsnb.offline.base.OfflineEngine.append`). With a remote online store the whole push is sent to the feature
server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fsnb.definitions import DataSource, FeatureView, PushSource
from fsnb.errors import DataValidationError, RequestError

if TYPE_CHECKING:
    import pyarrow as pa

    from fsnb._parts import StoreParts
    from fsnb.online.writes import WriteResult

__all__ = ["PUSH_MODES", "push"]

PUSH_MODES = ("online", "offline", "online_and_offline")


def push(store: StoreParts, source: str | DataSource, df: Any, to: str = "online") -> WriteResult:
    """Push the rows of ``df`` (a pandas DataFrame or Arrow table) to ``source``.

    ``to`` is ``"online"``, ``"offline"`` or ``"online_and_offline"``. Returns a
    :class:`~fsnb.online.writes.WriteResult`: the number of rows (an int), with ``written`` / ``ignored`` counting
    the (row, feature view) pairs stored online / kept out because the stored row is newer. Event timestamps follow
    :mod:`fsnb._time`'s rule (datetimes, ISO-8601 text, or integer epoch seconds; naive means UTC). Raises
    :class:`~fsnb.errors.DataValidationError` (nothing written) when a column is missing or has the wrong dtype.

    >>> store.push("transaction_stats_push", fresh_df, to="online_and_offline")
    """
    from fsnb.online.writes import WriteResult

    if to not in PUSH_MODES:
        raise RequestError(f"push: to={to!r} must be one of {', '.join(PUSH_MODES)}")
    name = source if isinstance(source, str) else source.name
    snapshot = store.snapshot()
    push_source = snapshot.get_data_source(name)
    if not isinstance(push_source, PushSource):
        raise RequestError(
            f"data source {name!r} is a {type(push_source).__name__}; only a PushSource takes pushes "
            "(define fsnb.PushSource(name, batch_source=...) and feed views from it)"
        )
    views = [
        v for v in snapshot.feature_views.values()
        if isinstance(v.source, PushSource) and v.source.name == push_source.name
    ]
    table = _parse_text_timestamps(_to_arrow(df), {push_source.timestamp_field, push_source.created_timestamp_column})
    for view in views:
        _validate(view, table)
    if table.num_rows and push_source.timestamp_field in table.column_names:  # online and offline alike
        from fsnb.online.writes import check_not_future, timestamps_us

        ts = timestamps_us(table.column(push_source.timestamp_field), "event timestamp")
        check_not_future(ts.to_numpy(zero_copy_only=False), push_source.timestamp_field,
                         store.config.max_future_seconds)
    offline_rows = None
    if to != "online":
        offline_rows = _offline_rows(store, push_source, table, views)  # conformed before anything is written
    if table.num_rows == 0:
        return WriteResult(0)
    written = ignored = 0
    if to != "offline":
        written, ignored = _push_online(store, [v for v in views if v.online], table)
    if offline_rows is not None:
        store.offline.append(push_source, offline_rows)
    return WriteResult(table.num_rows, written, ignored)


def _to_arrow(df: Any) -> pa.Table:
    import pyarrow as pa

    if isinstance(df, pa.Table):
        return df
    if type(df).__module__.startswith("pandas") and hasattr(df, "columns"):
        if not df.columns.is_unique:
            raise DataValidationError(f"pushed rows have duplicate column names: {list(df.columns)}")
        try:
            return pa.Table.from_pandas(df, preserve_index=False)
        except (pa.ArrowException, ValueError, TypeError) as e:
            raise DataValidationError(f"pushed rows cannot be converted to Arrow: {e}") from None
    raise DataValidationError(f"push takes a pandas DataFrame or a pyarrow Table, got {type(df).__name__}")


def _parse_text_timestamps(table: pa.Table, names: set[str | None]) -> pa.Table:
    """ISO-8601 text in the timestamp columns (as JSON clients send it) as UTC timestamps."""
    import pyarrow as pa

    for name in names:
        if name is None or name not in table.column_names:
            continue
        col = table.column(name)
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            import pandas as pd

            try:
                parsed = pd.to_datetime(pd.Series(col.to_pylist(), dtype=object), utc=True, format="ISO8601")
            except (ValueError, TypeError) as e:
                raise DataValidationError(
                    f"pushed column {name!r} holds text that is not an ISO-8601 time: {e}"
                ) from None
            arr = pa.array(parsed, type=pa.timestamp("us", tz="UTC"))
            table = table.set_column(table.column_names.index(name), name, arr)
    return table


def _validate(view: FeatureView, table: pa.Table) -> None:
    """Every column ``view`` needs is there with a dtype that fits, or DataValidationError names it."""
    from fsnb.types import UnixTimestamp

    ts = view.source.batch_source.timestamp_field
    wanted = [*((f, "join key") for f in view.entity_columns), *((f, "feature") for f in view.features)]
    for field, role in wanted:
        if field.name not in table.column_names:
            raise DataValidationError(
                f"pushed rows lack column {field.name!r}, a {role} of feature view {view.name!r} "
                f"({field.dtype.name}); they have {table.column_names}"
            )
        arrow_type = table.schema.field(field.name).type
        if not field.dtype.accepts_arrow(arrow_type):
            raise DataValidationError(
                f"pushed column {field.name!r} is {arrow_type} but {role} {field.name!r} of feature view "
                f"{view.name!r} is {field.dtype.name}; convert the column"
            )
        if role == "join key" and table.column(field.name).null_count:
            raise DataValidationError(f"pushed join key column {field.name!r} has nulls")
    if ts not in table.column_names:
        raise DataValidationError(
            f"pushed rows lack the event timestamp column {ts!r} of feature view {view.name!r}; "
            f"they have {table.column_names}"
        )
    ts_type = table.schema.field(ts).type
    if not UnixTimestamp.accepts_arrow(ts_type) or table.column(ts).null_count:
        raise DataValidationError(
            f"pushed event timestamp column {ts!r} must hold timestamps without nulls, got {ts_type}"
        )


def _offline_rows(store: StoreParts, source: PushSource, table: pa.Table, views: list[FeatureView]) -> pa.Table:
    from fsnb.offline.files import conform

    schema = _offline_schema(store, source, views, table)
    if source.timestamp_field not in table.column_names:
        raise DataValidationError(
            f"pushed rows lack the event timestamp column {source.timestamp_field!r}; they have {table.column_names}"
        )
    if source.created_timestamp_column and source.created_timestamp_column not in table.column_names:
        import pyarrow as pa

        now = pa.scalar(_now(), type=pa.timestamp("us", tz="UTC"))
        table = table.append_column(source.created_timestamp_column, pa.array([now] * table.num_rows))
    return conform(table, schema, source)  # other columns the source stores are left null


def _offline_schema(store: StoreParts, source: PushSource, views: list[FeatureView], table: pa.Table) -> pa.Schema:
    """The schema of the source's batch data; for Parquet/CSV files not written yet, the one the views declare."""
    import pyarrow as pa

    schema = store.offline.schema(source)
    if schema is not None:
        return schema
    # no batch files yet (apply allows that for a PushSource): the first push writes the views' declared columns
    fields: dict[str, pa.DataType] = {} if views else {f.name: f.type for f in table.schema}
    for view in views:
        for f in view.schema:
            fields.setdefault(f.name, f.dtype.to_arrow())
    ts = pa.timestamp("us", tz="UTC")
    fields[source.timestamp_field] = ts
    if source.created_timestamp_column:
        fields[source.created_timestamp_column] = ts
    return pa.schema(list(fields.items()))


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def _push_online(store: StoreParts, views: list[FeatureView], table: pa.Table) -> tuple[int, int]:
    """Write each view's rows online and refresh the vectors touched; returns (written, ignored) row counts."""
    from fsnb.online.writes import write_view

    vectorised = {
        p.name for s in store.snapshot().feature_services.values() if s.precompute_online for p in s.projections
    }
    touched: dict[tuple[str, ...], tuple[list[str], dict[bytes, None]]] = {}
    written = ignored = 0
    for view in views:
        ts = view.source.batch_source.timestamp_field
        subset = table.select([*view.join_keys, *view.feature_names, ts])
        done = write_view(store, view, subset, timestamp_column=ts)
        written, ignored, keys = written + done.written, ignored + done.ignored, done.keys
        if view.name not in vectorised:
            continue
        names, seen = touched.setdefault(view.join_keys, ([], {}))
        names.append(view.name)
        seen.update(dict.fromkeys(keys))
    if touched:
        from fsnb.online.vectors import refresh_vectors

        for names, seen in touched.values():
            refresh_vectors(store, list(seen), views=names)
    return written, ignored
