"""fsnb.offline.duckdb.sources: DuckDB FROM expressions and real schemas of Parquet, CSV, DuckDB and query sources."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import fsnb
from fsnb.config import Config, OfflineStoreConfig
from fsnb.errors import OfflineStoreError
from fsnb.offline.duckdb.sources import source_relation, source_schema


def _table(n: int = 3, **extra: pa.Array) -> pa.Table:
    return pa.table({
        "customer_id": pa.array(range(n), pa.int64()),
        "event_timestamp": pa.array([datetime(2024, 1, 1, tzinfo=UTC)] * n, pa.timestamp("us", tz="UTC")),
        **extra,
    })


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return Config(project="p", repo_path=tmp_path)


def _rows(config: Config, source: fsnb.definitions.DataSource) -> list[tuple[object, ...]]:
    import duckdb

    con = duckdb.connect()
    try:
        return con.sql(f"SELECT * FROM {source_relation(source, config)} AS s ORDER BY 1").fetchall()
    finally:
        con.close()


def test_parquet_file_relative_to_the_repo(config: Config, tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    pq.write_table(_table(score=pa.array([0.5, 1.5, 2.5])), tmp_path / "data" / "a.parquet")
    src = fsnb.ParquetSource("data/a.parquet")
    rel = source_relation(src, config)
    assert rel.startswith("read_parquet([") and str(tmp_path) in rel and "union_by_name=true" in rel
    schema = source_schema(src, config)
    assert schema.field("score").type == pa.float64()
    assert schema.field("event_timestamp").type == pa.timestamp("us", tz="UTC")
    assert len(_rows(config, src)) == 3


def test_parquet_folder_and_glob_union_by_name(config: Config, tmp_path: Path) -> None:
    folder = tmp_path / "parts"
    (folder / "day=1").mkdir(parents=True)
    pq.write_table(_table(a=pa.array([1, 2, 3])), folder / "day=1" / "x.parquet")
    pq.write_table(_table(b=pa.array(["u", "v", "w"])), folder / "y.parquet")
    for src in (fsnb.ParquetSource(str(folder)), fsnb.ParquetSource("parts/*.parquet", name="g")):
        names = source_schema(src, config).names
        assert "customer_id" in names
    assert {"a", "b"} <= set(source_schema(fsnb.ParquetSource(str(folder)), config).names)
    assert len(_rows(config, fsnb.ParquetSource(str(folder)))) == 6


def test_csv_source(config: Config, tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("customer_id,event_timestamp,score\n1,2024-01-01 00:00:00,0.5\n2,2024-01-02,1\n")
    src = fsnb.CsvSource("t.csv")
    assert source_relation(src, config).startswith("read_csv_auto(")
    schema = source_schema(src, config)
    assert pa.types.is_integer(schema.field("customer_id").type)
    assert pa.types.is_timestamp(schema.field("event_timestamp").type)
    assert _rows(config, src)[0][0] == 1


def test_duckdb_table_in_another_file_and_a_query(config: Config, tmp_path: Path) -> None:
    import duckdb

    db = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE SCHEMA s; CREATE TABLE s.feats AS SELECT 1::BIGINT AS customer_id, "
                "TIMESTAMPTZ '2024-01-01 00:00:00+00' AS event_timestamp, 2.5 AS score")
    con.close()
    table_src = fsnb.DuckDBSource(table="s.feats", database="warehouse.duckdb")
    assert source_relation(table_src, config).startswith("read_duckdb(")
    assert source_schema(table_src, config).names == ["customer_id", "event_timestamp", "score"]
    assert _rows(config, table_src)[0][0] == 1
    query_src = fsnb.DuckDBSource(query="SELECT 7 AS customer_id, now() AS event_timestamp", name="q")
    assert source_relation(query_src, config) == "(SELECT 7 AS customer_id, now() AS event_timestamp)"
    assert source_schema(query_src, config).names == ["customer_id", "event_timestamp"]


def test_duckdb_table_of_the_offline_store(tmp_path: Path) -> None:
    import duckdb

    db = tmp_path / "offline.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE pushed AS SELECT 1::BIGINT AS customer_id, now() AS event_timestamp")
    con.close()
    config = Config(project="p", repo_path=tmp_path, offline_store=OfflineStoreConfig(database=str(db)))
    src = fsnb.DuckDBSource(table="pushed")
    assert source_relation(src, config) == '"pushed"'
    assert source_schema(src, config).names == ["customer_id", "event_timestamp"]
    in_memory = Config(project="p", repo_path=tmp_path)
    with pytest.raises(OfflineStoreError, match="in memory"):
        source_schema(src, in_memory)


def test_push_source_reads_its_batch_source(config: Config, tmp_path: Path) -> None:
    pq.write_table(_table(), tmp_path / "b.parquet")
    batch = fsnb.ParquetSource("b.parquet")
    push = fsnb.PushSource("p", batch)
    assert source_relation(push, config) == source_relation(batch, config)


@pytest.mark.parametrize("path", ["missing.parquet", "nothing/*.parquet"])
def test_missing_files_are_clear_errors(config: Config, path: str) -> None:
    src = fsnb.ParquetSource(path, name="gone")
    with pytest.raises(OfflineStoreError, match="gone") as info:
        source_relation(src, config)
    assert path in str(info.value)
    with pytest.raises(OfflineStoreError):
        source_schema(src, config)


def test_empty_folder_and_missing_database_are_clear_errors(config: Config, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(OfflineStoreError, match=r"no \.parquet files"):
        source_relation(fsnb.ParquetSource("empty"), config)
    with pytest.raises(OfflineStoreError, match="does not exist"):
        source_relation(fsnb.DuckDBSource(table="t", database="nope.duckdb"), config)


def test_unreadable_file_is_an_offline_store_error(config: Config, tmp_path: Path) -> None:
    (tmp_path / "bad.parquet").write_text("not parquet")
    with pytest.raises(OfflineStoreError, match="DuckDB could not read"):
        source_schema(fsnb.ParquetSource("bad.parquet"), config)
