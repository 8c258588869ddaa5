"""Parity against a real store: a clean materialization is 100%, and each planted drift is found with its reason."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fsnb.errors import ParityError
from fsnb.notebook.demo import banking_store
from fsnb.notebook.parity import (
    EXPIRED_BY_TTL,
    MISSING_ONLINE,
    ONLINE_NEWER,
    VALUE_DIFFERS,
    VECTOR_DISAGREES,
    ParityReport,
)
from fsnb.store import Store

pytestmark = pytest.mark.redis

CUSTOMERS = 200
SERVICE = "realtime_scoring"


@pytest.fixture
def store(redis_url: str, tmp_path: Path) -> Iterator[Store]:
    s = banking_store(tmp_path / "repo", customers=CUSTOMERS, online_store=redis_url)
    yield s
    s.close()


def _everyone() -> pd.DataFrame:
    return pd.DataFrame({"customer_id": list(range(1, CUSTOMERS + 1))})


def _reasons(report: ParityReport, entity: int, mode: str = "direct") -> dict[str, str]:
    df = report.to_df()
    df = df[(df["entity"] == entity) & (df["mode"] == mode)]
    return dict(zip(df["feature"], df["reason"]))


def test_a_clean_materialization_has_full_parity_in_every_mode(store: Store) -> None:
    report = store.parity_check(SERVICE, entities=_everyone(), modes=["direct", "precomputed"])
    assert report.rows_compared == CUSTOMERS * 20 * 2
    assert report.match_rate == 1.0, report.to_df().head(20).to_string()
    report.assert_ok()
    assert set(report.meta["as_of"]) == {"customer_demographics", "transaction_stats", "behavior_profile"}
    assert "100.00% match" in report._repr_html_()


def test_sampled_entities_are_reproducible(store: Store) -> None:
    a = store.parity_check(SERVICE, entities=25, seed=7)
    b = store.parity_check(SERVICE, entities=25, seed=7)
    assert a.meta["entities"] == 25 and a.match_rate == b.match_rate == 1.0


def test_values_pushed_online_after_the_window_are_online_newer(store: Store) -> None:
    fresh = pd.DataFrame({
        "customer_id": [1, 2], "txn_count_24h": [10**6, 10**6], "txn_count_7d": [10**6, 10**6],
        "txn_amount_sum_24h": [-1.0, -1.0], "txn_amount_avg_7d": [-1.0, -1.0], "txn_amount_max_7d": [-1.0, -1.0],
        "declined_ratio_7d": [0.99, 0.99], "foreign_txn_ratio_30d": [0.99, 0.99], "chargeback_count_90d": [999, 999],
        "event_timestamp": [datetime.now(UTC)] * 2,
    })
    store.write_to_online_store("transaction_stats", fresh)
    report = store.parity_check(SERVICE, entities=_everyone(), modes=["direct", "precomputed"])
    for entity in (1, 2):
        for mode in ("direct", "precomputed"):  # the vectors were refreshed too: same story through them
            assert _reasons(report, entity, mode)["transaction_stats__txn_count_24h"] == ONLINE_NEWER
    assert set(report.reason_counts()) == {ONLINE_NEWER}
    with pytest.raises(ParityError, match="transaction_stats"):
        report.assert_ok()


def test_offline_history_corrected_after_materialization_is_a_value_difference(store: Store) -> None:
    path = store.config.repo_path / "data" / "customer_demographics.parquet"
    table = pq.read_table(path)
    rows = table.to_pylist()
    victim = next(r["customer_id"] for r in rows if r["credit_score"] is not None and r["customer_id"] > 10)
    for r in rows:
        if r["customer_id"] == victim and r["credit_score"] is not None:
            r["credit_score"] += 1
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), path)
    report = store.parity_check(SERVICE, entities=_everyone())
    assert _reasons(report, victim) == {"customer_demographics__credit_score": VALUE_DIFFERS}
    assert report.reason_counts() == {VALUE_DIFFERS: 1}
    worst = report.by_feature().iloc[0]
    assert worst["feature"] == "credit_score" and worst["match_rate"] == pytest.approx(1 - 1 / CUSTOMERS)


def test_rows_backfilled_offline_but_never_materialized_are_missing_online(store: Store) -> None:
    path = store.config.repo_path / "data" / "customer_demographics.parquet"
    table = pq.read_table(path)
    watermark = store.registry.watermark("customer_demographics")
    assert watermark is not None
    row = dict(table.slice(0, 1).to_pylist()[0], customer_id=CUSTOMERS + 1, age=33)
    row["event_timestamp"] = row["created"] = watermark - timedelta(hours=1)
    pq.write_table(pa.concat_tables([table, pa.Table.from_pylist([row], schema=table.schema)]), path)
    report = store.parity_check(SERVICE, entities=[CUSTOMERS + 1])
    reasons = _reasons(report, CUSTOMERS + 1)
    assert reasons["customer_demographics__age"] == MISSING_ONLINE
    assert set(reasons.values()) == {MISSING_ONLINE}


def test_online_values_older_than_the_ttl_now_are_expired(redis_url: str, tmp_path: Path) -> None:
    # materialized three days ago: transaction_stats (ttl 2 days) was fresh then, is stale now
    store = banking_store(tmp_path / "repo", customers=CUSTOMERS, online_store=redis_url, materialize=False)
    try:
        store.materialize_incremental(datetime.now(UTC) - timedelta(days=3), progress=False)
        report = store.parity_check(SERVICE, entities=_everyone())
        counts = report.reason_counts()
        assert counts.get(EXPIRED_BY_TTL, 0) > 0, counts
        expired = report.to_df()
        expired = expired[expired["reason"] == EXPIRED_BY_TTL]
        assert set(expired["feature"].str.split("__").str[0]) == {"transaction_stats"}
        assert (expired["online_status"] == "OUTSIDE_MAX_AGE").all()
    finally:
        store.close()


def test_a_vector_not_rebuilt_after_a_low_level_write_disagrees_with_the_regular_path(store: Store) -> None:
    from fsnb.online.writes import write_view_table

    view = store.get_feature_view("transaction_stats")
    current = store.get_online_features([f"transaction_stats:{f}" for f in view.feature_names],
                                        [{"customer_id": 5}], precomputed=False)
    values = current.to_dict()
    stamp = current.event_timestamps["txn_count_24h"][0]
    assert stamp is not None
    values["txn_count_24h"] = [(values["txn_count_24h"][0] or 0) + 1]
    values["event_timestamp"] = [stamp]  # same event time: the stored row is replaced, vectors are not refreshed
    types = {c.name: c.dtype.to_arrow() for c in view.schema} | {"event_timestamp": pa.timestamp("us", "UTC")}
    table = pa.table({name: pa.array(vals, type=types[name]) for name, vals in values.items()})
    write_view_table(store, view, table, timestamp_column="event_timestamp")
    report = store.parity_check(SERVICE, entities=_everyone(), modes=["direct", "precomputed"])
    assert _reasons(report, 5, "precomputed") == {"transaction_stats__txn_count_24h": VECTOR_DISAGREES}
    assert _reasons(report, 5, "direct") == {"transaction_stats__txn_count_24h": VALUE_DIFFERS}
    assert "precomputed vector disagrees" in report._repr_html_()


def test_a_service_whose_views_share_a_feature_name_is_checked(store: Store) -> None:
    import fsnb

    stats = store.get_feature_view("transaction_stats")
    mirror = fsnb.FeatureView("transaction_mirror", entities=[store.get_entity("customer")],
                              schema=[fsnb.Field("txn_count_7d", fsnb.Int64)], source=stats.source.batch_source,
                              ttl=stats.ttl)
    both = fsnb.FeatureService("counts_twice", [stats[["txn_count_7d"]], mirror])
    store.apply([mirror, both])
    store.materialize_incremental(datetime.now(UTC), views=["transaction_mirror"], progress=False)
    report = store.parity_check("counts_twice", entities=_everyone())
    report.assert_ok()
    assert set(report.by_feature()["view"]) == {"transaction_stats", "transaction_mirror"}
