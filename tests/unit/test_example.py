"""The banking example: its definitions, and the data generator's promises (determinism and awkward cases)."""

from __future__ import annotations

import ast
import runpy
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import fsnb
from fsnb.examples.banking import VIEW_FILES, default_now, generate, special_ids, template_dir

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CUSTOMERS = 2_500
KEYS = {"customer_demographics": "customer_id", "transaction_stats": "customer_id",
        "behavior_profile": "customer_id", "merchant_stats": "merchant_id"}


@pytest.fixture(scope="module")
def defs() -> dict[str, Any]:
    return runpy.run_path(str(template_dir() / "definitions.py"))


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, Any]]]:
    path = tmp_path_factory.mktemp("banking")
    summary = generate(path, customers=CUSTOMERS, seed=0, now=NOW)
    yield path, summary


def _frame(repo: Path, view: str) -> Any:
    import pyarrow.parquet as pq

    return pq.read_table(repo / VIEW_FILES[view]).to_pandas()


# ------------------------------------------------------------------------------------------- definitions


def test_definitions_import_only_fsnb_and_datetime() -> None:
    """At module level: on-demand functions import what they use inside themselves (they run from their text)."""
    tree = ast.parse((template_dir() / "definitions.py").read_text())
    imported = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported == {"fsnb", "datetime"}


def test_definitions_build_with_promised_feature_counts(defs: dict[str, Any]) -> None:
    views = {v.name: v for v in defs.values() if isinstance(v, fsnb.FeatureView)}
    assert {n: len(v.features) for n, v in views.items()} == {
        "customer_demographics": 6, "transaction_stats": 8, "behavior_profile": 6, "merchant_stats": 6,
    }
    assert all(f.dtype.is_numeric for f in views["transaction_stats"].features)
    assert any(f.dtype == fsnb.String for f in views["customer_demographics"].features)
    assert any(isinstance(f.dtype, fsnb.Array) for f in views["behavior_profile"].features)
    merchant_dtypes = {type(f.dtype) for f in views["merchant_stats"].features}
    assert {fsnb.Map, fsnb.Struct} <= merchant_dtypes
    assert fsnb.Json in {f.dtype for f in views["merchant_stats"].features}
    assert views["merchant_stats"].join_keys == ("merchant_id",)
    assert {views[n].join_keys for n in ("customer_demographics", "transaction_stats", "behavior_profile")} == {
        ("customer_id",)
    }
    assert views["customer_demographics"].ttl == timedelta(days=365)
    assert views["transaction_stats"].ttl == timedelta(days=2)
    assert views["behavior_profile"].ttl == timedelta(days=30)


def test_realtime_scoring_serves_20_precomputed_features(defs: dict[str, Any]) -> None:
    service = defs["realtime_scoring"]
    assert service.precompute_online
    assert len(service.feature_refs) == 20
    assert {p.name for p in service.projections} == {"customer_demographics", "transaction_stats", "behavior_profile"}


def test_risk_model_is_a_projection(defs: dict[str, Any]) -> None:
    service = defs["risk_model"]
    by_view = {p.name: p.feature_names for p in service.projections}
    assert 0 < len(by_view["transaction_stats"]) < 8
    assert 0 < len(by_view["customer_demographics"]) < 6
    assert not service.precompute_online


def test_transaction_stats_is_fed_by_a_push_source(defs: dict[str, Any]) -> None:
    source = defs["transaction_stats"].source
    assert isinstance(source, fsnb.PushSource)
    assert source.name == "transaction_stats_push"
    assert isinstance(source.batch_source, fsnb.ParquetSource)
    assert source.batch_source.path == VIEW_FILES["transaction_stats"]


def test_every_source_uses_created_timestamps(defs: dict[str, Any]) -> None:
    for view in (v for v in defs.values() if isinstance(v, fsnb.FeatureView)):
        batch = view.source.batch_source
        assert isinstance(batch, fsnb.ParquetSource)
        assert batch.path == VIEW_FILES[view.name]
        assert (batch.timestamp_field, batch.created_timestamp_column) == ("event_timestamp", "created")


def test_template_yaml_is_on_embedded_defaults() -> None:
    import yaml

    raw = yaml.safe_load((template_dir() / "fsnb.yaml").read_text())
    assert raw["project"] == "banking"
    assert raw["registry"] == ".fsnb/registry.db"
    assert raw["online_store"]["type"] == "sqlite"
    text = (template_dir() / "fsnb.yaml").read_text()
    assert "redis://" in text and "postgresql://" in text  # commented-out alternatives


# ----------------------------------------------------------------------------------------------- the data


def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    a = generate(tmp_path / "a", customers=300, seed=7, now=NOW)
    b = generate(tmp_path / "b", customers=300, seed=7, now=NOW)
    c = generate(tmp_path / "c", customers=300, seed=8, now=NOW)
    for view in VIEW_FILES:
        bytes_a = Path(a["files"][view]["path"]).read_bytes()
        assert bytes_a == Path(b["files"][view]["path"]).read_bytes(), view
        assert bytes_a != Path(c["files"][view]["path"]).read_bytes(), view


def test_summary_reports_paths_and_row_counts(repo: tuple[Path, dict[str, Any]]) -> None:
    import pyarrow.parquet as pq

    path, summary = repo
    assert summary["now"] == NOW
    assert summary["customers"] == CUSTOMERS
    assert set(summary["files"]) == set(VIEW_FILES)
    for view, info in summary["files"].items():
        assert Path(info["path"]) == path / VIEW_FILES[view]
        assert pq.read_metadata(info["path"]).num_rows == info["rows"]
    assert summary["special"]["transaction_stats"]["outside_ttl"] == len(
        special_ids("outside_ttl", CUSTOMERS, view="transaction_stats")
    )


