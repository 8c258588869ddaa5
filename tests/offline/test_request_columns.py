"""Training sets and online reads name the same columns, in the same order, for every way of naming features."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

import fsnb
from tests.offline.engines import EngineTestConf

customer = fsnb.Entity("customer", join_keys={"customer_id": fsnb.Int64})
src = fsnb.ParquetSource("data/a.parquet", name="a_src")
a = fsnb.FeatureView("a", entities=[customer], source=src,
                     schema=[fsnb.Field("x", fsnb.Int64), fsnb.Field("y", fsnb.String), fsnb.Field("z", fsnb.Float64)])
b_src = fsnb.ParquetSource("data/b.parquet", name="b_src")
b = fsnb.FeatureView("b", entities=[customer], source=b_src, schema=[fsnb.Field("w", fsnb.Int64)])
service = fsnb.FeatureService("svc", [b, a[["z", "x"]]])

FORMS = [
    "a:y",
    ["b:w", "a:z", "a:x"],
    a,
    a[["z", "x"]],
    [a[["y"]], "b:w"],
    service,
    "svc",
]


@pytest.fixture
def store(tmp_path: Path, engine_conf: EngineTestConf):
    (tmp_path / "data").mkdir()
    t = datetime(2024, 1, 1, tzinfo=UTC)
    pd.DataFrame({"customer_id": [1], "x": [1], "y": ["s"], "z": [0.5], "event_timestamp": [t]}).to_parquet(
        tmp_path / "data" / "a.parquet"
    )
    pd.DataFrame({"customer_id": [1], "w": [7], "event_timestamp": [t]}).to_parquet(tmp_path / "data" / "b.parquet")
    s = fsnb.Store(config=engine_conf.config(tmp_path))
    s.apply([customer, src, b_src, a, b, service])
    yield s
    s.close()


@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("form", range(len(FORMS)))
def test_offline_and_online_name_the_same_columns(store, form, full):
    features = FORMS[form]
    edf = pd.DataFrame({"customer_id": [1], "event_timestamp": [datetime(2024, 1, 2, tzinfo=UTC)]})
    offline = store.get_historical_features(edf, features, full_feature_names=full).to_df()
    online = store.get_online_features(features, {"customer_id": [1]}, full_feature_names=full).to_df()
    assert list(offline.columns)[:2] == ["customer_id", "event_timestamp"]
    assert list(offline.columns)[2:] == [c for c in online.columns if c != "customer_id"]
