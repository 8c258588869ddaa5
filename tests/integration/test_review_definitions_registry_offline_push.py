"""Review fixes: offline pushes to a PushSource whose batch data does not exist yet."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

import fsnb
from fsnb.config import Config, RegistryConfig

NOW = datetime.now(UTC).replace(microsecond=0)
customer = fsnb.Entity("customer", join_keys={"customer_id": fsnb.Int64})


@pytest.mark.parametrize(
    ("path", "created"),
    [("data/txn", "data/txn/push-*.parquet"), ("data/txn/*.parquet", "data/txn/push-*.parquet"),
     ("data/txn/**/*.parquet", "data/txn/push-*.parquet"),
     ("data/txn.parquet", "data/txn.parquet"), ("data/txn.csv", "data/txn.csv")],
)
def test_first_offline_push_creates_the_batch_data(tmp_path: Path, path: str, created: str) -> None:
    # apply accepts a PushSource with no batch data yet ("its schema is checked on push"); the first offline push
    # must then create the data instead of failing on the missing files
    if path == "data/txn":
        (tmp_path / "data" / "txn").mkdir(parents=True)
    cls = fsnb.CsvSource if path.endswith(".csv") else fsnb.ParquetSource
    batch = cls(path, name="txn_batch", created_timestamp_column="created")
    push_src = fsnb.PushSource("txn_push", batch_source=batch)
    view = fsnb.FeatureView(
        "txn", entities=[customer], source=push_src, ttl=timedelta(days=1),
        schema=[fsnb.Field("count", fsnb.Int64), fsnb.Field("ratio", fsnb.Float32)],
    )
    cfg = Config(project="p", repo_path=tmp_path, registry=RegistryConfig(url=f"sqlite:///{tmp_path}/r.db"))
    with fsnb.Store(config=cfg) as store:
        store.apply([customer, batch, push_src, view])
        rows = pd.DataFrame({"customer_id": [1, 2], "count": [10, 20], "ratio": [0.5, 0.25],
                             "event_timestamp": [NOW - timedelta(hours=1)] * 2, "extra": ["x", "y"]})
        assert store.push("txn_push", rows, to="online_and_offline") == 2
        assert len(list(tmp_path.glob(created))) == 1
        edf = pd.DataFrame({"customer_id": [1, 2, 3], "event_timestamp": NOW})
        out = store.get_historical_features(edf, ["txn:count", "txn:ratio"]).to_df()
        assert out["count"].tolist()[:2] == [10, 20] and pd.isna(out["count"].iloc[2])
        assert out["ratio"].tolist()[:2] == [0.5, 0.25]
        store.push("txn_push", rows.assign(customer_id=[3, 4]), to="offline")  # later pushes append
        out = store.get_historical_features(edf, ["txn:count"]).to_df()
        assert out["count"].tolist() == [10, 20, 10]
        assert store.get_online_features(["txn:count"], [{"customer_id": 1}]).to_dict()["count"] == [10]


def test_push_view_without_batch_data_materializes_nothing_and_joins_nulls(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # apply accepts it, so materialize (all views) and training sets must not fail on the missing files
    (tmp_path / "data" / "txn").mkdir(parents=True)
    batch = fsnb.ParquetSource("data/txn", name="txn_batch", created_timestamp_column="created")
    push_src = fsnb.PushSource("txn_push", batch_source=batch)
    view = fsnb.FeatureView(
        "txn", entities=[customer], source=push_src, ttl=timedelta(days=1),
        schema=[fsnb.Field("count", fsnb.Int64), fsnb.Field("tags", fsnb.Array(fsnb.String)),
                fsnb.Field("mix", fsnb.Map(fsnb.Float64)), fsnb.Field("loc", fsnb.Struct({"city": fsnb.String}))],
    )
    cfg = Config(project="p", repo_path=tmp_path, registry=RegistryConfig(url=f"sqlite:///{tmp_path}/r.db"))
    with fsnb.Store(config=cfg) as store:
        store.apply([customer, batch, push_src, view])
        summary = store.materialize(NOW - timedelta(days=1), NOW, progress=False)
        assert summary["rows"].tolist() == [0]
        assert store.materialize_incremental(NOW, progress=False)["rows"].tolist() == [0]
        edf = pd.DataFrame({"customer_id": [1, 2], "event_timestamp": NOW})
        out = store.get_historical_features(edf, ["txn:count", "txn:tags", "txn:mix", "txn:loc"]).to_df()
        assert out[["count", "tags", "mix", "loc"]].isna().all().all()
        assert "feature view 'txn' has no offline rows yet" in caplog.text  # a mistyped path does not go unseen
        import pyarrow as pa

        rows = pa.table({
            "customer_id": [1], "count": [7], "tags": [["a"]],
            "mix": pa.array([[("x", 1.0)]], type=pa.map_(pa.string(), pa.float64())),
            "loc": [{"city": "Oslo"}], "event_timestamp": [NOW - timedelta(hours=1)],
        })
        store.push("txn_push", rows, to="offline")
        assert store.get_historical_features(edf, ["txn:count"]).to_df()["count"].iloc[0] == 7
