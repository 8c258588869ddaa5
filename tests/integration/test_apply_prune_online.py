"""``apply(prune=True)`` deletes a removed view's online rows: re-adding the view does not bring them back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

import fsnb


@pytest.fixture(params=["sqlite", "redis"])
def online(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "redis":
        return str(request.getfixturevalue("redis_url"))
    return str(tmp_path / "online.db")


def test_a_pruned_then_re_added_view_is_not_found_until_materialized(tmp_path: Path, online: str) -> None:
    when = datetime(2024, 1, 1, tzinfo=UTC)
    pd.DataFrame({"customer_id": [1, 2], "count": [10, 20], "event_timestamp": [when] * 2}).to_parquet(
        tmp_path / "txn.parquet", index=False)
    (tmp_path / "fsnb.yaml").write_text("project: prune\nregistry: registry.db\n")
    customer = fsnb.Entity("customer", join_keys={"customer_id": fsnb.Int64})
    kept = fsnb.FeatureView("kept", entities=[customer], source=fsnb.ParquetSource("txn.parquet", name="a"),
                            schema=[fsnb.Field("count", fsnb.Int64)], ttl=timedelta(days=3650))
    gone = fsnb.FeatureView("gone", entities=[customer], source=fsnb.ParquetSource("txn.parquet", name="b"),
                            schema=[fsnb.Field("count", fsnb.Int64)], ttl=timedelta(days=3650))
    with fsnb.Store(tmp_path, online_store=online) as store:
        store.apply([customer, kept, gone])
        store.materialize(when - timedelta(days=1), when + timedelta(days=1), progress=False)
        store.apply([customer, kept], prune=True)
        store.apply([customer, kept, gone])
        rows = [{"customer_id": 1}, {"customer_id": 2}]
        r = store.get_online_features(["gone:count", "kept:count"], rows, full_feature_names=True)
        assert r.statuses["gone__count"] == ["NOT_FOUND", "NOT_FOUND"]  # not the rows of the pruned definition
        assert r.to_dict()["kept__count"] == [10, 20]
