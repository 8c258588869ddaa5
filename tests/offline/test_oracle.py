"""Training sets on the banking example against an independent pandas oracle (``merge_asof`` + TTL mask).

Entity rows are drawn at random times, at the exact event times of stored rows, and at the TTL edges of stored
rows (just inside and one microsecond outside), over customers that include the generator's late-arrival,
created-tie and outside-TTL cases. Runs on every offline engine (``tests/offline/engines``).
"""

from __future__ import annotations

import runpy
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import fsnb
from fsnb.definitions import DataSource, Entity, FeatureService, FeatureView
from fsnb.examples.banking import VIEW_FILES, generate, special_ids, template_dir
from tests.offline.engines import EngineTestConf

NOW = datetime(2025, 6, 1, tzinfo=UTC)
CUSTOMERS = 300
VIEWS = ["customer_demographics", "transaction_stats", "behavior_profile"]


@pytest.fixture(scope="module")
def banking(tmp_path_factory: pytest.TempPathFactory, engine_conf: EngineTestConf):
    repo = tmp_path_factory.mktemp(f"banking_{engine_conf.name}")
    generate(repo, customers=CUSTOMERS, now=NOW)
    ns = runpy.run_path(str(template_dir() / "definitions.py"))
    kinds = (Entity, DataSource, FeatureView, FeatureService, fsnb.OnDemandFeatureView)
    objects = [v for v in ns.values() if isinstance(v, kinds)]
    store = fsnb.Store(config=engine_conf.config(repo, project="oracle"))
    store.apply(objects)
    yield store, repo
    store.close()


def entity_rows(repo: Path) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    ids = np.concatenate([
        rng.integers(1, CUSTOMERS + 1, 600),
        special_ids("late_arrival", CUSTOMERS), special_ids("created_tie", CUSTOMERS),
        *(special_ids("outside_ttl", CUSTOMERS, view=v) for v in VIEWS),
        [CUSTOMERS + 1],  # no data at all
    ])
    now = pd.Timestamp(NOW)
    times = list(now - pd.to_timedelta(rng.integers(0, 100 * 86400, len(ids)), unit="s"))
    frames = [pd.DataFrame({"customer_id": ids, "event_timestamp": times})]
    for view in VIEWS:  # exact event times and TTL edges of stored rows
        ttl = {"customer_demographics": 365, "transaction_stats": 2, "behavior_profile": 30}[view]
        data = pd.read_parquet(repo / VIEW_FILES[view], columns=["customer_id", "event_timestamp"]).sample(
            120, random_state=1
        )
        edge = data["event_timestamp"] + pd.Timedelta(days=ttl)
        frames += [data, data.assign(event_timestamp=edge), data.assign(event_timestamp=edge + pd.Timedelta(1, "us"))]
    edf = pd.concat(frames, ignore_index=True)
    edf["row"] = np.arange(len(edf))
    return edf.sample(frac=1, random_state=3)  # shuffled, with a non-trivial index


def oracle(repo: Path, store: fsnb.Store, edf: pd.DataFrame, view_name: str) -> pd.DataFrame:
    view = store.get_feature_view(view_name)
    data = pd.read_parquet(repo / VIEW_FILES[view_name]).sort_values(["event_timestamp", "created"])
    left = edf[["customer_id", "event_timestamp", "row"]].sort_values("event_timestamp")
    merged = pd.merge_asof(
        left, data.rename(columns={"event_timestamp": "feature_ts"}), left_on="event_timestamp",
        right_on="feature_ts", by="customer_id", direction="backward", allow_exact_matches=True,
    )
    if view.ttl is not None:
        stale = merged["feature_ts"] < merged["event_timestamp"] - view.ttl
        merged.loc[stale, list(view.feature_names)] = None
    return merged.set_index("row").loc[edf["row"], list(view.feature_names)]


def same(a: object, b: object) -> bool:
    if a is None or (not isinstance(a, (list, np.ndarray)) and pd.isna(a)):
        return b is None or (not isinstance(b, (list, np.ndarray)) and pd.isna(b))
    if isinstance(a, (list, np.ndarray)):
        return isinstance(b, (list, np.ndarray)) and list(a) == list(b)
    return bool(a == b)


def test_training_set_matches_the_oracle(banking):
    store, repo = banking
    edf = entity_rows(repo)
    got = store.get_historical_features(edf, "realtime_scoring").to_df()
    assert list(got.index) == list(edf.index) and got["row"].tolist() == edf["row"].tolist()
    checked = 0
    for view in VIEWS:
        want = oracle(repo, store, edf, view)
        for name in want.columns:
            mismatches = [
                (r, g, w) for r, g, w in zip(edf["row"], got[name].tolist(), want[name].tolist()) if not same(g, w)
            ]
            assert not mismatches, f"{view}:{name} differs for {len(mismatches)} rows, e.g. {mismatches[:3]}"
            checked += len(want)
    assert checked > 20 * 1000
    # every kind of outcome occurs: values, nulls from TTL, nulls for customers without data
    assert got["txn_count_7d"].notna().any() and got["txn_count_7d"].isna().any()
    assert got.loc[edf["customer_id"] == CUSTOMERS + 1, "age"].isna().all()
