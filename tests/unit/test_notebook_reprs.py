from __future__ import annotations

from datetime import timedelta

import fsnb
from fsnb.notebook.reprs import entity_html, feature_service_html, feature_view_html, store_html


def _defs():
    customer = fsnb.Entity("customer", join_keys={"customer_id": fsnb.Int64})
    src = fsnb.ParquetSource("data/tx.parquet", name="tx_source")
    view = fsnb.FeatureView("tx", entities=[customer], schema=[fsnb.Field("n_7d", fsnb.Int64, description="count")],
                            source=src, ttl=timedelta(days=2))
    svc = fsnb.FeatureService("scoring", [view], precompute_online=True)
    return customer, src, view, svc


def test_store_repr_redacts_secrets_and_survives_an_unreachable_registry(tmp_path) -> None:
    store = fsnb.Store(tmp_path, registry="postgresql://fsnb:s3cret@127.0.0.1:1/fsnb",
                       online_store="redis://:hunter2@127.0.0.1:1/0")
    page = store_html(store)
    assert "s3cret" not in page and "hunter2" not in page
    assert "***" in page and "registry unavailable" in page
    assert store._repr_html_() == page


def test_store_repr_counts_objects_and_lists_watermarks(tmp_path) -> None:
    store = fsnb.Store(tmp_path, project="shop")
    page = store_html(store)
    assert "shop" in page and "0 feature views" in page


def test_definition_reprs_show_schema_ttl_and_precompute_state() -> None:
    customer, _src, view, svc = _defs()
    v = feature_view_html(view)
    assert "customer_id" in v and "join key" in v and "n_7d" in v and "int64" in v
    assert "2d" in v and "parquet: data/tx.parquet" in v
    s = feature_service_html(svc, vectors="built for 10 entities")
    assert svc.fingerprint() in s and "built for 10 entities" in s
    assert "customer_id: int64" in entity_html(customer)
