"""A precomputed service whose vector layout changes (its views reordered, or a projection's features reordered).

The vector lays out views in service order and features in projection order, so such a change must change the
service's fingerprint: until the vectors are rebuilt, precomputed reads say so (409 ``VectorsNotBuiltError`` from
the server, the same class in Python) and never answer NOT_FOUND for data that is online; after a rebuild they
equal direct reads again (`materialize-incremental`, which used to write 0 vectors, now rebuilds stale ones
whole). Real processes: a redis-server and a two-worker feature server that refreshes its
registry every 0.5 s.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

import fsnb
from fsnb.errors import VectorsNotBuiltError
from tests.e2e.test_server_support import ServerProcess
from tests.servers import RedisServer

pytestmark = [pytest.mark.server, pytest.mark.redis]

BANKING_CUSTOMERS = 60
SERVICE = "layout_probe"
IDS = list(range(1, 21))
DEMOGRAPHICS = ["age", "credit_score", "annual_income"]
TRANSACTIONS = ["txn_count_24h", "txn_count_7d", "declined_ratio_7d"]


@pytest.fixture(scope="module")
def server(repo: Path, redis: RedisServer) -> Iterator[ServerProcess]:
    with ServerProcess(repo, redis.url, workers=2, args=["--registry-ttl", "0.5"]) as s:
        yield s


def service(store: fsnb.Store, *, views_swapped: bool = False, features_swapped: bool = False) -> fsnb.FeatureService:
    demographics = store.get_feature_view("customer_demographics")
    transactions = store.get_feature_view("transaction_stats")
    names = DEMOGRAPHICS[::-1] if features_swapped else DEMOGRAPHICS
    parts = [demographics[names], transactions[TRANSACTIONS]]
    return fsnb.FeatureService(SERVICE, parts[::-1] if views_swapped else parts, precompute_online=True)


def read(server: ServerProcess, *, precomputed: bool) -> requests.Response:
    body = {"feature_service": SERVICE, "entities": {"customer_id": IDS}, "precomputed": precomputed}
    return requests.post(server.url + "/get-online-features", json=body, timeout=10)


def columns(doc: dict[str, Any]) -> dict[str, tuple[list[Any], list[str]]]:
    names = doc["metadata"]["feature_names"]
    return {n: (r["values"], r["statuses"]) for n, r in zip(names, doc["results"])}


def wait_for_statuses(server: ServerProcess, want: int, *, precomputed: bool = True) -> list[requests.Response]:
    """Reads until every answer (both workers: several in a row) has status ``want``; the answers of the last round."""
    deadline = time.monotonic() + 20
    answers: list[requests.Response] = []
    while time.monotonic() < deadline:
        answers = [read(server, precomputed=precomputed) for _ in range(6)]
        if {a.status_code for a in answers} == {want}:
            return answers
        time.sleep(0.2)
    raise AssertionError(f"still {[a.status_code for a in answers]} (want {want}): {answers[-1].text[:300]}")


def assert_precomputed_equals_direct(server: ServerProcess) -> None:
    """Precomputed reads through the server come to equal direct ones (a worker still holding the previous
    registry snapshot may need its next registry refresh or marker check first) and hold real values."""
    deadline = time.monotonic() + 20
    while True:
        pre, direct = read(server, precomputed=True), read(server, precomputed=False)
        if pre.status_code == direct.status_code == 200 and columns(pre.json()) == columns(direct.json()):
            break
        if time.monotonic() > deadline:
            assert (pre.status_code, direct.status_code) == (200, 200), pre.text[:300]
            assert columns(pre.json()) == columns(direct.json())
        time.sleep(0.2)
    statuses = {s for name, (_, ss) in columns(pre.json()).items() if name != "customer_id" for s in ss}
    assert statuses <= {"PRESENT", "NULL_VALUE", "OUTSIDE_MAX_AGE"} and "PRESENT" in statuses


def assert_vectors_need_a_rebuild(server: ServerProcess, direct: fsnb.Store) -> None:
    for answer in wait_for_statuses(server, 409):
        doc = answer.json()
        assert answer.headers["content-type"].startswith("application/json")
        assert doc["error"] == "VectorsNotBuiltError" and SERVICE in doc["detail"]
    with pytest.raises(VectorsNotBuiltError, match=SERVICE):
        direct.get_online_features(SERVICE, {"customer_id": IDS}, precomputed=True)
    assert read(server, precomputed=False).status_code == 200  # direct reads are unaffected


@pytest.mark.parametrize("change", ["views_swapped", "features_swapped"])
def test_a_layout_change_makes_precomputed_reads_ask_for_a_rebuild_never_not_found(
    server: ServerProcess, direct: fsnb.Store, change: str, caplog: pytest.LogCaptureFixture
) -> None:
    before = service(direct)
    direct.apply(before)
    direct.build_vectors(SERVICE, progress=False)
    assert_precomputed_equals_direct(server)

    after = service(direct, **{change: True})
    assert after.fingerprint() != before.fingerprint()
    with caplog.at_level(logging.WARNING, logger="fsnb.registry"):
        direct.apply(after)
    assert f"feature service {SERVICE!r}" in caplog.text and "VectorsNotBuiltError" in caplog.text
    assert_vectors_need_a_rebuild(server, direct)

    if change == "views_swapped":  # the reproduction's `fsnb materialize-incremental now` rebuilds stale vectors whole
        direct.materialize_incremental(datetime.now(UTC), progress=False)
    else:
        direct.build_vectors(SERVICE, progress=False)
    assert_precomputed_equals_direct(server)
    got = direct.get_online_features(SERVICE, {"customer_id": IDS}, precomputed=True)
    want = direct.get_online_features(SERVICE, {"customer_id": IDS}, precomputed=False)
    assert got.to_dict() == want.to_dict() and got.statuses == want.statuses
    direct.apply(before)  # back to the first layout for the next case (its vectors are rebuilt there)
    direct.build_vectors(SERVICE, progress=False)


def test_a_push_by_a_server_on_the_previous_layout_never_strands_the_entity(
    repo: Path, redis: RedisServer, direct: fsnb.Store
) -> None:
    name = "layout_probe_stale_writer"
    demographics = direct.get_feature_view("customer_demographics")
    transactions = direct.get_feature_view("transaction_stats")
    parts = [demographics[DEMOGRAPHICS], transactions[TRANSACTIONS]]
    first = fsnb.FeatureService(name, parts, precompute_online=True)
    swapped = fsnb.FeatureService(name, parts[::-1], precompute_online=True)
    direct.apply(first)
    direct.build_vectors(name, progress=False)
    # a server that loaded the first layout and does not refresh its registry during the test
    with ServerProcess(repo, redis.url, workers=1, args=["--registry-ttl", "100000"]) as stale:
        direct.apply(swapped)
        direct.build_vectors(name, progress=False)  # `fsnb apply && fsnb materialize` elsewhere
        df = {"customer_id": [7], "txn_count_24h": [4242], "txn_count_7d": [2], "txn_amount_sum_24h": [3.0],
              "txn_amount_avg_7d": [4.0], "txn_amount_max_7d": [5.0], "declined_ratio_7d": [0.5],
              "foreign_txn_ratio_30d": [0.25], "chargeback_count_90d": [0],
              "event_timestamp": [datetime.now(UTC).isoformat()]}
        pushed = requests.post(stale.url + "/push", timeout=10,
                               json={"push_source_name": "transaction_stats_push", "df": df})
        assert pushed.status_code == 200 and pushed.json()["written"] == 1
    ids = {"customer_id": [7, 8]}
    want = direct.get_online_features(name, ids, precomputed=False)
    assert want.to_dict()["txn_count_24h"][0] == 4242
    got = direct.get_online_features(name, ids, precomputed=True)
    assert (got.to_dict(), got.statuses) == (want.to_dict(), want.statuses)
