"""The SQL registry on real SQLite files: apply, plan, prune, validation, the TTL cache, intervals."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import fsnb
from fsnb.config import Config, RegistryConfig
from fsnb.definitions import FeatureViewProjection
from fsnb.errors import DefinitionError, RegistryError, SchemaMismatchError
from fsnb.registry.registry import Registry

# ------------------------------------------------------------------------------------------------ helpers


def write_transactions(path: Path, n: int = 20) -> None:
    """A small Parquet source: customer_id, event_timestamp, created, txn_count_7d (int64), avg_amount."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    ts = [datetime(2024, 1, 1, tzinfo=UTC) + timedelta(hours=i) for i in range(n)]
    pq.write_table(
        pa.table({
            "customer_id": pa.array(range(n), pa.int64()),
            "event_timestamp": pa.array(ts, pa.timestamp("us", tz="UTC")),
            "created": pa.array(ts, pa.timestamp("us", tz="UTC")),
            "txn_count_7d": pa.array(range(n), pa.int64()),
            "avg_amount": pa.array([1.5 * i for i in range(n)], pa.float64()),
            "segment": pa.array(["mass"] * n, pa.string()),
        }),
        path,
    )


def definitions(
    *,
    count_dtype: Any = fsnb.Int64,
    key_dtype: Any = fsnb.Int64,
    ttl_days: int = 2,
    extra_fields: tuple[Any, ...] = (),
    timestamp_field: str = "event_timestamp",
    created: str | None = "created",
    path: str = "data/transactions.parquet",
    view_name: str = "transaction_stats",
    description: str = "",
) -> dict[str, Any]:
    customer = fsnb.Entity("customer", join_keys={"customer_id": key_dtype})
    source = fsnb.ParquetSource(path, name="transactions", timestamp_field=timestamp_field,
                                created_timestamp_column=created)
    view = fsnb.FeatureView(
        view_name,
        entities=[customer],
        schema=[fsnb.Field("txn_count_7d", count_dtype), fsnb.Field("avg_amount", fsnb.Float64), *extra_fields],
        source=source,
        ttl=timedelta(days=ttl_days),
        description=description,
    )
    service = fsnb.FeatureService("scoring", [view[["avg_amount"]]])
    return {"customer": customer, "source": source, "view": view, "service": service}


def make_store(repo: Path, url: str | None = None, *, project: str = "bank", ttl: float = 60.0) -> fsnb.Store:
    """A Store on a repo folder with a real registry (built without fsnb.yaml)."""
    url = url or f"sqlite:///{repo / '.fsnb' / 'registry.db'}"
    config = Config(project=project, repo_path=repo, registry=RegistryConfig(url=url, cache_ttl_seconds=ttl))
    return fsnb.Store(config=config)


