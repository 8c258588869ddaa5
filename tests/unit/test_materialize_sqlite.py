"""Materialization and push into the embedded SQLite online store (no server)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

import fsnb
from fsnb.config import Config, OnlineStoreConfig, RegistryConfig

NOW = datetime.now(UTC).replace(microsecond=0)


def test_materialize_and_push_into_sqlite(tmp_path: Path):
    (tmp_path / "data").mkdir()
    pd.DataFrame({
        "customer_id": [1, 1, 2],
        "score": [1.0, 2.0, 3.0],
        "event_timestamp": [NOW - timedelta(hours=2), NOW - timedelta(hours=1), NOW - timedelta(hours=3)],
    }).to_parquet(tmp_path / "data" / "scores.parquet")
    customer = fsnb.Entity("customer", join_keys={"customer_id": fsnb.Int64})
    batch = fsnb.ParquetSource("data/scores.parquet", name="scores_batch")
    push_src = fsnb.PushSource("scores_push", batch_source=batch)
    view = fsnb.FeatureView("scores", entities=[customer], source=push_src, ttl=timedelta(days=1),
                            schema=[fsnb.Field("score", fsnb.Float64)])
    cfg = Config(
        project="lite", repo_path=tmp_path,
        registry=RegistryConfig(url=f"sqlite:///{tmp_path}/registry.db", cache_ttl_seconds=0),
        online_store=OnlineStoreConfig(type="sqlite", path=str(tmp_path / "online.db"), write_batch_size=1),
    )
    with fsnb.Store(config=cfg) as store:
        store.apply([customer, batch, push_src, view])
        summary = store.materialize_incremental("now", progress=False)
        assert summary["rows"].tolist() == [2]
        rows = [{"customer_id": i} for i in (1, 2, 3)]
        assert store.get_online_features(["scores:score"], rows).to_dict()["score"] == [2.0, 3.0, None]
        store.push("scores_push", pd.DataFrame({
            "customer_id": [2, 3], "score": [3.5, 4.0], "event_timestamp": [NOW, NOW - timedelta(days=2)],
        }), to="online_and_offline")
        got = store.get_online_features(["scores:score"], rows).to_df()
        assert got["score"].tolist()[:2] == [2.0, 3.5] and pd.isna(got["score"].iloc[2])  # 3 is past its ttl
        history = store.get_historical_features(
            pd.DataFrame({"customer_id": [2, 3], "event_timestamp": [NOW, NOW - timedelta(days=2)]}), ["scores:score"]
        ).to_df()
        assert history["score"].tolist() == [3.5, 4.0]  # the single Parquet file was rewritten with the rows


def test_vectors_are_built_only_for_the_services_entity(tmp_path: Path):
    from fsnb.examples.banking import init_repo
    from fsnb.online.keys import decode_entity_key, vector_key_prefix
    from fsnb.registry.repo import load_definitions

    repo = init_repo(tmp_path / "bank", customers=300)
    with fsnb.Store(repo) as store:
        store.apply(load_definitions(repo))
        store.materialize_incremental("now", progress=False)
        built = store.build_vectors("realtime_scoring", progress=False)
        prefix = vector_key_prefix(store.project, "realtime_scoring")
        keys = [k[len(prefix):] for batch in store.online.scan_keys(prefix) for k in batch]
        assert built == len(keys) == 300  # every customer, and no merchant
        assert {tuple(decode_entity_key(k)) for k in keys} == {("customer_id",)}
