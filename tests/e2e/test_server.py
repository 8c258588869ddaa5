"""The feature server end to end: real gunicorn/uvicorn worker processes over a Redis-backed banking store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

import fsnb
from fsnb.examples.banking import special_ids
from tests.e2e.test_server_support import CUSTOMERS, ServerProcess, metric, metric_samples
from tests.servers import RedisServer

pytestmark = [pytest.mark.server, pytest.mark.redis]

MAX_ROWS = 100


@pytest.fixture(scope="module")
def server(repo: Path, redis: RedisServer) -> Iterator[ServerProcess]:
    with ServerProcess(
        repo, redis.url, workers=2, args=["--max-batch-rows", str(MAX_ROWS), "--registry-ttl", "0.5"]
    ) as s:
        yield s


def post(server: ServerProcess, path: str, body: object = None, *, data: bytes | None = None,
         headers: dict[str, str] | None = None) -> requests.Response:
    headers = {"Content-Type": "application/json", **(headers or {})}
    return requests.post(server.url + path, json=body if data is None else None, data=data, headers=headers,
                         timeout=10)


def iso(ts: datetime | None) -> str:
    """Feast's spelling: the epoch for no event time, no fraction when it is zero."""
    from fsnb.wire import event_time_texts

    return event_time_texts([ts])[0]


def assert_matches_direct(body: dict, expected: fsnb.serving.response.OnlineResponse) -> None:  # type: ignore[name-defined]
    assert body["metadata"]["feature_names"] == expected.feature_names
    assert body["metadata"]["dtypes"] == [d.name for d in expected.dtypes.values()]
    assert len(body["results"]) == len(expected.feature_names)
    for result, (name, values, statuses, timestamps) in zip(body["results"], expected.iter_columns()):
        assert result["statuses"] == statuses, name
        assert result["event_timestamps"] == [iso(t) for t in timestamps], name
        if expected.dtypes[name].name == "float32":
            assert result["values"] == pytest.approx(values, nan_ok=True), name
        else:
            assert result["values"] == values, name


# ------------------------------------------------------------------------------------------------ reads


