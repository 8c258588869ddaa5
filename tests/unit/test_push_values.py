"""Pushed values: checked as reads check them, one timestamp rule, and counts of rows written and ignored.

Over the feature server's JSON (the app in process, ASGI calls) and through the Python API, on a SQLite banking
store.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest

import fsnb
from fsnb.errors import DataValidationError

JSON = [(b"content-type", b"application/json")]
SOURCE = "transaction_stats_push"


class Client:
    """Sends one ASGI request at a time to the app, on its own event loop."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()

    def post(self, path: str, doc: Any) -> tuple[int, Any]:
        messages = [{"type": "http.request", "body": json.dumps(doc).encode(), "more_body": False}]
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": path, "headers": JSON, "client": ("127.0.0.1", 1)}
        self.loop.run_until_complete(self.app(scope, receive, send))
        return sent[0]["status"], orjson.loads(sent[-1]["body"])


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[fsnb.Store]:
    from fsnb.examples.banking import init_repo
    from fsnb.registry.repo import load_definitions

    repo: Path = tmp_path_factory.mktemp("banking")
    init_repo(repo, customers=20, force=True)
    with fsnb.Store(repo, online_store=str(repo / "online.db")) as s:
        s.apply(load_definitions(repo))
        yield s


@pytest.fixture(scope="module")
def client(store: fsnb.Store) -> Iterator[Client]:
    from fsnb.server.app import create_app

    app = create_app(store, freeze_gc=False)
    c = Client(app)
    c.loop.run_until_complete(app.startup())
    yield c
    c.loop.run_until_complete(app.shutdown())
    c.loop.close()


def _row(customer: Any, count: Any = 7, when: Any = None, ratio: Any = 0.5) -> dict[str, list[Any]]:
    return {"customer_id": [customer], "txn_count_24h": [count], "txn_count_7d": [2], "txn_amount_sum_24h": [3.0],
            "txn_amount_avg_7d": [4.0], "txn_amount_max_7d": [5.0], "declined_ratio_7d": [ratio],
            "foreign_txn_ratio_30d": [0.25], "chargeback_count_90d": [0],
            "event_timestamp": [datetime.now(UTC).isoformat() if when is None else when]}


def _count(store: fsnb.Store, customer: int) -> tuple[Any, str]:
    r = store.get_online_features(["transaction_stats:txn_count_24h"], [{"customer_id": customer}])
    return r.to_dict()["txn_count_24h"][0], r.statuses["txn_count_24h"][0]


def _push(client: Client, df: dict[str, list[Any]]) -> tuple[int, Any]:
    return client.post("/push", {"push_source_name": SOURCE, "df": df})


@pytest.mark.parametrize(("column", "value"), [("customer_id", True), ("customer_id", "35"), ("customer_id", 35.0),
                                               ("txn_count_24h", True), ("txn_count_24h", "4"),
                                               ("txn_amount_sum_24h", False)])
def test_push_refuses_json_values_that_reads_refuse(client: Client, store: fsnb.Store, column: str,
                                                    value: Any) -> None:
    before = [_count(store, 1), _count(store, 35)]
    df = _row(1, count=4242)
    df[column] = [value]
    status, doc = _push(client, df)
    assert status == 422 and doc["error"] == "DataValidationError"
    assert repr(value) in doc["detail"] and column in doc["detail"]
    assert [_count(store, 1), _count(store, 35)] == before  # `true` used to land on customer 1


def test_an_integer_event_timestamp_means_epoch_seconds_over_json_and_in_python(client: Client,
                                                                               store: fsnb.Store) -> None:
    now = int(time.time())
    status, doc = _push(client, _row(2, count=777, when=now))
    assert status == 200 and (doc["rows"], doc["written"], doc["ignored"]) == (1, 1, 0)
    r = store.get_online_features(["transaction_stats:txn_count_24h"], [{"customer_id": 2}])
    assert r.to_dict()["txn_count_24h"] == [777]
    assert r.event_timestamps["txn_count_24h"][0] == datetime.fromtimestamp(now, UTC)
    frame = pd.DataFrame(_row(3, count=778, when=now)).astype({"declined_ratio_7d": "float32",
                                                                "foreign_txn_ratio_30d": "float32"})
    store.push(SOURCE, frame)
    r = store.get_online_features(["transaction_stats:txn_count_24h"], [{"customer_id": 3}])
    assert r.event_timestamps["txn_count_24h"][0] == datetime.fromtimestamp(now, UTC)


