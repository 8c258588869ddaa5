"""Feature definitions of the banking example: customers, their transactions and behaviour, and merchants.

``fsnb apply`` runs this file and registers every entity, source, feature view and feature service defined at
module level. Edit it like any feature repo: add a Field, change a TTL, then ``fsnb plan`` shows the change.
The data under ``data/`` comes from ``fsnb init`` or ``python -m fsnb.examples.banking .``.
"""

from datetime import timedelta

import fsnb

# ------------------------------------------------------------------------------------------------ entities

customer = fsnb.Entity(
    "customer",
    join_keys={"customer_id": fsnb.Int64},
    description="A retail-banking customer.",
)

merchant = fsnb.Entity(
    "merchant",
    join_keys={"merchant_id": fsnb.Int64},
    description="A merchant customers pay by card.",
)

# ------------------------------------------------------------------------------------------------- sources
# Each file holds several snapshots per entity: `event_timestamp` is when the values were true, `created` when
# the row was written (it breaks ties between rows with the same event time).

demographics_source = fsnb.ParquetSource(
    "data/customer_demographics.parquet",
    name="customer_demographics_source",
    timestamp_field="event_timestamp",
    created_timestamp_column="created",
)

transactions_source = fsnb.ParquetSource(
    "data/transaction_stats.parquet",
    name="transaction_stats_source",
    timestamp_field="event_timestamp",
    created_timestamp_column="created",
)

# Streaming jobs push fresh transaction aggregates here (`store.push("transaction_stats_push", df)`);
# the Parquet file above keeps their history for training sets.
transactions_push = fsnb.PushSource("transaction_stats_push", batch_source=transactions_source)

behavior_source = fsnb.ParquetSource(
    "data/behavior_profile.parquet",
    name="behavior_profile_source",
    timestamp_field="event_timestamp",
    created_timestamp_column="created",
)

merchant_source = fsnb.ParquetSource(
    "data/merchant_stats.parquet",
    name="merchant_stats_source",
    timestamp_field="event_timestamp",
    created_timestamp_column="created",
)

# ------------------------------------------------------------------------------------------- feature views

customer_demographics = fsnb.FeatureView(
    "customer_demographics",
    entities=[customer],
    schema=[
        fsnb.Field("age", fsnb.Int32),
        fsnb.Field("annual_income", fsnb.Float64, description="Declared yearly income, EUR."),
        fsnb.Field("credit_score", fsnb.Int32, description="Bureau score, 300-850."),
        fsnb.Field("segment", fsnb.String, description="mass, affluent, private or student."),
        fsnb.Field("region", fsnb.String),
        fsnb.Field("is_premium", fsnb.Bool),
    ],
    source=demographics_source,
    ttl=timedelta(days=365),
    description="Slow-moving customer attributes from the core banking system.",
    tags={"team": "customer-data"},
)

transaction_stats = fsnb.FeatureView(
    "transaction_stats",
    entities=[customer],
    schema=[
        fsnb.Field("txn_count_24h", fsnb.Int64),
        fsnb.Field("txn_count_7d", fsnb.Int64),
        fsnb.Field("txn_amount_sum_24h", fsnb.Float64),
        fsnb.Field("txn_amount_avg_7d", fsnb.Float64),
        fsnb.Field("txn_amount_max_7d", fsnb.Float64),
        fsnb.Field("declined_ratio_7d", fsnb.Float32),
        fsnb.Field("foreign_txn_ratio_30d", fsnb.Float32),
        fsnb.Field("chargeback_count_90d", fsnb.Int64),
    ],
    source=transactions_push,
    ttl=timedelta(days=2),
    description="Rolling card-transaction aggregates; fresh values arrive by push.",
    tags={"team": "fraud"},
)

behavior_profile = fsnb.FeatureView(
    "behavior_profile",
    entities=[customer],
    schema=[
        fsnb.Field("login_count_30d", fsnb.Int32),
        fsnb.Field("avg_session_minutes", fsnb.Float64),
        fsnb.Field("mobile_share", fsnb.Float32, description="Share of sessions on the mobile app."),
        fsnb.Field("preferred_channel", fsnb.String),
        fsnb.Field("recent_txn_amounts", fsnb.Array(fsnb.Float64), description="Last few card payments, newest first."),
        fsnb.Field("top_categories", fsnb.Array(fsnb.String), description="Most frequent merchant categories."),
    ],
    source=behavior_source,
    ttl=timedelta(days=30),
    description="Digital-channel behaviour over the last month.",
    tags={"team": "fraud"},
)

