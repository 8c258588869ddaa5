"""Rows pushed through the remote client (``online_store: {type: remote}``) against a real feature server.

They must land exactly as a local push lands them: an integer event timestamp is epoch seconds (it used to be read
as nanoseconds over HTTP and the row dropped as older while the answer said ok), the answer counts the rows written
and ignored, NaN means missing on every read path, and ±inf is kept (or refused), never turned into a missing value.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import requests

import fsnb
from fsnb.errors import DataValidationError
from tests.e2e.test_server_support import ServerProcess
from tests.servers import RedisServer

pytestmark = [pytest.mark.server, pytest.mark.redis]

BANKING_CUSTOMERS = 40
SOURCE = "transaction_stats_push"
FLOATS = ["txn_amount_sum_24h", "txn_amount_avg_7d", "txn_amount_max_7d", "declined_ratio_7d"]


@pytest.fixture(scope="module")
def server(repo: Path, redis: RedisServer) -> Iterator[ServerProcess]:
    with ServerProcess(repo, redis.url, workers=2) as s:
        yield s


@pytest.fixture(scope="module")
def remote(repo: Path, server: ServerProcess) -> Iterator[fsnb.Store]:
    with fsnb.Store(repo, online_store={"type": "remote", "path": server.url}) as store:
        yield store


def frame(customer: int, count: int, when: Any, **floats: float) -> pd.DataFrame:
    values = {"txn_amount_sum_24h": 3.0, "txn_amount_avg_7d": 4.0, "txn_amount_max_7d": 5.0, "declined_ratio_7d": 0.5,
              **floats}
    return pd.DataFrame({
        "customer_id": [customer], "txn_count_24h": [count], "txn_count_7d": [2],
        **{k: [v] for k, v in values.items() if k != "declined_ratio_7d"},
        "declined_ratio_7d": np.float32([values["declined_ratio_7d"]]), "foreign_txn_ratio_30d": np.float32([0.25]),
        "chargeback_count_90d": [0], "event_timestamp": [when],
    })


def every_path(server: ServerProcess, remote: fsnb.Store, direct: fsnb.Store, customer: int,
               names: list[str]) -> dict[str, list[tuple[Any, str]]]:
    """(value, status) per feature as the Python API, the server's JSON, its Arrow stream and the remote client
    read them."""
    features = [f"transaction_stats:{n}" for n in names]
    rows = [{"customer_id": customer}]
    out: dict[str, list[tuple[Any, str]]] = {}
    for label, store in (("python", direct), ("remote", remote)):
        r = store.get_online_features(features, rows)
        out[label] = [(r.to_dict()[n][0], r.statuses[n][0]) for n in names]
    body = {"features": features, "entities": {"customer_id": [customer]}}
    doc = requests.post(server.url + "/get-online-features", json=body, timeout=10).json()
    out["json"] = [(r["values"][0], r["statuses"][0]) for r in doc["results"][1:]]
    arrow = requests.post(server.url + "/get-online-features", json=body, timeout=10,
                          headers={"Accept": "application/vnd.apache.arrow.stream"})
    table = pa.ipc.open_stream(arrow.content).read_all().to_pydict()
    out["arrow"] = [(table[f"v{i}"][0], table[f"s{i}"][0]) for i in range(1, len(names) + 1)]
    return out


def test_an_integer_event_timestamp_pushed_remotely_is_epoch_seconds_and_counted(
    remote: fsnb.Store, direct: fsnb.Store
) -> None:
    now = int(time.time())
    result = remote.push(SOURCE, frame(11, 777, now))
    assert (result, result.written, result.ignored) == (1, 1, 0)
    r = direct.get_online_features(["transaction_stats:txn_count_24h"], [{"customer_id": 11}])
    assert r.to_dict()["txn_count_24h"] == [777] and r.statuses["txn_count_24h"] == ["PRESENT"]
    assert r.event_timestamps["txn_count_24h"][0] == datetime.fromtimestamp(now, UTC)

    older = remote.push(SOURCE, frame(11, 778, now - 3600))  # older than what is stored: ignored, and said so
    assert (older, older.written, older.ignored) == (1, 0, 1)
    assert direct.get_online_features(["transaction_stats:txn_count_24h"],
                                      [{"customer_id": 11}]).to_dict()["txn_count_24h"] == [777]


@pytest.mark.parametrize("via", ["local", "remote"])
def test_a_pushed_nan_is_missing_on_every_read_path(
    server: ServerProcess, remote: fsnb.Store, direct: fsnb.Store, via: str
) -> None:
    customer = 12 if via == "local" else 13
    store = direct if via == "local" else remote
    store.push(SOURCE, frame(customer, 5, pd.Timestamp.now(tz="UTC"), txn_amount_sum_24h=np.nan,
                             declined_ratio_7d=np.nan))
    got = every_path(server, remote, direct, customer, ["txn_count_24h", "txn_amount_sum_24h", "declined_ratio_7d"])
    want = [(5, "PRESENT"), (None, "NULL_VALUE"), (None, "NULL_VALUE")]
    assert got == {path: want for path in ("python", "remote", "json", "arrow")}


def test_infinities_pushed_locally_read_the_same_on_every_path(
    server: ServerProcess, remote: fsnb.Store, direct: fsnb.Store
) -> None:
    direct.push(SOURCE, frame(14, 6, pd.Timestamp.now(tz="UTC"), txn_amount_avg_7d=np.inf,
                              txn_amount_max_7d=-np.inf, declined_ratio_7d=np.inf))
    got = every_path(server, remote, direct, 14, ["txn_amount_avg_7d", "txn_amount_max_7d", "declined_ratio_7d"])
    assert got["python"] == [(np.inf, "PRESENT"), (-np.inf, "PRESENT"), (np.inf, "PRESENT")]
    assert got["remote"] == got["arrow"] == got["python"]
    assert got["json"] == [("Infinity", "PRESENT"), ("-Infinity", "PRESENT"), ("Infinity", "PRESENT")]


@pytest.mark.parametrize("call", ["push", "write_to_online_store"])
def test_infinities_written_remotely_are_kept_or_refused_never_nulled(
    remote: fsnb.Store, direct: fsnb.Store, call: str
) -> None:
    customer = 15 if call == "push" else 16
    rows = frame(customer, 7, pd.Timestamp.now(tz="UTC") + timedelta(seconds=1), txn_amount_avg_7d=np.inf)
    try:
        if call == "push":
            remote.push(SOURCE, rows)
        else:
            remote.write_to_online_store("transaction_stats", rows)
    except DataValidationError as e:  # refusing is acceptable: nothing is stored
        assert "txn_amount_avg_7d" in str(e)
        return
    r = direct.get_online_features(["transaction_stats:txn_amount_avg_7d"], [{"customer_id": customer}])
    assert (r.to_dict()["txn_amount_avg_7d"], r.statuses["txn_amount_avg_7d"]) == ([np.inf], ["PRESENT"])
