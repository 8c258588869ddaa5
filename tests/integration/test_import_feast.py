"""``fsnb import-feast``: a Feast repo's registry (written by Feast 0.67 itself, as a file or in a SQL database)
becomes an fsnb repo that applies, reads as formatted Python, and whose training sets equal Feast's
``get_historical_features`` on the same data (see ``tests/feast/training.py`` for what Feast does differently)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import fsnb
from fsnb.errors import ConfigError
from fsnb.feast_import import import_feast
from tests.feast.banking import write_repo
from tests.feast.training import ViewData, assert_matches_feast
from tests.feast_venv import FEAST_VERSION, FeastUnavailable, feast_python

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
WORKER = ROOT / "tests" / "feast" / "worker.py"


def run_feast(python: Path, repo: Path, plan: list[dict[str, Any]]) -> list[Any]:
    (repo / "plan.json").write_text(json.dumps(plan))
    done = subprocess.run([str(python), str(WORKER), str(repo), str(repo / "plan.json"), str(repo / "out.json")],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    answers = json.loads((repo / "out.json").read_text())
    for op, answer in zip(plan, answers):
        assert "error" not in answer, f"Feast failed on {op}:\n{answer['error']}"
    return [a["ok"] for a in answers]


def feast_cli(python: Path, *args: str, cwd: Path) -> None:
    done = subprocess.run([str(python.parent / "feast"), *args], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"feast {' '.join(args)}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"


def feast_training_set(python: Path, repo: Path, entity_df: pd.DataFrame, features: list[str]) -> pd.DataFrame:
    entity_df.to_parquet(repo / "entity_df.parquet")
    run_feast(python, repo, [{"op": "historical", "entity_df": str(repo / "entity_df.parquet"), "features": features,
                              "out": str(repo / "feast_training.parquet")}])
    return pd.read_parquet(repo / "feast_training.parquet")


def fsnb_training_set(repo: Path, entity_df: pd.DataFrame, features: list[str]) -> pd.DataFrame:
    from fsnb.registry.repo import load_definitions

    with fsnb.Store(repo) as store:
        store.apply(load_definitions(repo))
        return store.get_historical_features(entity_df, features).to_df()


def edge_rows(events: pd.DataFrame, key: str, ttl: timedelta, n: int) -> list[tuple[Any, pd.Timestamp]]:
    """For ``n`` events: at the event (inclusive), 1 µs before it, exactly ``ttl`` after it (the inclusive far end
    of its window) and 1 µs more (outside it)."""
    us = pd.Timedelta(microseconds=1)
    rows = []
    for k, ts in zip(events[key][:n], events["event_timestamp"][:n]):
        rows += [(k, ts), (k, ts - us), (k, ts + ttl), (k, ts + ttl + us)]
    return rows


@pytest.fixture(scope="module")
def feast_py() -> Path:
    try:
        return feast_python()
    except FeastUnavailable as e:
        pytest.skip(f"Feast {FEAST_VERSION} cannot be installed into its own virtualenv here: {e}")


@pytest.fixture(scope="module")
def banking_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fsnb.examples.banking import init_repo

    return init_repo(tmp_path_factory.mktemp("banking"), customers=60) / "data"


@pytest.fixture(scope="module")
def feast_repo(feast_py: Path, banking_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = write_repo(tmp_path_factory.mktemp("feast"), banking_data,
                      online_store="  type: sqlite\n  path: data/online.db\n")
    run_feast(feast_py, repo, [{"op": "apply"}])
    return repo


@pytest.fixture(scope="module")
def imported(feast_repo: Path) -> Path:
    out = feast_repo / "fsnb"
    import_feast(feast_repo, out, force=True)
    return out


def test_imported_repo_applies_with_every_object(imported: Path) -> None:
    from fsnb.registry.repo import load_definitions

    with fsnb.Store(imported) as store:
        store.apply(load_definitions(imported))
        snap = store.snapshot()
        assert set(snap.entities) == {"customer", "merchant"}
        assert set(snap.feature_views) == {"customer_demographics", "transaction_stats", "behavior_profile",
                                           "merchant_stats"}
        assert set(snap.feature_services) == {"realtime_scoring", "risk_model"}
        merchant = snap.feature_views["merchant_stats"]
        dtypes = {f.name: f.dtype.name for f in merchant.features}
        assert dtypes["category_mix"] == "map<float64>"
        assert dtypes["location"] == "struct<city:string,country:string,lat:float64,lon:float64>"
        assert dtypes["attributes"] == "json"
        assert snap.feature_views["transaction_stats"].ttl.days == 2
        assert snap.feature_views["customer_demographics"].owner == "data@bank.example"
        risk = snap.feature_services["risk_model"]
        assert [p.name for p in risk.projections] == ["transaction_stats", "customer_demographics"]


BANKING_FEATURES = {
    "customer_demographics": ["age", "segment", "is_premium"],
    "transaction_stats": ["txn_count_24h", "declined_ratio_7d"],
    "behavior_profile": ["recent_txn_amounts", "mobile_share"],
}
BANKING_TTL = {"customer_demographics": timedelta(days=365), "transaction_stats": timedelta(days=2),
               "behavior_profile": timedelta(days=30)}


def test_training_set_equals_feasts_row_for_row(imported: Path, feast_repo: Path, feast_py: Path,
                                                banking_data: Path) -> None:
    sources = {v: pd.read_parquet(banking_data / f"{v}.parquet") for v in BANKING_FEATURES}
    rows = []
    for view, ttl in BANKING_TTL.items():  # the TTL edges of every view
        rows += edge_rows(sources[view].drop_duplicates("customer_id"), "customer_id", ttl, 12)
    rows += [(10**9, sources["customer_demographics"]["event_timestamp"].max())]  # an unknown customer
    rows += rows[:1]  # a repeated entity row
    entity_df = pd.DataFrame(rows, columns=["customer_id", "event_timestamp"])
    entity_df["event_timestamp"] = pd.to_datetime(entity_df["event_timestamp"], utc=True)
    features = [f"{v}:{f}" for v, fs in BANKING_FEATURES.items() for f in fs]

    theirs = feast_training_set(feast_py, feast_repo, entity_df, features)
    ours = fsnb_training_set(imported, entity_df, features)

    assert {c: str(t) for c, t in ours.dtypes.items()} == {
        "customer_id": "int64", "event_timestamp": "datetime64[us, UTC]", "age": "Int32", "segment": "string",
        "is_premium": "boolean", "txn_count_24h": "Int64", "declined_ratio_7d": "float32",
        "recent_txn_amounts": "object", "mobile_share": "float32"}
    views = [(ViewData(v, sources[v], "customer_id", BANKING_TTL[v]), fs) for v, fs in BANKING_FEATURES.items()]
    cases = assert_matches_feast(entity_df, ours, theirs, views)
    # What the comparison covered: Feast drops entity rows with no feature row in a view's window, and collapses
    # the repeated one; fsnb keeps all of them (nulls for that view) in order. Both ends of each TTL window
    # (exactly ttl before: found; 1 µs more: not) are compared against Feast where Feast keeps the row.
    assert len(ours) == len(entity_df) > len(theirs)
    assert (cases["transaction_stats"] == "outside").sum() >= 12
    at_far_edge = cases.index % 4 == 2
    assert (cases["compared"] & at_far_edge).sum() >= 6
    assert cases["compared"].sum() >= 30
    assert ours["txn_count_24h"].isna().any() and ours["txn_count_24h"].notna().any()


def test_feast_init_template_imports_applies_and_trains_like_feast(feast_py: Path, tmp_path: Path) -> None:
    feast_cli(feast_py, "init", "driver_repo", cwd=tmp_path)
    repo = tmp_path / "driver_repo" / "feature_repo"
    feast_cli(feast_py, "apply", cwd=repo)
    out = tmp_path / "fsnb"
    done = subprocess.run([sys.executable, "-m", "fsnb.cli", "import-feast", str(repo), "--out", str(out)],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    notes = (out / "FEAST_IMPORT.md").read_text()
    for name in ("transformed_conv_rate", "transformed_conv_rate_fresh"):
        assert f"on-demand feature view '{name}': imported" in notes
    assert "label view 'driver_quality_labels': not imported" in notes
    assert "@fsnb.on_demand_feature_view(" in (out / "definitions.py").read_text()
    _assert_ruff_clean(out / "definitions.py")
    done = subprocess.run([sys.executable, "-m", "fsnb.cli", "apply"], capture_output=True, text=True, cwd=out)
    assert done.returncode == 0, done.stderr

    stats = pd.read_parquet(repo / "data" / "driver_stats.parquet")
    recent = stats.sort_values("event_timestamp", ascending=False, kind="stable").drop_duplicates("driver_id")
    middle = stats.iloc[len(stats) // 2 :: 97]
    rows = [*edge_rows(pd.concat([recent, middle]), "driver_id", timedelta(days=1), 30),
            (99999, stats["event_timestamp"].max())]  # an unknown driver
    entity_df = pd.DataFrame(rows, columns=["driver_id", "event_timestamp"])
    entity_df = entity_df.drop_duplicates(ignore_index=True)
    columns = ["conv_rate", "acc_rate", "avg_daily_trips", "driver_metadata", "driver_config", "driver_profile"]
    features = [f"driver_hourly_stats:{c}" for c in columns]

    theirs = feast_training_set(feast_py, repo, entity_df, features)
    ours = fsnb_training_set(out, entity_df, features)

    assert str(ours["avg_daily_trips"].dtype) == "Int64" and str(ours["conv_rate"].dtype) == "float32"
    view = ViewData("driver_hourly_stats", stats, "driver_id", timedelta(days=1))
    cases = assert_matches_feast(entity_df, ours, theirs, [(view, columns)])
    assert cases["compared"].sum() >= len(entity_df) // 2
    assert (cases["driver_hourly_stats"] == "outside").any() and (cases["driver_hourly_stats"] == "absent").any()
    first = ours.loc[cases["compared"].to_numpy() & ours["driver_profile"].notna()].iloc[0]
    assert set(first["driver_profile"]) == {"name", "age"} and json.loads(first["driver_config"])

    # the on-demand views, run from the function text Feast stored: the same values as Feast computes
    requests = entity_df.assign(val_to_add=range(len(entity_df)), val_to_add_2=[7 * i for i in range(len(entity_df))])
    odfv = ["transformed_conv_rate:conv_rate_plus_val1", "transformed_conv_rate:conv_rate_plus_val2"]
    theirs = feast_training_set(feast_py, repo, requests, odfv)
    ours = fsnb_training_set(out, requests, odfv)
    keys = ["driver_id", "event_timestamp"]
    theirs = theirs.assign(event_timestamp=theirs["event_timestamp"].astype(ours["event_timestamp"].dtype))
    both = ours.merge(theirs, on=keys, suffixes=("", "_feast"), validate="one_to_one")
    assert len(both) >= len(entity_df) // 2
    for col in ("conv_rate_plus_val1", "conv_rate_plus_val2"):
        assert str(ours[col].dtype) == "float64"
        pd.testing.assert_series_equal(both[col], both[f"{col}_feast"], check_names=False, rtol=1e-9)
    assert both["conv_rate_plus_val1"].notna().sum() > 10


def test_sql_registry_imports_the_same_repo_as_the_file_registry(feast_py: Path, banking_data: Path,
                                                                 imported: Path, tmp_path: Path) -> None:
    db = tmp_path / "registry.sqlite"
    repo = write_repo(tmp_path / "feast", banking_data, online_store="  type: sqlite\n  path: data/online.db\n",
                      registry=f"registry:\n  registry_type: sql\n  path: sqlite:///{db}\n")
    run_feast(feast_py, repo, [{"op": "apply"}])
    assert db.exists()
    result = import_feast(repo / "feature_store.yaml", tmp_path / "fsnb")
    assert (tmp_path / "fsnb" / "definitions.py").read_text() == (imported / "definitions.py").read_text()
    assert result.report == import_feast(imported.parent, tmp_path / "again").report


def _assert_ruff_clean(path: Path) -> None:
    ruff = ROOT / ".venv" / "bin" / "ruff"
    if not ruff.exists():
        ruff = Path(shutil.which("ruff") or "ruff")
    config = str(ROOT / "pyproject.toml")
    for cmd in (["check", "--no-cache"], ["format", "--check", "--diff", "--no-cache"]):
        done = subprocess.run([str(ruff), *cmd, "--config", config, str(path)], capture_output=True, text=True)
        assert done.returncode == 0, f"ruff {cmd[0]}:\n{done.stdout}{done.stderr}"


def test_generated_definitions_pass_ruff_check_and_format(imported: Path, tmp_path: Path) -> None:
    _assert_ruff_clean(imported / "definitions.py")
    text = (imported / "definitions.py").read_text()
    assert "'" not in text.replace("\"'", "")  # double quotes only
    assert max(len(line) for line in text.splitlines()) <= 120


def test_long_descriptions_are_wrapped_and_still_formatted(feast_py: Path, banking_data: Path,
                                                           tmp_path: Path) -> None:
    from tests.feast.banking import DEFINITIONS

    repo = write_repo(tmp_path / "feast", banking_data, online_store="  type: sqlite\n  path: data/online.db\n")
    long = "Declared yearly income in EUR, as reported at onboarding and refreshed by the yearly review; " * 3
    text = DEFINITIONS.replace("Declared yearly income, EUR.", long.strip()).replace("DATA/", f"{banking_data}/")
    (repo / "definitions.py").write_text(text)
    run_feast(feast_py, repo, [{"op": "apply"}])
    out = tmp_path / "fsnb"
    import_feast(repo, out)
    ruff, config = ROOT / ".venv" / "bin" / "ruff", str(ROOT / "pyproject.toml")
    for cmd in (["check", "--no-cache"], ["format", "--check", "--diff", "--no-cache"]):
        done = subprocess.run([str(ruff), *cmd, "--config", config, str(out / "definitions.py")],
                              capture_output=True, text=True)
        assert done.returncode == 0, f"ruff {cmd[0]}:\n{done.stdout}{done.stderr}"
    from fsnb.registry.repo import load_definitions

    view = next(o for o in load_definitions(out) if getattr(o, "name", "") == "customer_demographics")
    income = next(f for f in view.features if f.name == "annual_income")
    assert income.description == long.strip()


def test_a_corrupt_registry_is_a_one_line_error_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "registry.db"
    bad.write_bytes(b"\xff\xfe this is not protobuf \x00\x01")
    with pytest.raises(ConfigError, match=r"registry\.db: not a Feast registry"):
        import_feast(bad, tmp_path / "out")
    done = subprocess.run([sys.executable, "-m", "fsnb.cli", "import-feast", str(bad), "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode != 0
    assert len(done.stderr.strip().splitlines()) == 1 and str(bad) in done.stderr
