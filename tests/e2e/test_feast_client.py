"""Feast's own Python SDK (0.67, in a virtualenv of its own) pointed at ``fsnb serve`` as its remote online store.

The banking repo is written in Feast terms over the same Parquet files (``tests/feast/banking.py``); every read
Feast's client makes (feature lists, services, projections, full names, missing entities, Map / Struct / Json / list
features, the sync and the async path) must give the values and statuses of fsnb's direct read, and every write it
makes (``write_to_online_store``, ``push``) must land as a direct write would.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

import fsnb
from tests.e2e.test_server_support import ServerProcess
from tests.feast.banking import write_repo
from tests.feast_venv import FEAST_VERSION, FeastUnavailable, feast_python
from tests.servers import RedisServer

pytestmark = [pytest.mark.server, pytest.mark.redis, pytest.mark.slow]

BANKING_CUSTOMERS = 120
WORKER = Path(__file__).resolve().parents[1] / "feast" / "worker.py"
MISSING = 10**9
MERCHANTS = [MISSING, 1, 2, 3, 4]
NOW = datetime.now(UTC).replace(microsecond=250000)

CUSTOMER_FEATURES = [
    "customer_demographics:age", "customer_demographics:annual_income", "customer_demographics:is_premium",
    "transaction_stats:txn_count_7d", "transaction_stats:declined_ratio_7d",
    "behavior_profile:recent_txn_amounts", "behavior_profile:top_categories", "behavior_profile:mobile_share",
]
MERCHANT_FEATURES = [f"merchant_stats:{f}" for f in
                     ("category", "fraud_rate_30d", "category_mix", "location", "attributes")]

READ_SHAPES: list[dict[str, Any]] = [
    {"features": CUSTOMER_FEATURES},
    {"features": CUSTOMER_FEATURES, "full": True},
    {"features": MERCHANT_FEATURES},
    {"features": MERCHANT_FEATURES, "full": True},
    {"service": "realtime_scoring"},
    {"service": "realtime_scoring", "full": True},
    {"service": "risk_model"},
    {"service": "risk_model", "full": True},
]
#: view-by-view reads through the remote store's ``online_read`` (Feast's precompute path), which parses the
#: first row's event timestamp: it failed on ``null`` as soon as the first entity was missing.
ONLINE_READS = [
    ("customer_demographics", "customer_id", ["age", "annual_income", "is_premium", "segment"]),
    ("behavior_profile", "customer_id", ["recent_txn_amounts", "top_categories", "mobile_share"]),
    ("merchant_stats", "merchant_id", ["category", "fraud_rate_30d", "category_mix", "location", "attributes"]),
]

WRITTEN = {  # written by Feast's client through fsnb serve
    "customer_id": [101, 102],
    "txn_count_24h": [7, 8], "txn_count_7d": [70, 80], "txn_amount_sum_24h": [12.5, 99.25],
    "txn_amount_avg_7d": [1.5, 2.5], "txn_amount_max_7d": [10.0, 20.0], "declined_ratio_7d": [0.25, 0.5],
    "foreign_txn_ratio_30d": [0.125, 0.0], "chargeback_count_90d": [0, 3],
    "event_timestamp": [NOW.isoformat()] * 2, "created": [NOW.isoformat()] * 2,
}
PUSHED = {**{k: v[:1] for k, v in WRITTEN.items()}, "customer_id": [103], "txn_count_24h": [4242]}
WRITTEN_MERCHANT = {
    "merchant_id": [5], "category": ["books"], "txn_volume_30d": [1234.5], "fraud_rate_30d": [0.125],
    "category_mix": [{"credit": 0.75, "debit": 0.25}],
    "location": [{"city": "Lyon", "country": "FR", "lat": 45.75, "lon": 4.85}],
    "attributes": [json.dumps({"tier": 2, "flags": ["new"]})],
    "event_timestamp": [NOW.isoformat()], "created": [NOW.isoformat()],
}


@pytest.fixture(scope="module")
def feast_py() -> Path:
    try:
        return feast_python()
    except FeastUnavailable as e:
        pytest.skip(f"Feast {FEAST_VERSION} cannot be installed into its own virtualenv here: {e}")


@pytest.fixture(scope="module")
def reads(direct: fsnb.Store) -> list[dict[str, Any]]:
    """``READ_SHAPES`` with entities: missing ones first, then customers whose list features are not empty.

    (Feast's remote client infers each value's type from the JSON alone and cannot type an empty list, whichever
    server sends it; it raises "Couldn't infer value type from empty value".)
    """
    ids = list(range(1, BANKING_CUSTOMERS + 1))
    rows = direct.get_online_features(["behavior_profile:recent_txn_amounts", "behavior_profile:top_categories"],
                                      {"customer_id": ids}).to_dict()
    full = [i for i, a, b in zip(ids, rows["recent_txn_amounts"], rows["top_categories"]) if a != [] and b != []]
    customers = [MISSING, *full[:3], MISSING + 1, *full[-3:]]
    out = []
    for shape in READ_SHAPES:
        is_merchant = shape.get("features") is MERCHANT_FEATURES
        out.append({**shape, "entities": {"merchant_id": MERCHANTS} if is_merchant else {"customer_id": customers}})
    return out


@pytest.fixture(scope="module")
def server(repo: Path, redis: RedisServer) -> Iterator[ServerProcess]:
    with ServerProcess(repo, redis.url, workers=1) as s:
        yield s


def run_feast(python: Path, repo: Path, plan: list[dict[str, Any]]) -> list[Any]:
    """Run ``plan`` in Feast's venv (``tests/feast/worker.py``); the answers, failing on any error."""
    plan_path, out_path = repo / "plan.json", repo / "answers.json"
    plan_path.write_text(json.dumps(plan))
    done = subprocess.run([str(python), str(WORKER), str(repo), str(plan_path), str(out_path)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    answers = json.loads(out_path.read_text())
    for op, answer in zip(plan, answers):
        assert "error" not in answer, f"Feast failed on {op}:\n{answer['error']}"
    return [a["ok"] for a in answers]


@pytest.fixture(scope="module")
def feast_answers(feast_py: Path, server: ServerProcess, repo: Path, reads: list[dict[str, Any]],
                  tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One Feast session: apply, every read, the writes, then reads of what was written."""
    feast_repo = write_repo(tmp_path_factory.mktemp("feast"), repo / "data",
                            online_store=f"  type: remote\n  path: {server.url}\n")
    stamps = ["event_timestamp", "created"]
    read_ops = [{"op": "read", **r} for r in reads]
    after = [
        {"op": "read", "service": "realtime_scoring", "entities": {"customer_id": [101, 102, 103]}},
        {"op": "read", "features": MERCHANT_FEATURES, "entities": {"merchant_id": [5]}},
    ]
    ids = {"customer_id": reads[0]["entities"]["customer_id"], "merchant_id": MERCHANTS}
    online_reads = [{"op": "online_read", "view": v, "key": k, "ids": ids[k], "features": f}
                    for v, k, f in ONLINE_READS]
    plan = [
        {"op": "apply"}, *read_ops, *online_reads,
        {"op": "write", "view": "transaction_stats", "df": WRITTEN, "timestamps": stamps},
        {"op": "push", "source": "transaction_stats_push", "df": PUSHED, "timestamps": stamps},
        {"op": "write", "view": "merchant_stats", "df": WRITTEN_MERCHANT, "timestamps": stamps},
        *after,
    ]
    answers = run_feast(feast_py, feast_repo, plan)
    return {"reads": answers[1:1 + len(read_ops)], "online_reads": answers[1 + len(read_ops):][:len(online_reads)],
            "after": answers[-len(after):], "python": feast_py,
            "repo": feast_repo}


def direct_read(store: fsnb.Store, read: dict[str, Any]) -> fsnb.serving.response.OnlineResponse:  # type: ignore[name-defined]
    features = read.get("service") or read["features"]
    return store.get_online_features(features, read["entities"], full_feature_names=read.get("full", False))


def normalized(values: dict[str, list[Any]], dtypes: dict[str, Any]) -> dict[str, list[Any]]:
    """Feast's ``Json`` values are JSON text (as from Feast's own server): parse them to compare with fsnb's."""
    out = {}
    for name, column in values.items():
        if dtypes[name].name == "json":
            assert all(v is None or isinstance(v, str) for v in column), (name, column)
            column = [None if v is None else json.loads(v) for v in column]
        out[name] = column
    return out


@pytest.mark.parametrize("index", range(len(READ_SHAPES)), ids=[
    (r.get("service") or r["features"][0].split(":")[0])
    + ("-full" if r.get("full") else "") for r in READ_SHAPES])
def test_feast_client_reads_equal_direct_reads(index: int, reads: list[dict[str, Any]],
                                               feast_answers: dict[str, Any], direct: fsnb.Store) -> None:
    read, got = reads[index], feast_answers["reads"][index]
    expected = direct_read(direct, read)
    assert got["names"] == expected.feature_names
    assert normalized(got["values"], expected.dtypes) == expected.to_dict()
    want_statuses = [statuses for _, _, statuses, _ in expected.iter_columns()]
    assert got["statuses"] == want_statuses
    assert {s for col in want_statuses[1:] for s in col} >= {"PRESENT", "NOT_FOUND"}


@pytest.mark.parametrize("index", range(len(ONLINE_READS)), ids=[r[0] for r in ONLINE_READS])
def test_feast_online_read_equals_direct_reads(index: int, reads: list[dict[str, Any]],
                                               feast_answers: dict[str, Any], direct: fsnb.Store) -> None:
    view, key, features = ONLINE_READS[index]
    ids = reads[0]["entities"]["customer_id"] if key == "customer_id" else MERCHANTS
    expected = direct.get_online_features([f"{view}:{f}" for f in features], {key: ids})
    values, dtypes = expected.to_dict(), expected.dtypes
    columns = {name: (statuses, ts) for name, _, statuses, ts in expected.iter_columns()}
    rows = feast_answers["online_reads"][index]
    assert len(rows) == len(ids)
    first_ts = columns[features[0]][1][0]  # Feast keeps the first row's event time for the whole batch
    for i, (ts, got) in enumerate(rows):
        assert ts == (first_ts or datetime(1970, 1, 1, tzinfo=UTC)).isoformat()
        for f in features:
            present = columns[f][0][i] == "PRESENT"
            want = values[f][i] if present else None
            have = got[f]
            if dtypes[f].name == "json" and isinstance(have, str):
                have = json.loads(have)
            assert have == want, (f, i)


def test_feast_client_writes_land_like_direct_writes(feast_answers: dict[str, Any], direct: fsnb.Store) -> None:
    names = ("txn_count_24h", "txn_count_7d", "txn_amount_sum_24h", "declined_ratio_7d", "chargeback_count_90d")
    rows = direct.get_online_features([f"transaction_stats:{n}" for n in names], {"customer_id": [101, 102, 103]}
                                      ).to_dict()
    for name in names:
        assert rows[name] == WRITTEN[name] + PUSHED[name], name
    merchant = direct.get_online_features(MERCHANT_FEATURES, {"merchant_id": [5]}).to_dict()
    assert merchant["category_mix"] == WRITTEN_MERCHANT["category_mix"]
    assert merchant["location"] == WRITTEN_MERCHANT["location"]
    assert merchant["attributes"] == [json.loads(WRITTEN_MERCHANT["attributes"][0])]
    # and Feast's client reads back what it wrote, as fsnb reads it
    after_service, after_merchant = feast_answers["after"]
    expected = direct.get_online_features("realtime_scoring", {"customer_id": [101, 102, 103]})
    assert after_service["values"] == expected.to_dict()
    expected_m = direct.get_online_features(MERCHANT_FEATURES, {"merchant_id": [5]})
    assert normalized(after_merchant["values"], expected_m.dtypes) == expected_m.to_dict()


def test_event_timestamps_are_spelled_as_feasts_server_spells_them(
    feast_answers: dict[str, Any], reads: list[dict[str, Any]], server: ServerProcess, direct: fsnb.Store
) -> None:
    # a plain HTTP client: every entry is text, equal to Feast's spelling of the direct read's event times
    body = {"features": [*CUSTOMER_FEATURES, "transaction_stats:txn_count_24h"], "entities": reads[0]["entities"]}
    doc = requests.post(server.url + "/get-online-features", json=body, timeout=10).json()
    expected = direct.get_online_features(body["features"], body["entities"])
    micros = [None if t is None else int((t - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1))
              for _, _, _, ts in expected.iter_columns() for t in ts]
    written = run_feast(feast_answers["python"], feast_answers["repo"], [{"op": "ts_text", "micros": micros}])[0]
    got = [t for result in doc["results"] for t in result["event_timestamps"]]
    assert got == written
    assert "1970-01-01T00:00:00Z" in got and len(set(got)) > 2
