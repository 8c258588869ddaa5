"""Review fixes: definitions, config, registry and the offline store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

import fsnb
from fsnb.config import Config, RegistryConfig, load_config
from fsnb.errors import DefinitionError, MaterializationError, OfflineStoreError


@pytest.fixture(autouse=True)
def _no_fsnb_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FSNB_REGISTRY", raising=False)
    monkeypatch.delenv("FSNB_ONLINE_STORE", raising=False)


def test_keyword_overrides_beat_env_overrides(tmp_path: Path) -> None:
    # README: FSNB_REGISTRY / FSNB_ONLINE_STORE override the file; keyword arguments override both
    (tmp_path / "fsnb.yaml").write_text("project: bank\nregistry: r.db\nonline_store: {type: sqlite, path: on.db}\n")
    env = {"FSNB_REGISTRY": "postgresql://fsnb:pw@127.0.0.1:5432/fsnb", "FSNB_ONLINE_STORE": "redis://127.0.0.1:6379/2"}
    cfg = load_config(tmp_path, env=env, online_store="redis://127.0.0.1:6379/5", registry=str(tmp_path / "kw.db"))
    assert cfg.online_store.type == "redis" and cfg.online_store.url == "redis://127.0.0.1:6379/5"
    assert cfg.registry.url == f"sqlite:///{tmp_path / 'kw.db'}"
    only_env = load_config(tmp_path, env=env)
    assert only_env.online_store.url == "redis://127.0.0.1:6379/2"
    assert only_env.registry.url.startswith("postgresql+psycopg://")


def test_a_source_that_lost_a_column_after_apply_names_view_and_column(tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    frame = pd.DataFrame({"customer_id": [1], "count": [3], "ratio": [0.5], "event_timestamp": [now]})
    frame.to_parquet(tmp_path / "txn.parquet")
    customer = fsnb.Entity("customer", join_keys={"customer_id": fsnb.Int64})
    view = fsnb.FeatureView(
        "txn", entities=[customer], source=fsnb.ParquetSource("txn.parquet"), ttl=timedelta(days=1),
        schema=[fsnb.Field("count", fsnb.Int64), fsnb.Field("ratio", fsnb.Float64)],
    )
    cfg = Config(project="p", repo_path=tmp_path, registry=RegistryConfig(url=f"sqlite:///{tmp_path}/r.db"))
    with fsnb.Store(config=cfg) as store:
        store.apply([customer, view])
        frame.drop(columns=["ratio"]).to_parquet(tmp_path / "txn.parquet")
        with pytest.raises(MaterializationError, match=r"'txn'.*\['ratio'\]"):
            store.materialize(now - timedelta(days=1), now, progress=False)
        edf = pd.DataFrame({"customer_id": [1], "event_timestamp": [now]})
        with pytest.raises(OfflineStoreError, match=r"'txn'.*\['ratio'\]"):
            store.get_historical_features(edf, ["txn:ratio"]).to_df()
        assert store.get_historical_features(edf, ["txn:count"]).to_df()["count"].tolist() == [3]


def test_duckdb_table_sources_default_to_distinct_names() -> None:
    a = fsnb.DuckDBSource(table="analytics.orders")
    b = fsnb.DuckDBSource(table="analytics.payments")
    assert (a.name, b.name) == ("analytics_orders", "analytics_payments")  # was "analytics" for both
    assert fsnb.DuckDBSource(table="orders").name == "orders"


def test_glob_sources_default_to_their_folder_name() -> None:
    names = [fsnb.ParquetSource(p).name for p in ("data/txn/*.parquet", "data/beh/**/*.parquet", "data/txn.parquet",
                                                   "data/txn", "data/2024.parquet")]
    assert names == ["txn", "beh", "txn", "txn", "src_2024"]  # the globs were both named "_"
    assert fsnb.CsvSource("exports/*.csv").name == "exports"


def test_config_reprs_hide_passwords(tmp_path: Path) -> None:
    cfg = load_config(tmp_path, env={}, registry="postgresql://fsnb:topsecret@127.0.0.1:5432/fsnb",
                      online_store="redis://:hunter2@127.0.0.1:6379/0?ssl_password=pw3")
    text = repr(cfg)
    assert "topsecret" not in text and "hunter2" not in text and "pw3" not in text
    assert "RegistryConfig(url='postgresql+psycopg://fsnb:***@127.0.0.1:5432/fsnb', cache_ttl_seconds=10.0)" in text
    assert "RedisConfig(url='redis://:***@127.0.0.1:6379/0?ssl_password=***', timeouts=Timeouts(" in text


def test_home_relative_store_paths_are_expanded_like_the_registry(tmp_path: Path) -> None:
    home = str(Path("~").expanduser())
    cfg = load_config(tmp_path, env={}, registry="~/fsnb/r.db", online_store="~/fsnb/online.db",
                      offline_store={"database": "~/fsnb/offline.duckdb"})
    assert cfg.registry.url == f"sqlite:///{home}/fsnb/r.db"
    assert cfg.online_store.path == f"{home}/fsnb/online.db"  # was <repo>/~/fsnb/online.db
    assert cfg.offline_store.database == f"{home}/fsnb/offline.duckdb"
    rel = load_config(tmp_path, env={}, online_store="on.db", offline_store={"database": "off.duckdb"})
    assert rel.online_store.path == str(tmp_path.resolve() / "on.db")
    assert rel.offline_store.database == str(tmp_path.resolve() / "off.duckdb")


def test_precomputed_service_over_two_entities_fails_at_apply_not_at_materialize(tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    pd.DataFrame({"customer_id": [1], "merchant_id": [2], "a": [1.0], "event_timestamp": [now]}).to_parquet(
        tmp_path / "t.parquet"
    )
    customer = fsnb.Entity("customer", join_keys={"customer_id": fsnb.Int64})
    merchant = fsnb.Entity("merchant", join_keys={"merchant_id": fsnb.Int64})
    src = fsnb.ParquetSource("t.parquet")
    cv = fsnb.FeatureView("cv", entities=[customer], source=src, schema=[fsnb.Field("a", fsnb.Float64)])
    mv = fsnb.FeatureView("mv", entities=[merchant], source=src, schema=[fsnb.Field("a", fsnb.Float64)])
    cfg = Config(project="p", repo_path=tmp_path, registry=RegistryConfig(url=f"sqlite:///{tmp_path}/r.db"))
    with fsnb.Store(config=cfg) as store:
        mixed = fsnb.FeatureService("mixed", [cv, mv], precompute_online=True)
        with pytest.raises(DefinitionError, match=r"'mixed'.*precompute_online.*'cv'.*'mv'"):
            store.apply([customer, merchant, cv, mv, mixed])
        assert store.registry.version() == 0
        plain = fsnb.FeatureService("mixed", [cv, mv])  # fine without vectors
        store.apply([customer, merchant, cv, mv, plain])
        assert store.list_feature_services() == [plain]


def test_doctor_does_not_create_the_registry(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from fsnb.cli import main

    assert main(["--repo", str(tmp_path), "doctor"]) == 0
    out = capsys.readouterr().out
    assert "registry" in out and "not created yet" in out
    assert not (tmp_path / ".fsnb" / "registry.db").exists()