class StatementCounter:
    """Counts SQL statements sent through an engine, by their first word."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self.statements: list[str] = []
        self._engine = engine
        event.listen(engine, "before_cursor_execute", self._on)

    def _on(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement.strip().split(None, 1)[0].upper())

    def count(self, *words: str) -> int:
        return sum(1 for s in self.statements if s in words)

    def reset(self) -> None:
        self.statements.clear()

    def close(self) -> None:
        from sqlalchemy import event

        event.remove(self._engine, "before_cursor_execute", self._on)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    write_transactions(tmp_path / "data" / "transactions.parquet")
    return tmp_path


@pytest.fixture
def store(repo: Path) -> Iterator[fsnb.Store]:
    s = make_store(repo)
    yield s
    s.close()


def all_of(d: dict[str, Any]) -> list[Any]:
    return [d["customer"], d["view"], d["service"]]


# ------------------------------------------------------------------------------------------------ apply / plan


def test_apply_registers_objects_and_their_sources(store: fsnb.Store) -> None:
    d = definitions()
    plan = store.apply(all_of(d))
    assert plan.applied and plan.version_before == 0 and plan.version_after == 1
    assert [(i.action, i.label, i.name) for i in plan.items] == [
        ("add", "entity", "customer"),
        ("add", "data_source", "transactions"),
        ("add", "feature_view", "transaction_stats"),
        ("add", "feature_service", "scoring"),
    ]
    assert store.registry.version() == 1
    assert store.get_feature_view("transaction_stats") == d["view"]
    assert store.get_entity("customer") == d["customer"]
    assert store.get_feature_service("scoring") == d["service"]
    assert store.get_data_source("transactions") == d["source"]
    # a second process (a new Registry) sees the same thing
    other = Registry(store.config.registry.url, project="bank")
    assert other.snapshot().get_feature_view("transaction_stats") == d["view"]
    other.close()


def test_reapplying_identical_objects_writes_nothing(store: fsnb.Store) -> None:
    store.apply(all_of(definitions()))
    counter = StatementCounter(store.registry.engine)
    plan = store.apply(all_of(definitions()))
    counter.close()
    assert not plan.has_changes and str(plan) == "No changes."
    assert plan.version_after == 1 and store.registry.version() == 1
    assert counter.count("UPDATE", "DELETE") == 0
    assert counter.count("INSERT") <= 1  # only the project's insert-if-missing, which inserts nothing
    assert str(store.plan(all_of(definitions()))) == "No changes."


def test_plan_reports_a_dtype_change_exactly_and_writes_nothing(store: fsnb.Store) -> None:
    store.apply(all_of(definitions()))
    plan = store.plan(all_of(definitions(count_dtype=fsnb.Float64)))
    assert [(i.action, i.name) for i in plan.items] == [("change", "transaction_stats")]
    assert plan.changed[0].changes == ("feature txn_count_7d dtype int64 -> float64",)
    assert "~ feature_view transaction_stats: feature txn_count_7d dtype int64 -> float64" in str(plan)
    assert not plan.applied and store.registry.version() == 1
    df = plan.to_df()
    assert list(df.columns) == ["action", "kind", "name", "changes"]
    assert df.iloc[0].to_dict() == {
        "action": "change", "kind": "feature_view", "name": "transaction_stats",
        "changes": "feature txn_count_7d dtype int64 -> float64",
    }
    assert "txn_count_7d" in plan._repr_html_()


def test_plan_names_added_and_removed_fields_and_other_changes(store: fsnb.Store) -> None:
    store.apply(all_of(definitions()))
    new = definitions(ttl_days=3, extra_fields=(fsnb.Field("segment", fsnb.String),), description="v2")
    changes = store.plan(all_of(new)).changed[0].changes
    assert set(changes) == {"feature segment added (string)", "ttl_seconds 172800 -> 259200", "description '' -> v2"}


def test_apply_change_bumps_version_once(store: fsnb.Store) -> None:
    store.apply(all_of(definitions()))
    plan = store.apply(all_of(definitions(count_dtype=fsnb.Float64, ttl_days=5)))
    assert plan.version_before == 1 and plan.version_after == 2
    assert store.registry.version() == 2
    view = store.get_feature_view("transaction_stats")
    assert view.ttl == timedelta(days=5)
    assert dict((f.name, f.dtype) for f in view.features)["txn_count_7d"] == fsnb.Float64


def test_deletion_only_with_prune(store: fsnb.Store) -> None:
    d = definitions()
    store.apply(all_of(d))
    partial = [d["customer"], d["view"]]
    assert not store.apply(partial).has_changes
    assert "scoring" in store.snapshot().feature_services
    plan = store.plan(partial, prune=True)
    assert [(i.action, i.label, i.name) for i in plan.items] == [("remove", "feature_service", "scoring")]
    assert "- feature_service scoring" in str(plan)
    store.apply(partial, prune=True)
    assert "scoring" not in store.snapshot().feature_services
    assert store.registry.version() == 2


def test_prune_keeps_only_the_applied_set_for_references(store: fsnb.Store) -> None:
    d = definitions()
    store.apply(all_of(d))
    with pytest.raises(DefinitionError, match=r"entity 'customer'.*not in this apply"):
        store.apply([d["view"]], prune=True)
    assert store.registry.version() == 1


def test_same_object_twice_is_fine_two_different_with_one_name_are_not(store: fsnb.Store) -> None:
    d = definitions()
    store.apply([d["customer"], d["customer"], d["view"]])
    other = fsnb.Entity("customer", join_keys={"customer_id": fsnb.Int64}, description="another")
    with pytest.raises(DefinitionError, match="two different entity definitions are named 'customer'"):
        store.apply([d["customer"], other])


# ------------------------------------------------------------------------------------------------ validation


def _bad_cases(repo: Path) -> dict[str, tuple[list[Any], type[Exception], list[str]]]:
    d = definitions()
    cust = d["customer"]
    src = d["source"]

    def view_with(**kw: Any) -> fsnb.FeatureView:
        return definitions(**kw)["view"]

    account = fsnb.Entity("account", join_keys={"account_id": fsnb.Int64})
    view_account = fsnb.FeatureView("acct", entities=[account], schema=[fsnb.Field("avg_amount", fsnb.Float64)],
                                    source=src)
    client = fsnb.Entity("client", join_keys={"customer_id": fsnb.Int64})
    view_client = fsnb.FeatureView("by_client", entities=[client], schema=[fsnb.Field("avg_amount", fsnb.Float64)],
                                   source=src)
    return {
        "feature missing from source": (
            [cust, view_with(extra_fields=(fsnb.Field("nope", fsnb.Int64),))], SchemaMismatchError,
            ["transaction_stats", "'nope'", "missing"]),
        "dtype does not fit": (
            [cust, view_with(count_dtype=fsnb.String)], SchemaMismatchError,
            ["transaction_stats", "'txn_count_7d'", "string", "int64"]),
        "missing timestamp column": (
            [cust, view_with(timestamp_field="ts")], SchemaMismatchError, ["transaction_stats", "'ts'"]),
        "missing created column": (
            [cust, view_with(created="created_at")], SchemaMismatchError, ["transaction_stats", "'created_at'"]),
        "missing join key column": (
            [account, view_account], SchemaMismatchError, ["acct", "'account_id'"]),
        "missing source file": (
            [cust, view_with(path="data/nothing.parquet")], SchemaMismatchError,
            ["transaction_stats", "nothing.parquet"]),
        "unknown entity": ([view_client], DefinitionError, ["'by_client'", "entity 'client'", "not in this apply"]),
        "join key dtype disagrees with the registered entity": (
            [view_with(key_dtype=fsnb.String)], DefinitionError,
            ["transaction_stats", "'customer_id'", "string", "int64"]),
        "service names an unknown view": (
            [fsnb.FeatureService("svc", [FeatureViewProjection("ghost", [fsnb.Field("x", fsnb.Int64)])])],
            DefinitionError, ["'svc'", "'ghost'"]),
        "service names an unknown feature": (
            [fsnb.FeatureService("svc", [FeatureViewProjection("transaction_stats",
                                                               [fsnb.Field("ghost", fsnb.Int64)])])],
            DefinitionError, ["'svc'", "'ghost'", "transaction_stats"]),
        "service feature with another dtype": (
            [fsnb.FeatureService("svc", [FeatureViewProjection("transaction_stats",
                                                               [fsnb.Field("avg_amount", fsnb.Int64)])])],
            DefinitionError, ["'svc'", "avg_amount", "int64", "float64"]),
        "duplicate names within a kind": (
            [cust, fsnb.Entity("customer", join_keys={"customer_id": fsnb.Int64}, tags={"x": "y"})],
            DefinitionError, ["'customer'", "unique"]),
        "entity dtype change breaking a registered view": (
            [fsnb.Entity("customer", join_keys={"customer_id": fsnb.String})], DefinitionError,
            ["transaction_stats", "customer_id"]),
    }


@pytest.mark.parametrize("case", list(_bad_cases(Path("."))))
def test_failed_apply_names_object_and_column_and_writes_nothing(store: fsnb.Store, repo: Path, case: str) -> None:
    store.apply(all_of(definitions()))
    before = store.refresh_registry()
    objects, error, words = _bad_cases(repo)[case]
    with pytest.raises(error) as info:
        store.plan(objects)
    for word in words:
        assert word in str(info.value), (word, str(info.value))
    with pytest.raises(error):
        store.apply(objects)
    after = store.refresh_registry()
    assert after.version == before.version == 1
    assert after.objects() == before.objects()


def test_apply_rejects_things_that_are_not_definitions(store: fsnb.Store) -> None:
    with pytest.raises(DefinitionError, match="cannot apply 42"):
        store.apply([42])  # type: ignore[list-item]


def test_push_source_without_batch_data_yet_is_accepted(store: fsnb.Store) -> None:
    d = definitions()
    push = fsnb.PushSource("txn_push", fsnb.ParquetSource("data/later/*.parquet", name="later"))
    view = fsnb.FeatureView("pushed", entities=[d["customer"]], schema=[fsnb.Field("x", fsnb.Int64)], source=push)
    store.apply([d["customer"], view])
    assert store.get_data_source("txn_push") == push


def test_table_of_the_offline_database_checked_while_the_offline_store_is_open(repo: Path) -> None:
    import dataclasses

    import duckdb

    from fsnb.config import OfflineStoreConfig

    db = repo / "offline.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE pushed AS SELECT 1::BIGINT AS customer_id, now() AS event_timestamp, 2.5 AS score")
    con.close()
    base = make_store(repo).config
    config = dataclasses.replace(base, offline_store=OfflineStoreConfig(database=str(db)))
    d = definitions()
    view = fsnb.FeatureView("pushed_view", entities=[d["customer"]], schema=[fsnb.Field("score", fsnb.Float64)],
                            source=fsnb.DuckDBSource(table="pushed"))
    bad = fsnb.FeatureView("bad_view", entities=[d["customer"]], schema=[fsnb.Field("nope", fsnb.Float64)],
                           source=fsnb.DuckDBSource(table="pushed"))
    with fsnb.Store(config=config) as store:
        assert store.plan([d["customer"], view]).has_changes  # read through a short-lived connection
        store.offline.connection  # noqa: B018 - the offline store now holds the database file
        store.apply([d["customer"], view])
        with pytest.raises(SchemaMismatchError, match="'nope'"):
            store.apply([bad])


# ------------------------------------------------------------------------------------------------ cache


def test_snapshot_is_cached_and_costs_one_version_query_after_the_ttl(repo: Path) -> None:
    url = f"sqlite:///{repo / 'reg.db'}"
    writer = make_store(repo, url)
    writer.apply(all_of(definitions()))
    reader = Registry(url, project="bank", cache_ttl_seconds=3600)
    first = reader.snapshot()
    counter = StatementCounter(reader.engine)
    if reader._sqlite_conn is not None:  # a SQLite registry is read with sqlite3, not through the engine
        reader._sqlite_conn.set_trace_callback(lambda sql: counter.statements.append(sql.split(None, 1)[0].upper()))
    assert reader.snapshot() is first and counter.count("SELECT") == 0  # inside the TTL: no query at all

    reader._checked_at -= 7200  # the TTL has passed
    assert reader.snapshot() is first
    assert counter.count("SELECT") == 1  # one version query, no reload

    writer.apply(all_of(definitions(ttl_days=9)))
    counter.reset()
    assert reader.snapshot() is first  # still inside the (renewed) TTL
    reader._checked_at -= 7200
    fresh = reader.snapshot()
    assert fresh is not first and fresh.version == 2
    assert fresh.get_feature_view("transaction_stats").ttl == timedelta(days=9)
    assert counter.count("SELECT") > 1  # version, then the reload
    counter.close()
    reader.close()
    writer.close()


def test_snapshots_are_immutable(store: fsnb.Store) -> None:
    store.apply(all_of(definitions()))
    snap = store.snapshot()
    with pytest.raises(TypeError):
        snap.feature_views["x"] = None  # type: ignore[index]
    with pytest.raises(AttributeError):
        snap.get_feature_view("transaction_stats").ttl = None  # type: ignore[misc]


def test_cached_snapshot_served_when_registry_unreachable(repo: Path) -> None:
    url = f"sqlite:///{repo / 'reg.db'}"
    writer = make_store(repo, url)
    writer.apply(all_of(definitions()))
    reader = Registry(url, project="bank", cache_ttl_seconds=3600)
    snap = reader.snapshot()
    reader.url = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    reader.close()
    reader._checked_at -= 7200
    assert reader.snapshot() is snap
    writer.close()


# ------------------------------------------------------------------------------------------------ intervals


def test_materialization_intervals_and_watermark_do_not_bump_version(store: fsnb.Store) -> None:
    store.apply(all_of(definitions()))
    reg = store.registry
    assert reg.watermark("transaction_stats") is None
    reg.add_materialization_interval("transaction_stats", datetime(2024, 1, 1), datetime(2024, 1, 2, tzinfo=UTC))
    reg.add_materialization_interval(
        "transaction_stats", "2024-01-02T00:00:00", datetime(2024, 1, 3, 2, tzinfo=timezone(timedelta(hours=2)))
    )
    reg.add_materialization_interval("other", datetime(2025, 1, 1), datetime(2025, 1, 2))
    assert reg.materialization_intervals("transaction_stats") == [
        (datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC)),
        (datetime(2024, 1, 2, tzinfo=UTC), datetime(2024, 1, 3, tzinfo=UTC)),
    ]
    assert reg.watermark("transaction_stats") == datetime(2024, 1, 3, tzinfo=UTC)
    assert reg.version() == 1
    with pytest.raises(fsnb.errors.MaterializationError, match="after end"):
        reg.add_materialization_interval("transaction_stats", datetime(2024, 2, 1), datetime(2024, 1, 1))


# ------------------------------------------------------------------------------------------------ errors, fork


def test_connection_errors_become_registry_errors_without_password(tmp_path: Path) -> None:
    reg = Registry("postgresql://fsnb:s3cret-pw@127.0.0.1:1/fsnb", project="p")
    with pytest.raises(RegistryError) as info:
        reg.version()
    assert "s3cret-pw" not in str(info.value)
    assert "127.0.0.1" in str(info.value)
    assert info.value.__cause__ is not None


def _child_version(reg: Registry, queue: Any) -> None:
    queue.put(reg.version())


def test_registry_works_in_a_forked_child(store: fsnb.Store) -> None:
    store.apply(all_of(definitions()))
    reg = store.registry
    assert reg.version() == 1  # the parent has pooled connections now
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child_version, args=(reg, queue))
    proc.start()
    proc.join(30)
    assert proc.exitcode == 0 and queue.get(timeout=5) == 1
    assert reg.version() == 1 and reg.snapshot().version == 1


def test_registry_pickles_as_settings(store: fsnb.Store) -> None:
    import pickle

    store.apply(all_of(definitions()))
    clone = pickle.loads(pickle.dumps(store.registry))
    assert clone.url == store.registry.url and clone.project == "bank"
    assert clone.snapshot().get_feature_view("transaction_stats") == definitions()["view"]
    clone.close()


def test_sqlite_path_urls_and_missing_folders(tmp_path: Path) -> None:
    reg = Registry(str(tmp_path / "deep" / "er" / "registry.db"), project="p")
    assert reg.version() == 0 and reg.snapshot().objects() == []
    assert (tmp_path / "deep" / "er" / "registry.db").exists()
    reg.close()
