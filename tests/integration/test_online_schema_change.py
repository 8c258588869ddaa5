"""A feature view whose dtypes change: rows stored under the old schema never block writes under the new one."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import fsnb


def _definitions(dtype: fsnb.DType) -> list[object]:
    customer = fsnb.Entity("customer", join_keys={"customer_id": fsnb.Int64})
    batch = fsnb.ParquetSource("txn.parquet", name="txn_batch")
    push = fsnb.PushSource("txn_push", batch_source=batch)
    view = fsnb.FeatureView("txn", entities=[customer], source=push, ttl=timedelta(days=3650),
                            schema=[fsnb.Field("count", fsnb.Int64), fsnb.Field("ratio", dtype)])
    return [customer, batch, push, view]


@pytest.fixture(params=["sqlite", "memory", "redis"])
def online(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "redis":
        return str(request.getfixturevalue("redis_url"))
    return "memory://" if request.param == "memory" else str(tmp_path / "online.db")


def test_a_dtype_change_lets_materialize_replace_rows_pushed_under_the_old_schema(
    tmp_path: Path, online: str, caplog: pytest.LogCaptureFixture
) -> None:
    offline_time = datetime(2024, 1, 1, tzinfo=UTC)
    pd.DataFrame({"customer_id": [1, 2], "count": [10, 20], "ratio": np.float32([0.5, 0.25]),
                  "event_timestamp": [offline_time] * 2}).to_parquet(tmp_path / "txn.parquet", index=False)
    (tmp_path / "fsnb.yaml").write_text("project: schemas\nregistry: registry.db\n")
    with fsnb.Store(tmp_path, online_store=online) as store:
        store.apply(_definitions(fsnb.Float32))
        store.materialize(offline_time - timedelta(days=1), offline_time + timedelta(days=1), progress=False)
        newer = pd.DataFrame({"customer_id": [1], "count": [500], "ratio": np.float32([0.75]),
                              "event_timestamp": [datetime.now(UTC)]})
        store.push("txn_push", newer)  # online only: newer than anything offline
        with caplog.at_level(logging.WARNING, logger="fsnb.registry"):
            store.apply(_definitions(fsnb.Float64))
        assert "'txn'" in caplog.text and "NOT_FOUND" in caplog.text and "materialize" in caplog.text
        store.materialize(offline_time - timedelta(days=1), offline_time + timedelta(days=1), progress=False)
        r = store.get_online_features(["txn:count", "txn:ratio"], [{"customer_id": 1}, {"customer_id": 2}])
        assert r.to_dict()["count"] == [10, 20]  # customer 1's pushed row was stranded under the old schema
        assert r.statuses["count"] == ["PRESENT", "PRESENT"]
