"""Property-based fuzzing of a real server: schemathesis from ``/openapi.json`` (fixed seed, bounded examples) and
hypothesis-generated bodies for every endpoint. Whatever comes in: no 500, every error is the JSON error body,
no dropped connection, and schema-valid bodies are never refused as malformed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.test_server_support import ServerProcess
from tests.servers import RedisServer

schemathesis = pytest.importorskip("schemathesis")

pytestmark = [pytest.mark.server, pytest.mark.redis, pytest.mark.slow]

BANKING_CUSTOMERS = 50
FUZZ = settings(max_examples=60, derandomize=True, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def server(repo: Path, redis: RedisServer) -> Iterator[ServerProcess]:
    with ServerProcess(repo, redis.url, workers=2, args=["--max-batch-rows", "100"]) as s:
        yield s


OPERATIONS = ["POST /get-online-features", "POST /push", "POST /write-to-online-store", "GET /health",
              "GET /metrics", "GET /ping"]


@pytest.mark.parametrize("operation", OPERATIONS)
def test_the_server_keeps_its_openapi_contract(server: ServerProcess, operation: str) -> None:
    schema = schemathesis.openapi.from_url(server.url + "/openapi.json")
    method, path = operation.split(" ")
    found = [r.ok() for r in schema.get_all_operations() if r.ok().method.upper() == method and r.ok().path == path]
    assert found, f"{operation} is not in the OpenAPI document"

    from schemathesis.specs.openapi.checks import positive_data_acceptance

    @given(case=found[0].as_strategy())
    @FUZZ
    def run(case: Any) -> None:
        # every other default check as is; "schema-valid is accepted" below, where 422 (unknown join keys, rows
        # that do not fit a view: meaning the schema cannot carry) and 413 (the row limit) count as accepted
        response = case.call_and_validate(base_url=server.url, timeout=10, excluded_checks=[positive_data_acceptance])
        if case.meta is None or case.meta.generation.mode.is_positive:
            assert response.status_code != 400 or _ragged(case.body), (case.body, response.text)

    run()


# ---------------------------------------------------------------------------------- hypothesis bodies

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                    st.floats(allow_nan=False), st.text(max_size=20))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8),
                                                                                          inner, max_size=4),
                      max_leaves=20)
NAMES = st.sampled_from(["customer_id", "merchant_id", "txn_count_24h", "event_timestamp", "zz", ""])
COLUMNS = st.dictionaries(NAMES, st.lists(VALUES, min_size=0, max_size=3), max_size=4)
BODIES: dict[str, Any] = {
    "/get-online-features": st.fixed_dictionaries({"entities": st.one_of(COLUMNS, VALUES)}, optional={
        "features": st.one_of(st.lists(st.sampled_from(
            ["transaction_stats:txn_count_7d", "customer_demographics:age", "nope:x", "x"]), max_size=3), VALUES),
        "feature_service": st.one_of(st.sampled_from(["realtime_scoring", "risk_model", "nope"]), VALUES),
        "full_feature_names": VALUES, "precomputed": VALUES}),
    "/push": st.fixed_dictionaries({"push_source_name": st.one_of(
        st.sampled_from(["transaction_stats_push", "nope"]), VALUES), "df": st.one_of(COLUMNS, VALUES)},
        optional={"to": st.sampled_from(["online", "offline", "moon", 5])}),
    "/write-to-online-store": st.fixed_dictionaries({"feature_view_name": st.one_of(
        st.sampled_from(["customer_demographics", "merchant_stats", "nope"]), VALUES),
        "df": st.one_of(COLUMNS, VALUES)}),
}


def _ragged(body: Any) -> bool:
    """Entity lists of different lengths: JSON Schema cannot say "same length", so these stay a 400."""
    entities = body.get("entities") if isinstance(body, dict) else None
    return isinstance(entities, dict) and len({len(v) for v in entities.values() if isinstance(v, list)}) > 1


def check(r: requests.Response) -> None:
    assert r.status_code != 500 and r.status_code < 600, r.text[:500]
    if r.status_code >= 400:
        assert r.headers["content-type"].startswith("application/json"), r.text[:200]
        doc = r.json()
        assert set(doc) >= {"error", "detail"} and "Traceback" not in doc["detail"]


@pytest.mark.parametrize("path", sorted(BODIES))
def test_generated_bodies_never_break_the_server(server: ServerProcess, path: str) -> None:
    session = requests.Session()  # one keep-alive connection: a dropped connection fails the request

    @given(doc=BODIES[path], raw=st.booleans())
    @FUZZ
    def run(doc: Any, raw: bool) -> None:
        try:
            body = orjson.dumps(doc)
        except TypeError:  # integers over 64 bits: send them as JSON text anyway
            import json

            body = json.dumps(doc).encode()
        headers = {"Content-Type": "application/json" if not raw else "text/plain"}
        check(session.post(server.url + path, data=body, headers=headers, timeout=10))

    run()
    session.close()


@given(body=st.binary(max_size=200), method=st.sampled_from(["POST", "GET", "PUT", "HEAD", "DELETE", "OPTIONS"]),
       path=st.sampled_from(["/get-online-features", "/push", "/health", "/metrics", "/nope", "/ping"]))
@FUZZ
def test_arbitrary_bytes_and_methods_get_json_answers(server: ServerProcess, body: bytes, method: str,
                                                      path: str) -> None:
    r = requests.request(method, server.url + path, data=body, headers={"Content-Type": "application/json"},
                         timeout=10)
    if method == "HEAD":  # no body by definition; the status and the headers are the GET's
        assert r.status_code != 500 and r.headers["content-type"]
    else:
        check(r)
    if r.status_code == 405:
        assert r.headers["allow"]