def test_data_schema_fits_every_declared_dtype(repo: tuple[Path, dict[str, Any]], defs: dict[str, Any]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path, _ = repo
    for view in (v for v in defs.values() if isinstance(v, fsnb.FeatureView)):
        schema = pq.read_schema(path / VIEW_FILES[view.name])
        for field in view.schema:
            assert field.name in schema.names, (view.name, field.name)
            arrow_type = schema.field(field.name).type
            assert field.dtype.accepts_arrow(arrow_type), (view.name, field.name, arrow_type)
        for col in ("event_timestamp", "created"):
            assert schema.field(col).type == pa.timestamp("us", tz="UTC")


def test_every_entity_has_several_rows(repo: tuple[Path, dict[str, Any]]) -> None:
    path, summary = repo
    for view, key in KEYS.items():
        df = _frame(path, view)
        counts = df.groupby(key).size()
        expected = summary["merchants"] if view == "merchant_stats" else CUSTOMERS
        assert sorted(counts.index) == list(range(1, expected + 1))
        assert counts.min() >= 3


def test_timestamps_lead_up_to_now(repo: tuple[Path, dict[str, Any]]) -> None:
    import pandas as pd

    path, _ = repo
    for view in VIEW_FILES:
        df = _frame(path, view)
        assert (df["event_timestamp"] <= df["created"]).all()
        assert (df["created"] <= pd.Timestamp(NOW)).all()


def _late_entities(df: Any, key: str) -> set[int]:
    """Entities with a row of older event time written after a row of newer event time."""
    g = df.groupby(key)
    latest_event = g["event_timestamp"].transform("max")
    created_of_latest = df["created"].where(df["event_timestamp"] == latest_event).groupby(df[key]).transform("min")
    late = (df["event_timestamp"] < latest_event) & (df["created"] > created_of_latest)
    return set(df.loc[late, key].tolist())


def test_late_arrivals_are_present(repo: tuple[Path, dict[str, Any]]) -> None:
    path, summary = repo
    for view, key in KEYS.items():
        count = summary["merchants"] if view == "merchant_stats" else CUSTOMERS
        expected = set(special_ids("late_arrival", count, view=view))
        assert expected
        assert _late_entities(_frame(path, view), key) == expected, view


def test_created_timestamp_breaks_ties_at_equal_event_times(repo: tuple[Path, dict[str, Any]]) -> None:
    path, summary = repo
    for view, key in KEYS.items():
        df = _frame(path, view).reset_index(names="file_row")
        dup = df[df.duplicated([key, "event_timestamp"], keep=False)]
        count = summary["merchants"] if view == "merchant_stats" else CUSTOMERS
        expected = set(special_ids("created_tie", count, view=view))
        assert expected
        assert set(dup[key]) == expected, view
        for _, rows in dup.groupby(key):
            assert len(rows) == 2 and rows["created"].nunique() == 2
            # the correction (later created) comes first in the file, so file order is no tie-breaker
            assert rows.sort_values("created")["file_row"].is_monotonic_decreasing
            features = rows.drop(columns=[key, "event_timestamp", "created", "file_row"]).astype(str)
            assert (features.nunique() > 1).any(), "the correction row must change some value"


def test_some_entities_are_outside_the_ttl(repo: tuple[Path, dict[str, Any]], defs: dict[str, Any]) -> None:
    import pandas as pd

    path, summary = repo
    for view, key in KEYS.items():
        ttl = defs[view].ttl
        latest = _frame(path, view).groupby(key)["event_timestamp"].max()
        stale = set(latest[latest < pd.Timestamp(NOW) - ttl].index)
        count = summary["merchants"] if view == "merchant_stats" else CUSTOMERS
        expected = set(special_ids("outside_ttl", count, view=view))
        assert expected
        assert stale == expected, view


def test_several_features_have_nulls(repo: tuple[Path, dict[str, Any]], defs: dict[str, Any]) -> None:
    path, _ = repo
    for view, key in KEYS.items():
        df = _frame(path, view)
        with_nulls = [f.name for f in defs[view].features if df[f.name].isna().any()]
        assert len(with_nulls) >= 2, (view, with_nulls)
        assert not df[[key, "event_timestamp", "created"]].isna().any().any()


def test_default_now_is_this_hour_in_utc() -> None:
    now = default_now()
    assert now.tzinfo is not None and now.utcoffset() == timedelta(0)
    assert (now.minute, now.second, now.microsecond) == (0, 0, 0)
    assert datetime.now(UTC) - now < timedelta(hours=1, minutes=1)


def test_naive_now_is_read_as_utc(tmp_path: Path) -> None:
    summary = generate(tmp_path, customers=10, now=NOW.replace(tzinfo=None))
    assert summary["now"] == NOW


@pytest.mark.parametrize("customers", [0, -5, 2.5, "10"])
def test_rejects_a_non_positive_size(tmp_path: Path, customers: Any) -> None:
    with pytest.raises(fsnb.errors.FsnbError, match="customers"):
        generate(tmp_path, customers=customers)


def test_merchant_composites_hold_valid_values(repo: tuple[Path, dict[str, Any]]) -> None:
    import json

    path, _ = repo
    df = _frame(path, "merchant_stats")
    for text in df["attributes"].dropna():
        assert set(json.loads(text)) == {"tier", "contactless", "rating"}
    for mix in df["category_mix"]:
        keys = [k for k, _ in mix]
        assert len(keys) == len(set(keys)) >= 2
        assert abs(sum(v for _, v in mix) - 1) < 1e-3
    located = df["location"].dropna()
    assert len(located) < len(df)  # some nulls
    assert all(set(loc) == {"city", "country", "lat", "lon"} for loc in located)
