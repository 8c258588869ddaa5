"""The banking example written in Feast's terms, over the same Parquet files as fsnb's template.

Every object of ``fsnb/templates/banking/definitions.py`` has its Feast twin here (same names, dtypes, TTLs, push
source, projections), so a Feast client, a Feast registry and Feast's training sets can be compared with fsnb's.
"""

from __future__ import annotations

from pathlib import Path

DEFINITIONS = '''
from datetime import timedelta

from feast import Entity, FeatureService, FeatureView, Field, FileSource, PushSource, ValueType
from feast.types import Array, Bool, Float32, Float64, Int32, Int64, Json, Map, String, Struct

customer = Entity(name="customer", join_keys=["customer_id"], value_type=ValueType.INT64,
                  description="A retail-banking customer.", owner="data@bank.example")
merchant = Entity(name="merchant", join_keys=["merchant_id"], value_type=ValueType.INT64,
                  description="A merchant customers pay by card.")


def source(view):
    return FileSource(name=f"{view}_source", path="DATA/" + view + ".parquet",
                      timestamp_field="event_timestamp", created_timestamp_column="created")


transactions_push = PushSource(name="transaction_stats_push", batch_source=source("transaction_stats"))

customer_demographics = FeatureView(
    name="customer_demographics", entities=[customer], ttl=timedelta(days=365), source=source("customer_demographics"),
    schema=[Field(name="age", dtype=Int32),
            Field(name="annual_income", dtype=Float64, description="Declared yearly income, EUR."),
            Field(name="credit_score", dtype=Int32), Field(name="segment", dtype=String),
            Field(name="region", dtype=String), Field(name="is_premium", dtype=Bool)],
    description="Slow-moving customer attributes from the core banking system.",
    tags={"team": "customer-data"}, owner="data@bank.example",
)
transaction_stats = FeatureView(
    name="transaction_stats", entities=[customer], ttl=timedelta(days=2), source=transactions_push,
    schema=[Field(name="txn_count_24h", dtype=Int64), Field(name="txn_count_7d", dtype=Int64),
            Field(name="txn_amount_sum_24h", dtype=Float64), Field(name="txn_amount_avg_7d", dtype=Float64),
            Field(name="txn_amount_max_7d", dtype=Float64), Field(name="declined_ratio_7d", dtype=Float32),
            Field(name="foreign_txn_ratio_30d", dtype=Float32), Field(name="chargeback_count_90d", dtype=Int64)],
    tags={"team": "fraud"},
)
behavior_profile = FeatureView(
    name="behavior_profile", entities=[customer], ttl=timedelta(days=30), source=source("behavior_profile"),
    schema=[Field(name="login_count_30d", dtype=Int32), Field(name="avg_session_minutes", dtype=Float64),
            Field(name="mobile_share", dtype=Float32), Field(name="preferred_channel", dtype=String),
            Field(name="recent_txn_amounts", dtype=Array(Float64)), Field(name="top_categories", dtype=Array(String))],
    tags={"team": "fraud"},
)
merchant_stats = FeatureView(
    name="merchant_stats", entities=[merchant], ttl=timedelta(days=30), source=source("merchant_stats"),
    schema=[Field(name="category", dtype=String), Field(name="txn_volume_30d", dtype=Float64),
            Field(name="fraud_rate_30d", dtype=Float32), Field(name="category_mix", dtype=Map),
            Field(name="location", dtype=Struct({"city": String, "country": String, "lat": Float64, "lon": Float64})),
            Field(name="attributes", dtype=Json)],
    description="Merchant risk and volume, with map, struct and JSON features.",
)
realtime_scoring = FeatureService(
    name="realtime_scoring", features=[customer_demographics, transaction_stats, behavior_profile],
    description="Every customer feature.",
)
risk_model = FeatureService(
    name="risk_model",
    features=[transaction_stats[["txn_count_24h", "txn_amount_sum_24h", "declined_ratio_7d", "chargeback_count_90d"]],
              customer_demographics[["credit_score", "annual_income", "is_premium"]]],
    tags={"model": "risk"},
)
'''


def write_repo(path: Path, data: Path, *, online_store: str, registry: str = "registry: data/registry.db\n") -> Path:
    """A Feast feature repo at ``path``: ``feature_store.yaml`` (project ``banking``, file offline store, the given
    ``online_store`` block body and ``registry`` line) and ``definitions.py`` over the Parquet files in ``data``."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "data").mkdir(exist_ok=True)
    (path / "feature_store.yaml").write_text(
        "project: banking\n"
        f"{registry}"
        "provider: local\n"
        "online_store:\n"
        f"{online_store}"
        "offline_store:\n"
        "  type: file\n"
        "entity_key_serialization_version: 3\n"
    )
    (path / "definitions.py").write_text(DEFINITIONS.replace("DATA/", f"{data}/"))
    return path
