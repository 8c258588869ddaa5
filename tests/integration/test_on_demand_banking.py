"""On-demand features of the banking example: one function, the same values in training sets and every online read
(direct, precomputed vectors, async), request data taken from entity rows or entity_df, and clear errors."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import fsnb
from fsnb.errors import DefinitionError, ExtraJoinKeyError, MissingRequestDataError, TransformError
from fsnb.notebook import banking_store

ON_DEMAND = ["amount_over_avg_7d", "exceeds_max_7d", "is_foreign_txn"]


@pytest.fixture(scope="module", params=["sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> fsnb.Store:
    online = None
    if request.param == "redis":
        server = request.getfixturevalue("redis_server")
        online = f"redis://127.0.0.1:{server.port}/7"
    path = tmp_path_factory.mktemp(f"odfv-{request.param}")
    s = banking_store(path, customers=150, online_store=online)
    yield s
    s.close()


def _requests(n: int = 40) -> pd.DataFrame:
    ids = [*range(1, n), 10_000_000]  # the last customer does not exist: its stored inputs are null
    amounts = [None if i % 7 == 0 else float(i * 13 % 400) for i in range(len(ids))]
    regions = [None if i % 11 == 0 else ["north", "south", "overseas"][i % 3] for i in range(len(ids))]
    return pd.DataFrame({"customer_id": ids, "amount": amounts, "txn_region": regions})


def test_training_set_values_equal_online_values_in_every_read_mode(store: fsnb.Store) -> None:
    rows = _requests()
    entity_df = rows.assign(event_timestamp=datetime.now(UTC))
    offline = store.get_historical_features(entity_df, "transaction_scoring").to_df()
    features = store.get_online_features("transaction_scoring", rows).feature_names[1:]
    expected = offline[features].reset_index(drop=True)
    for precomputed in (False, True):
        online = store.get_online_features("transaction_scoring", rows, precomputed=precomputed).to_df()
        _assert_same(online[features], expected)
    as_async = asyncio.run(store.get_online_features_async("transaction_scoring", rows.to_dict("list"))).to_df()
    _assert_same(as_async[features], expected)
    assert offline["is_foreign_txn"].dtype == "boolean"
    assert offline["amount_over_avg_7d"].dtype == "float64"
    assert offline[ON_DEMAND].iloc[-1].isna().all()  # an unknown customer: its inputs and outputs are null
    assert offline["amount_over_avg_7d"].notna().sum() > 10


def _assert_same(online: pd.DataFrame, offline: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(online, offline, check_exact=False, rtol=1e-6, check_column_type=False)


def test_request_data_rides_next_to_the_join_keys_in_every_entity_shape(store: fsnb.Store) -> None:
    refs = ["amount_vs_history:amount_over_avg_7d", "transaction_stats:txn_amount_avg_7d"]
    as_rows = store.get_online_features(refs, [{"customer_id": 3, "amount": 50}, {"customer_id": 4, "amount": 80.5}])
    as_cols = store.get_online_features(refs, {"customer_id": [3, 4], "amount": [50, 80.5]})
    as_frame = store.get_online_features(refs, pd.DataFrame({"amount": [50.0, 80.5], "customer_id": [3, 4]}))
    got = as_rows.to_dict()
    assert got == as_cols.to_dict()
    assert as_frame.to_dict() == {"customer_id": [3, 4], **{k: v for k, v in got.items() if k != "customer_id"}}
    assert list(got) == ["customer_id", "amount_over_avg_7d", "txn_amount_avg_7d"]  # request data is not echoed
    avg = got["txn_amount_avg_7d"]
    assert got["amount_over_avg_7d"] == [50 / avg[0] if avg[0] else None, 80.5 / avg[1] if avg[1] else None]
    assert as_rows.statuses["amount_over_avg_7d"] == ["PRESENT" if v is not None else "NULL_VALUE"
                                                      for v in got["amount_over_avg_7d"]]


def test_full_feature_names_and_the_transform_stage_of_a_trace(store: fsnb.Store) -> None:
    trace: dict[str, int] = {}
    r = store.get_online_features("transaction_scoring", [{"customer_id": 5, "amount": 1.0, "txn_region": "east"}],
                                  full_feature_names=True, trace=trace)
    assert "amount_vs_history__amount_over_avg_7d" in r.feature_names
    assert "foreign_transaction__is_foreign_txn" in r.feature_names
    assert {"plan", "round_trip", "decode", "assemble", "transform"} <= set(trace)


def test_missing_or_wrong_request_data_is_a_clear_error_online_and_offline(store: fsnb.Store) -> None:
    with pytest.raises(MissingRequestDataError, match=r"amount_vs_history.*needs request data \['amount'\]"):
        store.get_online_features("transaction_scoring", [{"customer_id": 5, "txn_region": "east"}])
    with pytest.raises(MissingRequestDataError, match=r"request data 'amount' .* must be float64"):
        store.get_online_features("transaction_scoring", [{"customer_id": 5, "amount": "lots", "txn_region": "east"}])
    with pytest.raises(ExtraJoinKeyError, match=r"\['device'\] that are neither join keys"):
        store.get_online_features("transaction_scoring",
                                  [{"customer_id": 5, "amount": 1.0, "txn_region": "e", "device": "x"}])
    entity_df = pd.DataFrame({"customer_id": [5], "event_timestamp": [datetime.now(UTC)], "amount": [1.0]})
    with pytest.raises(MissingRequestDataError, match=r"foreign_transaction.*\['txn_region'\]: add them as columns"):
        store.get_historical_features(entity_df, "transaction_scoring")


def test_a_fresh_process_reads_the_functions_from_the_registry(store: fsnb.Store) -> None:
    rows = [{"customer_id": 9, "amount": 33.0, "txn_region": "north"}]
    other = fsnb.Store(store.config.repo_path, config=store.config)
    try:
        assert other.get_online_features("transaction_scoring", rows).to_dict() == \
            store.get_online_features("transaction_scoring", rows).to_dict()
    finally:
        other.close()


def test_apply_refuses_a_bad_function_and_writes_nothing(store: fsnb.Store, tmp_path: Path) -> None:
    defs = fsnb.load_definitions(store.config.repo_path)
    stats = next(d for d in defs if getattr(d, "name", "") == "transaction_stats")
    version = store.registry.version()

    @fsnb.on_demand_feature_view(sources=[stats], schema=[fsnb.Field("half", fsnb.Int64)], mode="python")
    def halves(inputs):
        return {"half": [c / 2 for c in inputs["txn_count_7d"]]}

    with pytest.raises(DefinitionError, match="on-demand view 'halves': output 'half' is declared int64"):
        store.apply([*defs, halves])

    @fsnb.on_demand_feature_view(sources=[stats], schema=[fsnb.Field("x", fsnb.Int64)], mode="python")
    def transaction_stats(inputs):
        return {"x": inputs["txn_count_7d"]}

    with pytest.raises(DefinitionError, match="has the name of a feature view"):
        store.apply([*defs, transaction_stats])
    assert store.registry.version() == version


def test_a_function_that_fails_on_real_data_is_a_read_error_naming_the_view(store: fsnb.Store) -> None:
    defs = fsnb.load_definitions(store.config.repo_path)
    stats = next(d for d in defs if getattr(d, "name", "") == "transaction_stats")

    @fsnb.on_demand_feature_view(sources=[stats[["txn_count_24h"]]], schema=[fsnb.Field("inv", fsnb.Float64)],
                                 mode="python")
    def inverse_count(inputs):
        return {"inv": [1 / c for c in inputs["txn_count_24h"]]}  # fails on 0 and on missing rows

    store.apply([*defs, inverse_count])
    try:
        with pytest.raises(TransformError, match="on-demand view 'inverse_count': its function raised"):
            store.get_online_features(["inverse_count:inv"], [{"customer_id": 10_000_001}])
    finally:
        store.apply(defs, prune=True)


def test_a_written_view_is_stored_as_its_source_is_written_and_read_without_running_it(
    store: fsnb.Store, tmp_path: Path
) -> None:
    ids = list(range(1, 30))
    entity_df = pd.DataFrame({"customer_id": ids, "event_timestamp": datetime.now(UTC)})
    offline = store.get_historical_features(entity_df, ["transaction_velocity:txn_velocity"]).to_df()
    online = store.get_online_features(["transaction_velocity:txn_velocity"], {"customer_id": ids}).to_df()
    _assert_same(online[["txn_velocity"]], offline[["txn_velocity"]].reset_index(drop=True))
    assert online["txn_velocity"].notna().sum() > 10

    now = pd.Timestamp.now(tz="UTC")
    pushed = store.push("transaction_stats_push", pd.DataFrame({
        "customer_id": [3], "txn_count_24h": [6], "txn_count_7d": [8], "txn_amount_sum_24h": [1.0],
        "txn_amount_avg_7d": [1.0], "txn_amount_max_7d": [1.0], "declined_ratio_7d": [0.0],
        "foreign_txn_ratio_30d": [0.0], "chargeback_count_90d": [0], "event_timestamp": [now], "created": [now],
    }))
    assert pushed == 1
    for precomputed in (False, True):
        got = store.get_online_features("transaction_scoring", [{"customer_id": 3, "amount": 1.0, "txn_region": "x"}],
                                        precomputed=precomputed).to_dict()
        assert got["txn_velocity"] == [0.75]

    if store.config.online_store.type != "sqlite":
        return
    code = (
        "import fsnb, fsnb.on_demand as od, sys\n"
        "od.refuse_functions('no code here')\n"
        f"s = fsnb.Store({str(store.config.repo_path)!r})\n"
        "print(s.get_online_features(['transaction_velocity:txn_velocity'], [{'customer_id': 3}]).to_dict())\n"
    )
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "{'customer_id': [3], 'txn_velocity': [0.75]}" in out


def _velocity_changed_to(store: fsnb.Store, expression: str) -> tuple[list[Any], Any, fsnb.OnDemandFeatureView]:
    """The repo's definitions, its ``transaction_velocity`` view, and that view computing ``expression`` of ``d``
    (txn_count_24h) and ``w`` (txn_count_7d) instead."""
    defs = fsnb.load_definitions(store.config.repo_path)
    old = next(d for d in defs if getattr(d, "name", "") == "transaction_velocity")
    changed = fsnb.OnDemandFeatureView(
        "transaction_velocity", sources=list(old.sources), schema=list(old.features), mode="python",
        write_to_online_store=True,
        udf="def transaction_velocity(inputs):\n"
            f"    return {{'txn_velocity': [{expression}\n"
            "                             for d, w in zip(inputs['txn_count_24h'], inputs['txn_count_7d'])]}\n",
    )
    return defs, old, changed


def test_a_changed_function_shows_as_training_serving_skew_until_rows_are_written_again(store: fsnb.Store) -> None:
    defs, old, changed = _velocity_changed_to(store, "2.0 if d is not None and w else None")
    plan = store.plan([*[d for d in defs if d is not old], changed])
    assert any("function transaction_velocity changed" in line for item in plan.changed for line in item.changes)
    store.apply([*[d for d in defs if d is not old], changed])
    try:
        ids = [4, 5, 6]
        entity_df = pd.DataFrame({"customer_id": ids, "event_timestamp": datetime.now(UTC)})
        offline = store.get_historical_features(entity_df, ["transaction_velocity:txn_velocity"]).to_df()
        online = store.get_online_features(["transaction_velocity:txn_velocity"], {"customer_id": ids}).to_dict()
        assert [v for v in offline["txn_velocity"] if pd.notna(v)] == [2.0] * offline["txn_velocity"].notna().sum()
        assert online["txn_velocity"] != offline["txn_velocity"].tolist()  # served: computed by the old function
    finally:
        store.apply(defs)


def test_the_profiler_sends_request_data_and_shows_the_transform_stage(store: fsnb.Store) -> None:
    report = store.profile("transaction_scoring", modes=["direct", "precomputed"], batch_sizes=[1, 10], warmup=2,
                           iterations=5, duration_s=0, progress=False)
    assert all(c.status == "ok" for c in report.cases), report.to_text()
    direct = report.case("direct", 10)
    assert "transform" in direct.stages_ns


def test_parity_covers_on_demand_features_and_names_their_own_reasons(store: fsnb.Store) -> None:
    customers = list(range(10, 70))
    report = store.parity_check("transaction_scoring", entities=customers, modes=["direct", "precomputed"])
    report.assert_ok()
    checked = set(report.by_feature()["feature"])
    assert {"amount_over_avg_7d", "exceeds_max_7d", "is_foreign_txn", "txn_velocity"} <= checked

    defs, old, changed = _velocity_changed_to(store, "None if w is None else (d or 0) + 1.0")
    stats = next(d for d in defs if getattr(d, "name", "") == "transaction_stats")
    noisy = fsnb.OnDemandFeatureView(
        "noisy", sources=[stats[["txn_count_7d"]]], schema=[fsnb.Field("jitter", fsnb.Float64)], mode="python",
        udf="def noisy(inputs):\n    import random\n"
            "    return {'jitter': [random.random() for _ in inputs['txn_count_7d']]}\n",
    )
    store.apply([*[d for d in defs if d is not old], changed, noisy])
    try:
        planted = store.parity_check(["transaction_velocity:txn_velocity", "noisy:jitter"], entities=customers)
        reasons = planted.reason_counts()
        assert reasons.get("stored by another version of its function", 0) > 10, planted.to_text()
        assert reasons.get("function is not deterministic", 0) == len(customers), planted.to_text()
    finally:
        store.apply(defs, prune=True)
        store.materialize_incremental(datetime.now(UTC), progress=False)


def test_pruning_a_written_view_deletes_its_stored_rows(tmp_path: Path) -> None:
    with banking_store(tmp_path / "banking", customers=30) as store:
        ref, keys = ["transaction_velocity:txn_velocity"], {"customer_id": [1, 2, 3]}
        assert "PRESENT" in store.get_online_features(ref, keys).statuses["txn_velocity"]
        defs = fsnb.load_definitions(store.config.repo_path)
        users = {"transaction_velocity", "transaction_scoring"}  # the view, and the service that serves it
        store.apply([d for d in defs if getattr(d, "name", "") not in users], prune=True)
        store.apply(defs)  # added again: it starts empty, it does not serve what the pruned definition wrote
        assert store.get_online_features(ref, keys).statuses["txn_velocity"] == ["NOT_FOUND"] * 3