def test_feast_shaped_request_is_answered_in_feast_shape(server: ServerProcess, direct: fsnb.Store) -> None:
    # Feast's documented curl example (features + entities, sent as JSON), on the banking data.
    body = (
        b'{"features": ["transaction_stats:txn_count_7d", "transaction_stats:txn_amount_avg_7d",'
        b' "customer_demographics:credit_score"], "entities": {"customer_id": [1, 2, 3]}}'
    )
    r = requests.post(server.url + "/get-online-features", data=body, timeout=10,
                      headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    doc = r.json()
    names = doc["metadata"]["feature_names"]
    assert names == ["customer_id", "txn_count_7d", "txn_amount_avg_7d", "credit_score"]  # join keys first
    assert doc["results"][0]["values"] == [1, 2, 3]  # column-major: one result per feature, one value per entity
    for result in doc["results"]:
        assert set(result) == {"values", "statuses", "event_timestamps"}
        assert len(result["values"]) == len(result["statuses"]) == len(result["event_timestamps"]) == 3
    for ts in doc["results"][1]["event_timestamps"]:
        assert ts.endswith("Z") and datetime.fromisoformat(ts)
    expected = direct.get_online_features(
        ["transaction_stats:txn_count_7d", "transaction_stats:txn_amount_avg_7d",
         "customer_demographics:credit_score"],
        {"customer_id": [1, 2, 3]},
    )
    assert_matches_direct(doc, expected)


@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("service", ["realtime_scoring", "risk_model"])
def test_feature_service_reads_match_direct_reads(
    server: ServerProcess, direct: fsnb.Store, service: str, full: bool
) -> None:
    stale = special_ids("outside_ttl", CUSTOMERS, view="transaction_stats")[:2]
    ids = [1, 2, *stale, CUSTOMERS + 50]  # present, outside TTL, not found
    r = post(server, "/get-online-features",
             {"feature_service": service, "entities": {"customer_id": ids}, "full_feature_names": full})
    assert r.status_code == 200, r.text
    expected = direct.get_online_features(service, {"customer_id": ids}, full_feature_names=full)
    assert_matches_direct(r.json(), expected)
    statuses = {s for res in r.json()["results"][1:] for s in res["statuses"]}
    assert {"PRESENT", "NOT_FOUND"} <= statuses
    if service == "realtime_scoring":
        assert "OUTSIDE_MAX_AGE" in statuses


def test_precomputed_vectors_and_regular_path_agree(server: ServerProcess) -> None:
    ids = list(range(1, 30))
    docs = [
        post(server, "/get-online-features",
             {"feature_service": "realtime_scoring", "entities": {"customer_id": ids}, "precomputed": p}).json()
        for p in (True, False)
    ]
    assert docs[0] == docs[1]


def test_arrow_response_carries_the_same_columns(server: ServerProcess) -> None:
    from fsnb.wire import decode_arrow, decode_json

    body = {"feature_service": "realtime_scoring", "entities": {"customer_id": [1, 2, CUSTOMERS + 9]}}
    r_json = post(server, "/get-online-features", body)
    r_arrow = post(server, "/get-online-features", body, headers={"Accept": "application/vnd.apache.arrow.stream"})
    assert r_arrow.headers["content-type"] == "application/vnd.apache.arrow.stream"
    cols_json, keys_json = decode_json(r_json.content)
    cols_arrow, keys_arrow = decode_arrow(r_arrow.content)
    assert keys_json == keys_arrow == 1
    for a, b in zip(cols_json, cols_arrow):
        assert a[:2] == b[:2] and a[3:] == b[3:]
        assert a[2] == pytest.approx(b[2]) if a[1] in ("float32", "float64") else a[2] == b[2]


# ----------------------------------------------------------------------------------------------- errors


ERROR_CASES = [
    ("malformed JSON", b"{not json", 400, "RequestError"),
    ("not an object", b"[1, 2]", 400, "RequestError"),
    ("no features", b'{"entities": {"customer_id": [1]}}', 400, "RequestError"),
    ("entities not a mapping", b'{"features": ["transaction_stats:txn_count_7d"], "entities": [1]}', 400,
     "RequestError"),
    ("ragged entities", b'{"feature_service": "risk_model", "entities": {"customer_id": [1, 2], "x": [1]}}', 400,
     "RequestError"),
    ("unknown view", b'{"features": ["nope:x"], "entities": {"customer_id": [1]}}', 404, "FeatureViewNotFoundError"),
    ("unknown feature", b'{"features": ["transaction_stats:nope"], "entities": {"customer_id": [1]}}', 404,
     "FeatureNotFoundError"),
    ("unknown service", b'{"feature_service": "nope", "entities": {"customer_id": [1]}}', 404,
     "FeatureServiceNotFoundError"),
    ("missing join key", b'{"feature_service": "risk_model", "entities": {"merchant_id": [1]}}', 422,
     "MissingJoinKeyError"),
    ("wrong key type", b'{"feature_service": "risk_model", "entities": {"customer_id": ["one"]}}', 422,
     "JoinKeyTypeError"),
    ("too many rows", b'{"feature_service": "risk_model", "entities": {"customer_id": [%s]}}'
     % ",".join(str(i) for i in range(MAX_ROWS + 1)).encode(), 413, "TooManyRowsError"),
]


@pytest.mark.parametrize(("case", "body", "status", "error"), ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_client_mistakes_get_json_errors_with_fitting_statuses(
    server: ServerProcess, case: str, body: bytes, status: int, error: str
) -> None:
    r = post(server, "/get-online-features", data=body)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    doc = r.json()
    assert doc["error"] == error
    assert doc["detail"] and "Traceback" not in doc["detail"]


def test_unknown_paths_and_methods(server: ServerProcess) -> None:
    r = requests.get(server.url + "/nope", timeout=5)
    assert r.status_code == 404 and r.json()["error"] == "NotFound"
    r = requests.get(server.url + "/get-online-features", timeout=5)
    assert r.status_code == 405 and r.json()["error"] == "MethodNotAllowed"
    assert r.headers["allow"] == "POST"


# ----------------------------------------------------------------------------------------------- writes


def test_push_in_feast_shape_updates_rows_and_vectors(server: ServerProcess, direct: fsnb.Store) -> None:
    cid = 7
    when = datetime.now(UTC).replace(microsecond=0)
    df = {
        "customer_id": [cid],
        "txn_count_24h": [4242], "txn_count_7d": [9999], "txn_amount_sum_24h": [1.5], "txn_amount_avg_7d": [2.5],
        "txn_amount_max_7d": [3.5], "declined_ratio_7d": [0.25], "foreign_txn_ratio_30d": [0.5],
        "chargeback_count_90d": [1],
        "event_timestamp": [when.strftime("%Y-%m-%d %H:%M:%S")],  # Feast's docs send timestamps as text
        "created": [when.strftime("%Y-%m-%d %H:%M:%S")],
    }
    r = post(server, "/push", {"push_source_name": "transaction_stats_push", "df": df, "to": "online"})
    assert r.status_code == 200, r.text
    assert r.json()["rows"] == 1
    for body in ({"features": ["transaction_stats:txn_count_7d"], "entities": {"customer_id": [cid]}},
                 {"feature_service": "realtime_scoring", "entities": {"customer_id": [cid]}}):
        doc = post(server, "/get-online-features", body).json()
        col = doc["metadata"]["feature_names"].index("txn_count_7d")
        assert doc["results"][col]["values"] == [9999]
        assert doc["results"][col]["event_timestamps"] == [iso(when)]
    assert direct.get_online_features("realtime_scoring", [{"customer_id": cid}]).to_dict()["txn_count_24h"] == [4242]


def test_write_to_online_store_endpoint(server: ServerProcess) -> None:
    when = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    df = {
        "customer_id": [11, 12], "age": [33, 44], "annual_income": [1.0, 2.0], "credit_score": [700, 710],
        "segment": ["mass", "private"], "region": ["east", "west"], "is_premium": [True, False],
        "event_timestamp": [when.isoformat()] * 2,
    }
    r = post(server, "/write-to-online-store", {"feature_view_name": "customer_demographics", "df": df})
    assert r.status_code == 200, r.text
    doc = post(server, "/get-online-features",
               {"features": ["customer_demographics:age", "customer_demographics:segment"],
                "entities": {"customer_id": [11, 12]}}).json()
    assert doc["results"][1]["values"] == [33, 44]
    assert doc["results"][2]["values"] == ["mass", "private"]


@pytest.mark.parametrize(
    ("path", "body", "status", "error"),
    [
        ("/push", {"push_source_name": "nope", "df": {"a": [1]}}, 404, "ObjectNotFoundError"),
        ("/push", {"push_source_name": "transaction_stats_push", "df": {"customer_id": [1]}}, 422,
         "DataValidationError"),
        ("/push", {"push_source_name": "transaction_stats_push", "df": {"customer_id": [1]}, "to": "moon"}, 400,
         "RequestError"),
        ("/write-to-online-store", {"feature_view_name": "nope", "df": {"a": [1]}}, 404,
         "FeatureViewNotFoundError"),
        ("/write-to-online-store", {"feature_view_name": "customer_demographics", "df": "x"}, 400, "RequestError"),
    ],
)
def test_write_errors(server: ServerProcess, path: str, body: dict, status: int, error: str) -> None:
    r = post(server, path, body)
    assert r.status_code == status, r.text
    assert r.json()["error"] == error


# ------------------------------------------------------------------------------------ health, metrics, docs


def test_health(server: ServerProcess) -> None:
    r = requests.get(server.url + "/health", timeout=5)
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


def test_metrics_are_aggregated_over_workers(server: ServerProcess) -> None:
    before = metric_samples(server.url)
    n = 40
    with requests.Session() as s:  # one keep-alive connection...
        for i in range(n):
            r = s.post(server.url + "/get-online-features",
                       json={"feature_service": "risk_model", "entities": {"customer_id": [i + 1, i + 2]}})
            assert r.status_code == 200
    for _ in range(6):  # ...and separate connections, spread over both workers
        assert requests.post(server.url + "/get-online-features", data=b"{bad", timeout=5,
                             headers={"Content-Type": "application/json"}).status_code == 400
    after = metric_samples(server.url)

    def delta(name: str, **labels: str) -> float:
        return metric(after, name, **labels) - metric(before, name, **labels)

    latency = "fsnb_feature_server_request_latency_seconds"
    assert delta(latency + "_count", endpoint="/get-online-features", status="200") == n
    assert delta(latency + "_count", endpoint="/get-online-features", status="400") == 6
    assert delta(latency + "_bucket", endpoint="/get-online-features", status="200", le="+Inf") == n
    assert delta(latency + "_sum", endpoint="/get-online-features", status="200") > 0
    assert delta("fsnb_feature_server_requests_total", endpoint="/get-online-features", status="200") == n
    assert delta("fsnb_feature_server_online_read_duration_seconds_count") == n
    assert delta("fsnb_feature_server_entity_count_sum") == 2 * n
    assert delta("fsnb_feature_server_entity_count_bucket", le="2.0") == n
    present = delta("fsnb_feature_server_feature_status_total", view="transaction_stats", status="PRESENT")
    assert 0 < present <= 4 * 2 * n
    assert delta("fsnb_feature_server_feature_status_total", view="customer_demographics") == 3 * 2 * n
    # the keep-alive session used one connection for all its requests, each bad request its own
    assert 7 <= delta("fsnb_feature_server_connections_opened_total") <= 9
    # samples from both workers are in the aggregate (multiprocess mode)
    assert len(server.worker_pids()) == 2


def test_docs_and_openapi(server: ServerProcess) -> None:
    spec = requests.get(server.url + "/openapi.json", timeout=5).json()
    assert spec["openapi"].startswith("3.")
    assert {"/get-online-features", "/push", "/write-to-online-store", "/health", "/metrics"} <= set(spec["paths"])
    page = requests.get(server.url + "/docs", timeout=5)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "/get-online-features" in page.text


# ---------------------------------------------------------------------------------------------- registry


def test_registry_changes_are_picked_up_in_the_background(server: ServerProcess, direct: fsnb.Store) -> None:
    import time

    body = {"feature_service": "just_income", "entities": {"customer_id": [1]}}
    assert post(server, "/get-online-features", body).status_code == 404
    view = direct.get_feature_view("customer_demographics")
    direct.apply(fsnb.FeatureService("just_income", [view[["annual_income"]]]))
    deadline = time.monotonic() + 15
    statuses = set()
    while time.monotonic() < deadline:  # both workers refresh within registry_ttl (0.5 s)
        statuses = {post(server, "/get-online-features", body).status_code for _ in range(6)}
        if statuses == {200}:
            break
        time.sleep(0.2)
    assert statuses == {200}
