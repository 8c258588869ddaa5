"""The remote SDK (``online_store: {type: remote}``) against real server processes: same results as direct mode."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

import fsnb
from fsnb import errors as E
from fsnb.examples.banking import special_ids
from tests.e2e.test_server_support import CUSTOMERS, ServerProcess
from tests.servers import RedisServer

pytestmark = [pytest.mark.server, pytest.mark.redis]

READ_TOKEN = "read-token-7f3a9c"
ADMIN_TOKEN = "admin-token-c41d2e"


@pytest.fixture(scope="module")
def server(repo: Path, redis: RedisServer) -> Iterator[ServerProcess]:
    with ServerProcess(repo, redis.url, workers=2, args=["--max-batch-rows", "200"]) as s:
        yield s


@pytest.fixture(scope="module")
def remote(repo: Path, server: ServerProcess) -> Iterator[fsnb.Store]:
    with fsnb.Store(repo, online_store={"type": "remote", "path": server.url, "limits": {"retries": 2}}) as store:
        yield store


def entity_ids() -> list[int]:
    stale = special_ids("outside_ttl", CUSTOMERS, view="behavior_profile")[:2]
    return [1, 2, 3, *special_ids("late_arrival", CUSTOMERS)[:2], *stale, CUSTOMERS + 77]


def assert_same(a: object, b: object) -> None:
    """Equal values, statuses, event timestamps and dtypes, and equal DataFrames."""
    assert a.feature_names == b.feature_names  # type: ignore[attr-defined]
    assert a.dtypes == b.dtypes  # type: ignore[attr-defined]
    for ca, cb in zip(a.iter_columns(), b.iter_columns()):  # type: ignore[attr-defined]
        assert ca == cb, ca[0]
    pd.testing.assert_frame_equal(a.to_df(), b.to_df())  # type: ignore[attr-defined]


FEATURE_SETS = [
    "realtime_scoring",
    "risk_model",
    ["transaction_stats:txn_count_7d", "behavior_profile:top_categories", "behavior_profile:recent_txn_amounts",
     "customer_demographics:is_premium", "customer_demographics:segment"],
]


@pytest.mark.parametrize("features", FEATURE_SETS, ids=["precomputed-service", "service", "features"])
@pytest.mark.parametrize("full", [False, True])
def test_remote_reads_equal_direct_reads(
    direct: fsnb.Store, remote: fsnb.Store, features: object, full: bool
) -> None:
    rows = {"customer_id": entity_ids()}
    a = direct.get_online_features(features, rows, full_feature_names=full)  # type: ignore[arg-type]
    b = remote.get_online_features(features, rows, full_feature_names=full)  # type: ignore[arg-type]
    assert_same(a, b)
    assert {"PRESENT", "NOT_FOUND"} <= {s for _, _, st, _ in b.iter_columns() for s in st}


def naming_forms(store: fsnb.Store) -> list[object]:
    """Every way of naming features: one ref, a list, a view, a projection, a list of both, a service, its name."""
    demo = store.get_feature_view("customer_demographics")
    return [
        "customer_demographics:age",
        ["transaction_stats:txn_count_7d", "customer_demographics:age"],
        demo,
        demo[["segment", "age"]],
        [demo[["age"]], "transaction_stats:txn_count_7d"],
        store.get_feature_service("risk_model"),
        "risk_model",
    ]


@pytest.mark.parametrize("form", range(7))
@pytest.mark.parametrize("full", [False, True])
def test_every_naming_form_means_the_same_online_offline_and_remote(
    direct: fsnb.Store, remote: fsnb.Store, form: int, full: bool
) -> None:
    features = naming_forms(direct)[form]
    ids = [1, 2, 3]
    a = direct.get_online_features(features, {"customer_id": ids}, full_feature_names=full)  # type: ignore[arg-type]
    b = remote.get_online_features(features, {"customer_id": ids}, full_feature_names=full)  # type: ignore[arg-type]
    assert_same(a, b)
    now = pd.Timestamp.now(tz="UTC")
    edf = pd.DataFrame({"customer_id": ids, "event_timestamp": [now] * len(ids)})
    training = direct.get_historical_features(edf, features, full_feature_names=full).to_df()  # type: ignore[arg-type]
    assert list(training.columns) == ["customer_id", "event_timestamp", *a.feature_names[1:]]


def test_one_feature_reference_online_equals_the_training_set(direct: fsnb.Store) -> None:
    ids = [1, 2, 3, 4]
    online = direct.get_online_features("customer_demographics:age", {"customer_id": ids}).to_dict()
    edf = pd.DataFrame({"customer_id": ids, "event_timestamp": [pd.Timestamp.now(tz="UTC")] * len(ids)})
    training = direct.get_historical_features(edf, "customer_demographics:age").to_df()
    assert online["age"] == [None if pd.isna(v) else int(v) for v in training["age"]]
    assert online["customer_id"] == ids


def test_remote_reads_of_merchants_with_map_struct_json(direct: fsnb.Store, remote: fsnb.Store) -> None:
    view = direct.get_feature_view("merchant_stats")
    refs = [f"merchant_stats:{f.name}" for f in view.features]
    rows = [{"merchant_id": i} for i in (1, 2, 3, 10_000_000)]
    assert_same(direct.get_online_features(refs, rows), remote.get_online_features(refs, rows))


def test_entity_rows_as_dicts_lists_and_frames(direct: fsnb.Store, remote: fsnb.Store) -> None:
    expected = direct.get_online_features("risk_model", {"customer_id": [4, 5]})
    for rows in ([{"customer_id": 4}, {"customer_id": 5}], pd.DataFrame({"customer_id": [4, 5]})):
        assert_same(expected, remote.get_online_features("risk_model", rows))


def test_precomputed_flag_travels(direct: fsnb.Store, remote: fsnb.Store) -> None:
    rows = {"customer_id": [1, 2]}
    assert_same(
        direct.get_online_features("realtime_scoring", rows, precomputed=False),
        remote.get_online_features("realtime_scoring", rows, precomputed=False),
    )


def test_async_remote_reads_equal_direct(direct: fsnb.Store, remote: fsnb.Store) -> None:
    rows = {"customer_id": entity_ids()}

    async def both() -> list[object]:
        return list(await asyncio.gather(
            *(remote.get_online_features_async("realtime_scoring", rows) for _ in range(8))
        ))

    expected = direct.get_online_features("realtime_scoring", rows)
    for got in asyncio.run(both()):
        assert_same(expected, got)


@pytest.mark.parametrize(
    ("features", "rows", "error"),
    [
        (["nope:x"], {"customer_id": [1]}, E.FeatureViewNotFoundError),
        (["transaction_stats:nope"], {"customer_id": [1]}, E.FeatureNotFoundError),
        ("no_such_service", {"customer_id": [1]}, E.FeatureServiceNotFoundError),
        ("risk_model", {"merchant_id": [1]}, E.MissingJoinKeyError),
        ("risk_model", {"customer_id": ["x"]}, E.JoinKeyTypeError),
    ],
)
def test_server_errors_come_back_as_the_same_class(
    direct: fsnb.Store, remote: fsnb.Store, features: object, rows: object, error: type[Exception]
) -> None:
    with pytest.raises(error) as got:
        remote.get_online_features(features, rows)  # type: ignore[arg-type]
    assert type(got.value) is error
    with pytest.raises(error) as want:
        direct.get_online_features(features, rows)  # type: ignore[arg-type]
    assert str(got.value) == str(want.value)


@pytest.mark.parametrize("wire", ["json", "arrow"])
def test_a_read_larger_than_the_server_takes_is_split_transparently(
    direct: fsnb.Store, server: ServerProcess, wire: str
) -> None:
    from fsnb.serving.remote import RemoteServing

    rows = {"customer_id": [*range(1, CUSTOMERS + 1)] * 3 + [CUSTOMERS + 77]}  # the server takes 200 per request
    with RemoteServing(RemoteServing.at(server.url).config, wire=wire) as client:
        got = client.read("risk_model", rows)
        assert client.batch_rows <= 200  # learned from the server's 413, kept for the next reads
    assert_same(direct.get_online_features("risk_model", rows), got)


def test_push_and_write_through_the_server(direct: fsnb.Store, remote: fsnb.Store) -> None:
    when = pd.Timestamp(datetime.now(UTC).replace(microsecond=0))
    pushed = pd.DataFrame({
        "customer_id": [21, 22], "txn_count_24h": [1, 2], "txn_count_7d": [31337, 31338],
        "txn_amount_sum_24h": [1.0, 2.0], "txn_amount_avg_7d": [1.0, 2.0], "txn_amount_max_7d": [1.0, 2.0],
        "declined_ratio_7d": pd.Series([0.5, 0.25], dtype="float32"),
        "foreign_txn_ratio_30d": pd.Series([0.5, 0.25], dtype="float32"),
        "chargeback_count_90d": [0, 1], "event_timestamp": [when, when], "created": [when, when],
    })
    assert remote.push("transaction_stats_push", pushed) == 2
    got = direct.get_online_features("realtime_scoring", {"customer_id": [21, 22]}).to_dict()
    assert got["txn_count_7d"] == [31337, 31338]

    demo = pd.DataFrame({
        "customer_id": [23], "age": pd.Series([51], dtype="int32"), "annual_income": [5.0],
        "credit_score": pd.Series([650], dtype="int32"), "segment": ["mass"], "region": ["north"],
        "is_premium": [True], "event_timestamp": [when],
    })
    assert remote.write_to_online_store("customer_demographics", demo) == 1
    assert remote.get_online_features(["customer_demographics:age"], [{"customer_id": 23}]).to_dict()["age"] == [51]

    with pytest.raises(E.DataValidationError):
        remote.push("transaction_stats_push", pushed.drop(columns=["txn_count_7d"]))


def test_remote_store_with_auth(repo: Path, redis: RedisServer, tmp_path: Path) -> None:
    # the same repo, served with token auth from feature_server.auth (tokens read from the environment)
    cfg = tmp_path / "fsnb.yaml"
    cfg.write_text(
        "project: banking\n"
        f"registry: {repo}/.fsnb/registry.db\n"
        "feature_server:\n"
        "  auth:\n"
        "    type: token\n"
        "    tokens:\n"
        "      ${TEST_READ_TOKEN}: [read]\n"
        "      ${TEST_ADMIN_TOKEN}: [read, write]\n"
    )
    env = {"TEST_READ_TOKEN": READ_TOKEN, "TEST_ADMIN_TOKEN": ADMIN_TOKEN}
    with ServerProcess(cfg, redis.url, workers=2, env=env) as server:
        import requests

        body = {"feature_service": "risk_model", "entities": {"customer_id": [1]}}
        url = server.url + "/get-online-features"
        r = requests.post(url, json=body, timeout=5)
        assert r.status_code == 401 and r.json()["error"] == "AuthError"
        r = requests.post(url, json=body, headers={"Authorization": "Bearer wrong"}, timeout=5)
        assert r.status_code == 401
        assert "wrong" not in r.text and READ_TOKEN not in r.text
        assert requests.post(url, json=body, headers={"Authorization": f"Bearer {READ_TOKEN}"},
                             timeout=5).status_code == 200
        assert requests.post(url, json=body, headers={"X-API-Key": ADMIN_TOKEN}, timeout=5).status_code == 200
        push = {"push_source_name": "transaction_stats_push", "df": {"customer_id": [1]}}
        r = requests.post(server.url + "/push", json=push, headers={"Authorization": f"Bearer {READ_TOKEN}"},
                          timeout=5)
        assert r.status_code == 403 and r.json()["error"] == "ForbiddenError"
        r = requests.post(server.url + "/push", json=push, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                          timeout=5)
        assert r.status_code == 422  # authorised; the frame itself is incomplete
        assert requests.get(server.url + "/health", timeout=5).status_code == 200

        def client(token: str) -> fsnb.Store:
            return fsnb.Store(repo, online_store={"type": "remote", "path": server.url, "auth_token": token})

        with client(READ_TOKEN) as reader, client("not-a-token") as stranger:
            assert reader.get_online_features("risk_model", {"customer_id": [1]}).to_dict()["customer_id"] == [1]
            with pytest.raises(E.AuthError):
                stranger.get_online_features("risk_model", {"customer_id": [1]})
            with pytest.raises(E.ForbiddenError):
                reader.write_to_online_store("customer_demographics", pd.DataFrame({"customer_id": [1]}))
            assert READ_TOKEN not in repr(reader) and READ_TOKEN not in repr(reader.serving)
        log = server.log()
    assert READ_TOKEN not in log and ADMIN_TOKEN not in log