merchant_stats = fsnb.FeatureView(
    "merchant_stats",
    entities=[merchant],
    schema=[
        fsnb.Field("category", fsnb.String),
        fsnb.Field("txn_volume_30d", fsnb.Float64),
        fsnb.Field("fraud_rate_30d", fsnb.Float32),
        fsnb.Field("category_mix", fsnb.Map(fsnb.Float64), description="Share of volume per card type."),
        fsnb.Field(
            "location",
            fsnb.Struct({"city": fsnb.String, "country": fsnb.String, "lat": fsnb.Float64, "lon": fsnb.Float64}),
        ),
        fsnb.Field("attributes", fsnb.Json, description="Free-form merchant attributes."),
    ],
    source=merchant_source,
    ttl=timedelta(days=30),
    description="Merchant risk and volume, with map, struct and JSON features.",
    tags={"team": "fraud"},
)

# -------------------------------------------------------------------------------------- on-demand features
# Computed at request time from stored features and the transaction being scored, by the same function for
# training sets (request columns come from entity_df) and online reads (next to the join keys in the entity rows).

payment = fsnb.RequestSource(
    "payment",
    schema=[fsnb.Field("amount", fsnb.Float64)],
    description="The amount of the card payment being scored.",
)

payment_location = fsnb.RequestSource(
    "payment_location",
    schema=[fsnb.Field("txn_region", fsnb.String)],
    description="Where the card payment being scored happens.",
)


@fsnb.on_demand_feature_view(
    sources=[transaction_stats[["txn_amount_avg_7d", "txn_amount_max_7d"]], payment],
    schema=[
        fsnb.Field("amount_over_avg_7d", fsnb.Float64, description="This amount over the 7-day average."),
        fsnb.Field("exceeds_max_7d", fsnb.Bool, description="Larger than any payment of the last 7 days."),
    ],
    mode="python",
)
def amount_vs_history(inputs):
    """How this transaction's amount compares with the customer's recent payments."""
    ratio, exceeds = [], []
    for amount, avg, top in zip(inputs["amount"], inputs["txn_amount_avg_7d"], inputs["txn_amount_max_7d"]):
        ratio.append(amount / avg if amount is not None and avg else None)
        exceeds.append(amount > top if amount is not None and top is not None else None)
    return {"amount_over_avg_7d": ratio, "exceeds_max_7d": exceeds}


@fsnb.on_demand_feature_view(
    sources=[customer_demographics[["region"]], payment_location],
    schema=[fsnb.Field("is_foreign_txn", fsnb.Bool, description="Paid outside the customer's home region.")],
    mode="pandas",
)
def foreign_transaction(inputs):
    """Whether the transaction happens outside the customer's region (null when either is unknown)."""
    import pandas as pd

    out = pd.DataFrame(index=inputs.index)
    out["is_foreign_txn"] = (inputs["txn_region"] != inputs["region"]).astype("boolean")
    out.loc[inputs["region"].isna() | inputs["txn_region"].isna(), "is_foreign_txn"] = pd.NA
    return out


@fsnb.on_demand_feature_view(
    sources=[transaction_stats[["txn_count_24h", "txn_count_7d"]]],
    schema=[fsnb.Field("txn_velocity", fsnb.Float64, description="Share of the week's payments made today.")],
    mode="python",
    write_to_online_store=True,
)
def transaction_velocity(inputs):
    """Computed as transaction_stats rows are written online (materialize, push); online reads return it stored."""
    return {
        "txn_velocity": [
            day / week if day is not None and week else None
            for day, week in zip(inputs["txn_count_24h"], inputs["txn_count_7d"])
        ]
    }


# ---------------------------------------------------------------------------------------- feature services

realtime_scoring = fsnb.FeatureService(
    "realtime_scoring",
    [customer_demographics, transaction_stats, behavior_profile],
    precompute_online=True,
    description="Every customer feature (20), read as one precomputed vector per customer.",
)

risk_model = fsnb.FeatureService(
    "risk_model",
    [
        transaction_stats[["txn_count_24h", "txn_amount_sum_24h", "declined_ratio_7d", "chargeback_count_90d"]],
        customer_demographics[["credit_score", "annual_income", "is_premium"]],
    ],
    description="The credit-risk model's inputs: a projection of two views.",
)

transaction_scoring = fsnb.FeatureService(
    "transaction_scoring",
    [
        transaction_stats[["txn_count_24h", "declined_ratio_7d", "foreign_txn_ratio_30d"]],
        customer_demographics[["credit_score", "is_premium"]],
        amount_vs_history,
        foreign_transaction,
        transaction_velocity,
    ],
    precompute_online=True,
    description="The fraud model's inputs: stored features and on-demand ones (request data: amount, txn_region).",
)
