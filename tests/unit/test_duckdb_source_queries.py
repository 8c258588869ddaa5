"""A ``DuckDBSource(query=...)`` is one SELECT: anything else is refused before it can run, even in ``plan``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

import fsnb
from fsnb.config import Config, RegistryConfig
from fsnb.errors import SchemaMismatchError


def _store(tmp_path: Path) -> fsnb.Store:
    pd.DataFrame({"customer_id": [1], "count": [3], "event_timestamp": [datetime(2024, 1, 1, tzinfo=UTC)]}).to_parquet(
        tmp_path / "txn.parquet", index=False)
    return fsnb.Store(config=Config(project="p", repo_path=tmp_path,
                                    registry=RegistryConfig(url=f"sqlite:///{tmp_path}/r.db")))


def _view(query: str) -> list[object]:
    customer = fsnb.Entity("customer", join_keys={"customer_id": fsnb.Int64})
    source = fsnb.DuckDBSource(query=query, name="q")
    return [customer, fsnb.FeatureView("v", entities=[customer], source=source,
                                       schema=[fsnb.Field("count", fsnb.Int64)])]


def test_a_query_that_smuggles_a_second_statement_is_refused_and_never_runs(tmp_path: Path) -> None:
    target = tmp_path / "written.csv"
    parquet = tmp_path / "txn.parquet"
    with _store(tmp_path) as store:
        sneaky = f"SELECT * FROM '{parquet}') t; COPY (SELECT 42 AS x) TO '{target}'; SELECT * FROM (SELECT 1"
        with pytest.raises(SchemaMismatchError, match="not one valid SQL statement"):
            store.plan(_view(sneaky))
        with pytest.raises(SchemaMismatchError, match="single SELECT statement, got SELECT, COPY"):
            store.plan(_view(f"SELECT * FROM '{parquet}'; COPY (SELECT 42 AS x) TO '{target}'"))
        assert not target.exists()
        assert store.plan(_view(f"WITH t AS (SELECT * FROM '{parquet}') SELECT * FROM t")).added


def test_an_entity_query_is_one_select_too(tmp_path: Path) -> None:
    target = tmp_path / "written.csv"
    parquet = tmp_path / "txn.parquet"
    with _store(tmp_path) as store:
        store.apply(_view(f"SELECT * FROM '{parquet}'"))
        with pytest.raises(fsnb.errors.OfflineStoreError, match="entity_df: its query must be a single SELECT"):
            store.get_historical_features(f"COPY (SELECT 42 AS x) TO '{target}'; SELECT * FROM '{parquet}'",
                                          ["v:count"])
        assert not target.exists()
        rows = store.get_historical_features(f"SELECT customer_id, event_timestamp FROM '{parquet}'", ["v:count"])
        assert rows.to_df()["count"].tolist() == [3]
