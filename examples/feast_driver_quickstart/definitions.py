"""Feast's driver quickstart (the ``feast init`` local template), ported to fsnb.

One entity (``driver``), one feature view over hourly driver statistics, a request source carrying two integers
the caller sends with each request, and the quickstart's on-demand view in both of Feast's modes: pandas
(``transformed_conv_rate``) and native Python (``transformed_conv_rate_python``). The data file comes from
``_data.py`` (``python _data.py .``), which mirrors Feast's ``create_driver_hourly_stats_df``.

Differences from Feast, all deliberate:

- fsnb fields name their dtype positionally (``fsnb.Field("conv_rate", fsnb.Float32)``) and join keys carry theirs
  (``join_keys={"driver_id": fsnb.Int64}``).
- The Python-mode function passes nulls through (a driver without rows has no ``conv_rate``): Feast's version,
  ``conv_rate + val_to_add`` on every element, raises ``TypeError`` on ``None``; in fsnb that is a read error
  (``fsnb.errors.TransformError``) naming the view, so the port writes the null case out.
- ``driver_activity_v3`` (the push-source variant) is left out; ``driver_activity_precomputed`` is added: the same
  features as ``driver_activity_v2`` read as one precomputed vector per driver, on-demand features computed on
  top of it.
"""

from datetime import timedelta

import pandas as pd

import fsnb

# An entity is the key features are looked up by.
driver = fsnb.Entity("driver", join_keys={"driver_id": fsnb.Int64}, description="A driver of the ride service.")

# Hourly statistics per driver: `event_timestamp` is when the values were true, `created` when they were written.
driver_stats_source = fsnb.ParquetSource(
    "data/driver_stats.parquet",
    name="driver_hourly_stats_source",
    timestamp_field="event_timestamp",
    created_timestamp_column="created",
)

driver_stats_fv = fsnb.FeatureView(
    "driver_hourly_stats",
    entities=[driver],
    ttl=timedelta(days=1),
    schema=[
        fsnb.Field("conv_rate", fsnb.Float32),
        fsnb.Field("acc_rate", fsnb.Float32),
        fsnb.Field("avg_daily_trips", fsnb.Int64, description="Average daily trips"),
    ],
    online=True,
    source=driver_stats_source,
    tags={"team": "driver_performance"},
)

# Data that exists only at request time (part of the caller's request): online reads take these fields next to
# `driver_id` in the entity rows, training sets take them as columns of entity_df.
input_request = fsnb.RequestSource(
    "vals_to_add",
    schema=[
        fsnb.Field("val_to_add", fsnb.Int64),
        fsnb.Field("val_to_add_2", fsnb.Int64),
    ],
)


@fsnb.on_demand_feature_view(
    sources=[driver_stats_fv, input_request],
    schema=[
        fsnb.Field("conv_rate_plus_val1", fsnb.Float64),
        fsnb.Field("conv_rate_plus_val2", fsnb.Float64),
    ],
    mode="pandas",
)
def transformed_conv_rate(inputs: pd.DataFrame) -> pd.DataFrame:
    df = pd.DataFrame()
    df["conv_rate_plus_val1"] = inputs["conv_rate"] + inputs["val_to_add"]
    df["conv_rate_plus_val2"] = inputs["conv_rate"] + inputs["val_to_add_2"]
    return df


@fsnb.on_demand_feature_view(
    sources=[driver_stats_fv, input_request],
    schema=[
        fsnb.Field("conv_rate_plus_val1_python", fsnb.Float64),
        fsnb.Field("conv_rate_plus_val2_python", fsnb.Float64),
    ],
    mode="python",
)
def transformed_conv_rate_python(inputs: dict) -> dict:
    def plus(rates, values):
        return [r + v if r is not None and v is not None else None for r, v in zip(rates, values)]

    return {
        "conv_rate_plus_val1_python": plus(inputs["conv_rate"], inputs["val_to_add"]),
        "conv_rate_plus_val2_python": plus(inputs["conv_rate"], inputs["val_to_add_2"]),
    }


# Feature services group features into a model version.
driver_activity_v1 = fsnb.FeatureService(
    "driver_activity_v1",
    [
        driver_stats_fv[["conv_rate"]],  # sub-selects a feature from a feature view
        transformed_conv_rate,  # selects all features of the on-demand view
    ],
)

driver_activity_v2 = fsnb.FeatureService("driver_activity_v2", [driver_stats_fv, transformed_conv_rate])

driver_activity_python = fsnb.FeatureService(
    "driver_activity_python", [driver_stats_fv, transformed_conv_rate_python]
)

driver_activity_precomputed = fsnb.FeatureService(
    "driver_activity_precomputed",
    [driver_stats_fv, transformed_conv_rate, transformed_conv_rate_python],
    precompute_online=True,
    description="driver_activity_v2 and the Python-mode view, stored features read as one vector per driver.",
)