def test_a_push_says_how_many_rows_were_ignored_as_older(client: Client, store: fsnb.Store) -> None:
    now = datetime.now(UTC)
    assert _push(client, _row(4, count=1, when=now.isoformat()))[1]["written"] == 1
    status, doc = _push(client, _row(4, count=2, when=(now - timedelta(hours=1)).isoformat()))
    assert status == 200 and (doc["rows"], doc["written"], doc["ignored"]) == (1, 0, 1)
    assert _count(store, 4) == (1, "PRESENT")
    frame = pd.DataFrame(_row(4, count=3, when=now - timedelta(hours=2))).astype(
        {"declined_ratio_7d": "float32", "foreign_txn_ratio_30d": "float32"})
    result = store.push(SOURCE, frame)
    assert (result, result.written, result.ignored) == (1, 0, 1)


def test_a_float32_value_beyond_its_range_is_refused_not_stored_as_infinity(client: Client,
                                                                          store: fsnb.Store) -> None:
    status, doc = _push(client, _row(5, ratio=1e300))
    assert status == 422 and "float32" in doc["detail"] and "declined_ratio_7d" in doc["detail"]
    frame = pd.DataFrame(_row(5, when=datetime.now(UTC))).astype({"foreign_txn_ratio_30d": "float32"})
    frame["declined_ratio_7d"] = np.float64(1e300)
    with pytest.raises(DataValidationError, match="float32"):
        store.push(SOURCE, frame)
    assert _count(store, 5)[1] == "NOT_FOUND"


def test_pushed_infinities_read_back_the_same_over_json_and_through_the_remote_decoder(
    client: Client, store: fsnb.Store
) -> None:
    from fsnb import wire

    frame = pd.DataFrame(_row(6, when=datetime.now(UTC))).astype({"foreign_txn_ratio_30d": "float32"})
    frame["txn_amount_avg_7d"] = np.inf
    frame["txn_amount_max_7d"] = -np.inf
    frame["declined_ratio_7d"] = np.float32(np.inf)
    store.push(SOURCE, frame)
    features = ["transaction_stats:txn_amount_avg_7d", "transaction_stats:txn_amount_max_7d",
                "transaction_stats:declined_ratio_7d"]
    local = store.get_online_features(features, [{"customer_id": 6}])
    assert local.to_dict()["txn_amount_avg_7d"] == [np.inf]
    status, doc = client.post("/get-online-features", {"features": features, "entities": {"customer_id": [6]}})
    assert status == 200
    assert [(r["values"], r["statuses"]) for r in doc["results"][1:]] == [
        (["Infinity"], ["PRESENT"]), (["-Infinity"], ["PRESENT"]), (["Infinity"], ["PRESENT"])]
    columns, _ = wire.decode_json(doc)
    names = ("txn_amount_avg_7d", "txn_amount_max_7d", "declined_ratio_7d")
    assert [(c[2], c[3]) for c in columns[1:]] == [(local.to_dict()[n], local.statuses[n]) for n in names]


def test_rows_dated_beyond_the_future_horizon_are_refused_so_they_cannot_pin_an_entity(
    client: Client, store: fsnb.Store
) -> None:
    status, doc = _push(client, _row(8, count=999, when="2999-01-01T00:00:00Z"))
    assert status == 422 and "in the future" in doc["detail"] and "max_future_seconds" in doc["detail"]
    frame = pd.DataFrame(_row(8, count=999, when=datetime(2300, 1, 1, tzinfo=UTC))).astype(
        {"declined_ratio_7d": "float32", "foreign_txn_ratio_30d": "float32"})
    for to in ("online", "offline"):
        with pytest.raises(DataValidationError, match="in the future"):
            store.push(SOURCE, frame, to=to)
    status, doc = _push(client, _row(8, count=5, when=(datetime.now(UTC) + timedelta(minutes=5)).isoformat()))
    assert status == 200 and doc["written"] == 1  # clock skew within the horizon is fine
    assert _count(store, 8) == (5, "PRESENT")
