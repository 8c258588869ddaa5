"""The drift report flags a planted shift (numbers, categories, NOT_FOUND rate) and passes a clean sample."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import fsnb
from fsnb.errors import ConfigError, ParityError
from fsnb.types import Float64, Int64, String


@pytest.fixture
def store(tmp_path: Path) -> fsnb.Store:
    data = tmp_path / "data.parquet"
    pd.DataFrame({"user_id": [1], "amount": [1.0], "city": ["a"], "ts": pd.to_datetime(["2024-01-01"], utc=True)}
                 ).to_parquet(data)
    user = fsnb.Entity("user", join_keys=["user_id"])
    view = fsnb.FeatureView(
        "stats", entities=[user], ttl=timedelta(days=30),
        schema=[fsnb.Field("user_id", Int64), fsnb.Field("amount", Float64), fsnb.Field("city", String)],
        source=fsnb.ParquetSource(str(data), name="stats_source", timestamp_field="ts"),
    )
    s = fsnb.Store(tmp_path)
    s.apply([user, view, fsnb.FeatureService("svc", [view])])
    return s


def _log(rng: np.random.Generator, n: int, *, mean: float, cities: list[str], not_found: float) -> pd.DataFrame:
    missing = rng.random(n) < not_found
    amount = rng.normal(mean, 10.0, n)
    return pd.DataFrame({
        "request_id": [f"r{i}" for i in range(n)], "user_id": np.arange(n),
        "stats__amount": np.where(missing, np.nan, amount),
        "stats__amount__status": np.where(missing, "NOT_FOUND", "PRESENT"),
        "stats__city": [None if m else c for m, c in zip(missing, rng.choice(cities, n))],
        "stats__city__status": np.where(missing, "NOT_FOUND", "PRESENT"),
    })


def test_a_clean_sample_does_not_drift_and_a_shifted_one_does(store: fsnb.Store) -> None:
    rng = np.random.default_rng(0)
    training = pd.DataFrame({"user_id": np.arange(4000), "amount": rng.normal(100.0, 10.0, 4000),
                             "city": rng.choice(["paris", "oslo", "rome"], 4000)})  # short names, as to_df() gives
    clean = _log(rng, 3000, mean=100.0, cities=["paris", "oslo", "rome"], not_found=0.0)
    report = store.drift_report("svc", reference=training, current=clean)
    report.assert_ok()
    assert not report.to_df()["drifted"].any()

    shifted = _log(rng, 3000, mean=115.0, cities=["paris", "paris", "lima"], not_found=0.2)
    report = store.drift_report("svc", reference=clean, current=shifted)
    df = report.to_df()
    assert set(df["feature"]) == {"stats__city", "stats__amount"}
    assert report.features[0].score >= report.features[1].score  # worst first
    row = df.set_index("feature")
    assert row.loc["stats__amount", "psi"] > 0.2 and row.loc["stats__amount", "ks"] > 0.2
    assert row.loc["stats__amount", "mean_cur"] == pytest.approx(115.0, abs=1.0)
    assert row.loc["stats__city", "category_shift"] > 0.2 and row.loc["stats__city", "kind"] == "category"
    assert row.loc["stats__amount", "not_found_rate_cur"] == pytest.approx(0.2, abs=0.03)
    assert df["drifted"].all()
    with pytest.raises(ParityError, match="stats__amount"):
        report.assert_ok()
    page = report._repr_html_()
    assert "<svg" in page and "2 of 2 features drifted" in page
    # a looser threshold lets a small shift pass
    small = _log(rng, 3000, mean=101.0, cities=["paris", "oslo", "rome"], not_found=0.0)
    store.drift_report("svc", reference=clean, current=small).assert_ok({"psi": 0.5, "ks": 0.5})


def test_drift_report_refuses_what_it_cannot_read(store: fsnb.Store) -> None:
    with pytest.raises(ConfigError, match="reference must be"):
        store.drift_report("svc", reference="training", current=pd.DataFrame())
