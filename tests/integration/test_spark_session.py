"""How a user points fsnb at Spark: ``offline_store: {type: spark, master, conf}`` in fsnb.yaml, or an existing
``SparkSession`` handed to ``Store(spark=...)``; doctor's check and the store's repr say so."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

import fsnb
from fsnb.config import load_config
from fsnb.errors import ConfigError, MaterializationError
from tests.offline.engines.spark import SPARK_CONF

pytest.importorskip("pyspark")

customer = fsnb.Entity("customer", join_keys={"customer_id": fsnb.Int64})
src = fsnb.ParquetSource("data/scores.parquet", name="scores_src")
scores = fsnb.FeatureView("scores", entities=[customer], source=src, schema=[fsnb.Field("score", fsnb.Int64)])


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    pd.DataFrame({
        "customer_id": [1, 2], "score": [10, 20],
        "event_timestamp": [datetime(2024, 1, 1), datetime(2024, 1, 2)],  # naive: UTC
    }).to_parquet(tmp_path / "data" / "scores.parquet")
    return tmp_path


def test_yaml_offline_store_spark_with_master_and_conf(repo):
    (repo / "fsnb.yaml").write_text(
        "offline_store:\n  type: spark\n  master: local[2]\n"
        "  conf: {spark.sql.shuffle.partitions: 2, spark.sql.adaptive.enabled: true}\n"
    )
    config = load_config(repo)
    assert config.offline_store.type == "spark" and config.offline_store.master == "local[2]"
    assert config.offline_store.conf == {"spark.sql.shuffle.partitions": 2, "spark.sql.adaptive.enabled": True}
    (repo / "fsnb.yaml").write_text("offline_store:\n  type: sparkk\n")
    with pytest.raises(ConfigError, match="spark"):
        load_config(repo)


def test_store_on_a_given_session(repo):
    from pyspark.sql import SparkSession

    session = SparkSession.builder.master("local[2]").config(map=SPARK_CONF).getOrCreate()
    session.conf.set("spark.sql.session.timeZone", "Asia/Tokyo")
    store = fsnb.Store(repo, spark=session)
    try:
        assert store.config.offline_store.type == "spark"
        store.apply([customer, src, scores])
        assert store.offline.spark.sparkContext is session.sparkContext  # type: ignore[attr-defined]
        assert store.offline.check().startswith("spark 4.")
        assert "spark local[2]" in store._repr_html_()
        # 16:00 UTC: customer 2's row (naive 2024-01-02 00:00, UTC) is in the future, not at 15:00 UTC as in Tokyo
        edf = pd.DataFrame({"customer_id": [2, 1], "event_timestamp": [datetime(2024, 1, 1, 16, tzinfo=UTC)] * 2})
        score = store.get_historical_features(edf, ["scores:score"]).to_df()["score"]
        assert pd.isna(score.iloc[0]) and score.iloc[1] == 10
        # the engine works in UTC on a session of its own: the caller's settings neither matter nor change
        assert session.conf.get("spark.sql.session.timeZone") == "Asia/Tokyo"
    finally:
        store.close()
    assert not session.sparkContext._jsc.sc().isStopped()  # closing the store leaves the caller's session up


def test_memory_online_store_is_refused_for_executor_writes(repo):
    store = fsnb.Store(repo, online_store="memory://", offline_store={"type": "spark", "conf": SPARK_CONF})
    try:
        store.apply([customer, src, scores])
        with pytest.raises(MaterializationError, match="memory"):
            store.materialize(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC), progress=False)
    finally:
        store.close()
