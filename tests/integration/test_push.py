"""Push into a real Redis and into the offline store's files and tables."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

import fsnb
from fsnb.config import Config, OfflineStoreConfig, OnlineStoreConfig, RegistryConfig
from fsnb.errors import DataValidationError, RequestError

pytestmark = pytest.mark.redis

PROJECT = "pushy"
NOW = datetime.now(UTC).replace(microsecond=0)
customer = fsnb.Entity("customer", join_keys={"customer_id": fsnb.Int64})


def make_store(repo: Path, redis_url: str) -> fsnb.Store:
    cfg = Config(
        project=PROJECT,
        repo_path=repo,
        registry=RegistryConfig(url=f"sqlite:///{repo}/registry.db", cache_ttl_seconds=0),
        online_store=OnlineStoreConfig(type="redis", url=redis_url),
        offline_store=OfflineStoreConfig(database=str(repo / "offline.duckdb")),
    )
    return fsnb.Store(config=cfg)


def rows(ids: list[int], counts: list[int], when: datetime, **extra: list[object]) -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": ids, "count": counts, "ratio": [c / 10 for c in counts], "event_timestamp": when, **extra
    })


def view_on(source: fsnb.PushSource, name: str = "txn") -> fsnb.FeatureView:
    return fsnb.FeatureView(
        name, entities=[customer], source=source, ttl=timedelta(days=1),
        schema=[fsnb.Field("count", fsnb.Int64), fsnb.Field("ratio", fsnb.Float32)],
    )


@pytest.fixture
def parquet_store(tmp_path: Path, redis_url: str):
    (tmp_path / "data" / "txn").mkdir(parents=True)
    rows([1, 2], [10, 20], NOW - timedelta(hours=2)).to_parquet(tmp_path / "data" / "txn" / "base.parquet")
    batch = fsnb.ParquetSource("data/txn", name="txn_batch")
    push_src = fsnb.PushSource("txn_push", batch_source=batch)
    store = make_store(tmp_path, redis_url)
    store.apply([customer, batch, push_src, view_on(push_src)])
    yield store
    store.close()


def online(store: fsnb.Store, ids: list[int]) -> list[object]:
    return store.get_online_features(["txn:count"], [{"customer_id": i} for i in ids]).to_dict()["count"]


def offline(store: fsnb.Store, ids: list[int], when: datetime = NOW) -> list[object]:
    edf = pd.DataFrame({"customer_id": ids, "event_timestamp": when})
    values = store.get_historical_features(edf, ["txn:count"]).to_df()["count"]
    return [None if pd.isna(v) else int(v) for v in values]


def test_push_online_then_stale_rows_are_ignored(parquet_store):
    store = parquet_store
    assert store.push("txn_push", rows([1, 3], [11, 31], NOW - timedelta(minutes=5))) == 2
    assert online(store, [1, 2, 3]) == [11, None, 31]
    store.push("txn_push", rows([1, 3], [5, 32], [NOW - timedelta(hours=1), NOW]))  # 1 is older than stored
    assert online(store, [1, 3]) == [11, 32]
    assert offline(store, [1, 3]) == [10, None]  # "online" writes nothing offline
    assert len(list((store.config.repo_path / "data" / "txn").glob("*.parquet"))) == 1


def test_push_offline_adds_a_file_the_offline_store_reads(parquet_store):
    store = parquet_store
    source = store.get_data_source("txn_push")
    store.push(source, rows([1, 4], [12, 40], NOW - timedelta(minutes=1)), to="offline")
    assert offline(store, [1, 2, 4]) == [12, 20, 40]
    assert offline(store, [1], NOW - timedelta(minutes=2)) == [10]  # point in time still holds
    assert online(store, [1, 4]) == [None, None]
    files = sorted(p.name for p in (store.config.repo_path / "data" / "txn").glob("*.parquet"))
    assert len(files) == 2 and files[1].startswith("push-")


def test_push_online_and_offline(parquet_store):
    store = parquet_store
    store.push("txn_push", rows([5], [50], NOW), to="online_and_offline")
    assert online(store, [5]) == [50]
    assert offline(store, [5]) == [50]


def test_invalid_rows_are_rejected_before_anything_is_written(parquet_store):
    store = parquet_store
    folder = store.config.repo_path / "data" / "txn"
    with pytest.raises(DataValidationError, match="ratio"):
        store.push("txn_push", rows([6], [60], NOW).drop(columns=["ratio"]), to="online_and_offline")
    with pytest.raises(DataValidationError, match="count"):
        store.push("txn_push", rows([6], [60], NOW).astype({"count": str}), to="online_and_offline")
    with pytest.raises(DataValidationError, match="event_timestamp"):
        store.push("txn_push", rows([6], [60], NOW).drop(columns=["event_timestamp"]), to="offline")
    assert online(store, [6]) == [None]
    assert offline(store, [6]) == [None]
    assert len(list(folder.glob("*"))) == 1


def test_bad_push_requests(parquet_store):
    with pytest.raises(RequestError, match="PushSource"):
        parquet_store.push("txn_batch", rows([1], [1], NOW))
    with pytest.raises(RequestError, match="online_and_offline"):
        parquet_store.push("txn_push", rows([1], [1], NOW), to="everywhere")
    with pytest.raises(fsnb.errors.ObjectNotFoundError):
        parquet_store.push("nope", rows([1], [1], NOW))


def test_push_offline_to_a_single_parquet_file_a_csv_and_a_duckdb_table(tmp_path, redis_url):
    import duckdb

    (tmp_path / "data").mkdir()
    rows([1], [10], NOW - timedelta(hours=2)).to_parquet(tmp_path / "data" / "one.parquet")
    rows([1], [10], NOW - timedelta(hours=2)).to_csv(tmp_path / "data" / "one.csv", index=False)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute(
            "CREATE TABLE txn (customer_id BIGINT, count BIGINT, ratio FLOAT, event_timestamp TIMESTAMPTZ, note TEXT)"
        )
        con.execute("INSERT INTO txn VALUES (1, 10, 1.0, now() - INTERVAL 2 HOUR, 'old')")
    sources = {
        "pq": fsnb.ParquetSource("data/one.parquet", name="pq_batch"),
        "csv": fsnb.CsvSource("data/one.csv", name="csv_batch"),
        "db": fsnb.DuckDBSource(table="txn", database="warehouse.duckdb", name="db_batch"),
    }
    objects: list[object] = [customer]
    for name, batch in sources.items():
        push_src = fsnb.PushSource(f"{name}_push", batch_source=batch)
        objects += [batch, push_src, view_on(push_src, f"{name}_view")]
    with make_store(tmp_path, redis_url) as store:
        store.apply(objects)
        edf = pd.DataFrame({"customer_id": [1, 2], "event_timestamp": NOW})
        for name in sources:
            store.push(f"{name}_push", rows([2], [22], NOW - timedelta(minutes=1)), to="offline")
            got = store.get_historical_features(edf, [f"{name}_view:count"]).to_df()["count"].tolist()
            assert got == [10, 22], name
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        assert con.execute("SELECT count(*), count(note) FROM txn").fetchone() == (2, 1)  # missing column → null


def test_cli_push(parquet_store, tmp_path):
    store = parquet_store
    cfg = store.config
    (tmp_path / "fsnb.yaml").write_text(
        f"project: {PROJECT}\nregistry: registry.db\nonline_store:\n  type: redis\n  url: {cfg.online_store.url}\n"
        "offline_store:\n  database: offline.duckdb\n"
    )
    rows([7], [70], NOW).to_parquet(tmp_path / "fresh.parquet")
    store.close()  # the CLI process opens the offline store's DuckDB file itself
    paths = [str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    done = subprocess.run(
        [sys.executable, "-m", "fsnb.cli", "--repo", str(tmp_path), "push", "txn_push", str(tmp_path / "fresh.parquet"),
         "--to", "online_and_offline"],
        capture_output=True, env=env, timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert b"pushed 1 rows" in done.stdout
    with make_store(tmp_path, cfg.online_store.url) as again:
        assert online(again, [7]) == [70]
        assert offline(again, [7]) == [70]


def test_push_refreshes_precomputed_vectors(tmp_path, redis_url):
    (tmp_path / "data" / "txn").mkdir(parents=True)
    rows([1, 2], [10, 20], NOW - timedelta(hours=2)).to_parquet(tmp_path / "data" / "txn" / "base.parquet")
    batch = fsnb.ParquetSource("data/txn", name="txn_batch")
    push_src = fsnb.PushSource("txn_push", batch_source=batch)
    view = view_on(push_src)
    service = fsnb.FeatureService("fast", [view], precompute_online=True)
    with make_store(tmp_path, redis_url) as store:
        store.apply([customer, batch, push_src, view, service])
        store.materialize(NOW - timedelta(days=1), NOW, progress=False)
        entity_rows = [{"customer_id": i} for i in (1, 2, 3)]
        assert store.get_online_features("fast", entity_rows).to_dict()["count"] == [10, 20, None]
        store.push("txn_push", rows([2, 3], [21, 31], NOW - timedelta(minutes=1)))
        pre = store.get_online_features("fast", entity_rows).to_dict()
        assert pre["count"] == [10, 21, 31]
        assert pre == store.get_online_features("fast", entity_rows, precomputed=False).to_dict()


def test_push_accepts_iso_text_timestamps_as_json_clients_send_them(parquet_store):
    fresh = rows([8], [80], NOW)
    fresh["event_timestamp"] = [NOW.isoformat()]
    parquet_store.push("txn_push", fresh, to="online_and_offline")
    assert online(parquet_store, [8]) == [80]
    assert offline(parquet_store, [8]) == [80]
    bad = rows([8], [81], NOW).astype({"event_timestamp": str})
    bad["event_timestamp"] = ["yesterday"]
    with pytest.raises(DataValidationError, match="ISO-8601"):
        parquet_store.push("txn_push", bad)
