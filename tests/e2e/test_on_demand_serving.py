"""On-demand views through the feature server (``python -m fsnb.server``, real gunicorn/uvicorn workers, real Redis)
and the remote client, on Feast's driver quickstart (``examples/feast_driver_quickstart``): the same values as the
training set for the same driver, time and request data, in both modes, direct and precomputed; a read whose
function raises or whose request data is missing or does not fit answers 422 naming the view, never 500."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests

import fsnb
from fsnb import errors as E
from fsnb.serving.remote import RemoteServing
from fsnb.serving.response import OnlineResponse
from tests.e2e.test_server_support import ServerProcess
from tests.integration.test_on_demand_feast_quickstart import (
    FAILING,
    FINE,
    MODES,
    PRECOMPUTED,
    STORED,
    assert_columns_equal,
    failing_objects,
    offline_as_dict,
    online_rows,
    request_only_view,
    request_rows,
    write_repo,
)
from tests.servers import RedisServer

pytestmark = [pytest.mark.server, pytest.mark.redis]


@pytest.fixture(scope="module")
def quickstart_repo(tmp_path_factory: pytest.TempPathFactory, redis: RedisServer) -> Path:
    """The quickstart repo (plus the views whose functions raise on some inputs), applied and materialized."""
    path = tmp_path_factory.mktemp("driver-quickstart")
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    write_repo(path, end)
    with fsnb.Store(path, online_store=redis.url) as store:
        defs = fsnb.load_definitions(path)
        store.apply([*defs, *failing_objects(defs), request_only_view(defs)])
        store.materialize_incremental(datetime.now(UTC), progress=False)
    return path


@pytest.fixture(scope="module")
def server(quickstart_repo: Path, redis: RedisServer) -> Iterator[ServerProcess]:
    with ServerProcess(quickstart_repo, redis.url, workers=2) as s:
        yield s


@pytest.fixture(scope="module")
def direct(quickstart_repo: Path, redis: RedisServer) -> Iterator[fsnb.Store]:
    with fsnb.Store(quickstart_repo, online_store=redis.url) as store:
        yield store


@pytest.fixture(scope="module")
def remote(quickstart_repo: Path, server: ServerProcess) -> Iterator[fsnb.Store]:
    with fsnb.Store(quickstart_repo, online_store={"type": "remote", "path": server.url}) as store:
        yield store


def post(server: ServerProcess, body: dict[str, Any]) -> requests.Response:
    return requests.post(server.url + "/get-online-features", json=body, timeout=10)


def rest_columns(doc: dict[str, Any]) -> dict[str, list[Any]]:
    return {name: r["values"] for name, r in zip(doc["metadata"]["feature_names"], doc["results"], strict=True)}


def training(direct: fsnb.Store, service: str, rows: pd.DataFrame) -> pd.DataFrame:
    return direct.get_historical_features(rows.assign(event_timestamp=pd.Timestamp(datetime.now(UTC))),
                                          service).to_df()


def assert_same(a: OnlineResponse, b: OnlineResponse) -> None:
    """Equal names, dtypes, values, statuses and event times, and equal DataFrames."""
    assert a.feature_names == b.feature_names
    assert a.dtypes == b.dtypes
    for ca, cb in zip(a.iter_columns(), b.iter_columns(), strict=True):
        assert ca == cb, ca[0]
    pd.testing.assert_frame_equal(a.to_df(), b.to_df())


# ------------------------------------------------------------------------------------- training = served


def test_a_view_of_request_data_alone_is_served_over_rest_and_the_remote_client(
        server: ServerProcess, remote: fsnb.Store) -> None:
    entities = {"val_to_add": [1, 5, None], "val_to_add_2": [2, 10, 3]}
    r = post(server, {"features": ["request_totals:val_sum"], "entities": entities})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["metadata"]["feature_names"] == ["val_sum"] and doc["metadata"]["join_keys"] == 0
    assert rest_columns(doc) == {"val_sum": [3, 15, None]}
    assert doc["results"][0]["statuses"] == ["PRESENT", "PRESENT", "NULL_VALUE"]
    assert remote.get_online_features(["request_totals:val_sum"], entities).to_dict() == {"val_sum": [3, 15, None]}
    missing = post(server, {"features": ["request_totals:val_sum"], "entities": {"val_to_add": [1]}})
    assert missing.status_code == 422 and "val_to_add_2" in missing.text



@pytest.mark.parametrize("mode", ["pandas", "python"])
def test_rest_reads_equal_the_training_set(server: ServerProcess, direct: fsnb.Store, mode: str) -> None:
    service, on_demand = MODES[mode]
    rows = request_rows()
    columns = ["driver_id", *STORED, *on_demand]
    want = offline_as_dict(training(direct, service, rows), columns)
    entities = {k: [r[k] for r in online_rows(rows)] for k in rows.columns}
    view = "transformed_conv_rate" + "_python" * (mode == "python")
    bodies = {
        "service": {"feature_service": service, "entities": entities},
        "features": {"features": [f"driver_hourly_stats:{f}" for f in STORED] + [f"{view}:{f}" for f in on_demand],
                     "entities": entities},
        "precomputed": {"feature_service": PRECOMPUTED, "entities": entities, "precomputed": True},
        "precomputed service, direct": {"feature_service": PRECOMPUTED, "entities": entities, "precomputed": False},
    }
    for how, body in bodies.items():
        r = post(server, body)
        assert r.status_code == 200, (how, r.text)
        doc = r.json()
        got = rest_columns(doc)
        assert_columns_equal({c: got[c] for c in columns}, want, f"REST, {mode} mode, {how}")
        dtypes = dict(zip(doc["metadata"]["feature_names"], doc["metadata"]["dtypes"], strict=True))
        assert [dtypes[c] for c in on_demand] == ["float64", "float64"]
        assert dtypes["conv_rate"] == "float32"
        statuses = {name: r["statuses"] for name, r in zip(doc["metadata"]["feature_names"], doc["results"])}
        for c in on_demand:
            assert statuses[c] == ["PRESENT" if v is not None else "NULL_VALUE" for v in want[c]], (how, c)
    # the document is the direct read's: names, dtypes, values, statuses and event times (of the on-demand
    # columns too: the newest of their source views')
    from fsnb.wire import event_time_texts

    doc = post(server, bodies["service"]).json()
    expected = direct.get_online_features(service, online_rows(rows))
    assert doc["metadata"]["feature_names"] == expected.feature_names
    assert doc["metadata"]["dtypes"] == [d.name for d in expected.dtypes.values()]
    for result, (name, values, statuses, timestamps) in zip(doc["results"], expected.iter_columns(), strict=True):
        assert result["statuses"] == statuses, name
        assert result["event_timestamps"] == event_time_texts(timestamps), name
        assert_columns_equal({name: result["values"]}, {name: values}, f"REST vs direct, {name}")


@pytest.mark.parametrize("mode", ["pandas", "python"])
def test_remote_client_reads_equal_the_training_set_and_direct_reads(
    server: ServerProcess, direct: fsnb.Store, remote: fsnb.Store, mode: str
) -> None:
    service, on_demand = MODES[mode]
    rows = request_rows()
    columns = ["driver_id", *STORED, *on_demand]
    want = offline_as_dict(training(direct, service, rows), columns)
    entity_rows = online_rows(rows)
    client = RemoteServing.at(server.url)
    try:
        reads: dict[str, tuple[OnlineResponse, OnlineResponse]] = {
            "sync": (remote.get_online_features(service, entity_rows),
                     direct.get_online_features(service, entity_rows)),
            "sync, DataFrame": (remote.get_online_features(service, rows),
                                direct.get_online_features(service, rows)),
            "async": (asyncio.run(remote.get_online_features_async(service, entity_rows)),
                      asyncio.run(direct.get_online_features_async(service, entity_rows))),
            "precomputed": (remote.get_online_features(PRECOMPUTED, entity_rows, precomputed=True),
                            direct.get_online_features(PRECOMPUTED, entity_rows, precomputed=True)),
            "precomputed=False": (remote.get_online_features(PRECOMPUTED, entity_rows, precomputed=False),
                                  direct.get_online_features(PRECOMPUTED, entity_rows, precomputed=False)),
            "RemoteServing": (client.read(service, entity_rows), direct.get_online_features(service, entity_rows)),
        }
    finally:
        client.close()
    for how, (got, expected) in reads.items():
        values = got.to_dict()
        assert_columns_equal({c: values[c] for c in columns}, want, f"remote, {mode} mode, {how}")
        assert_same(got, expected)
        for c in on_demand:
            assert got.to_df()[c].dtype == "float64", (how, c)


# ------------------------------------------------------------------------------------------------ errors


def assert_422_naming(r: requests.Response, error: str, view: str) -> None:
    assert r.status_code == 422, r.text
    doc = r.json()
    assert doc["error"] == error, doc
    assert view in doc["detail"], doc


@pytest.mark.parametrize(("service", "view"), [("driver_activity_v2", "transformed_conv_rate"),
                                               ("driver_activity_python", "transformed_conv_rate_python"),
                                               (PRECOMPUTED, "transformed_conv_rate")])
def test_missing_request_data_answers_422_naming_the_view(
    server: ServerProcess, direct: fsnb.Store, remote: fsnb.Store, service: str, view: str
) -> None:
    for entities in [{"driver_id": [1001]}, {"driver_id": [1001], "val_to_add": [1]}]:
        assert_422_naming(post(server, {"feature_service": service, "entities": entities}),
                          "MissingRequestDataError", view)
    rows = [{"driver_id": 1001, "val_to_add": 1}]
    with pytest.raises(E.MissingRequestDataError) as got:
        remote.get_online_features(service, rows)
    with pytest.raises(E.MissingRequestDataError) as want:
        direct.get_online_features(service, rows)
    assert str(got.value) == str(want.value)
    assert view in str(got.value)


@pytest.mark.parametrize("value", ["one", 1.5, [1], {"a": 1}])
def test_request_data_that_does_not_fit_answers_422(server: ServerProcess, value: object) -> None:
    entities = {"driver_id": [1001], "val_to_add": [value], "val_to_add_2": [2]}
    for service, view in [("driver_activity_v2", "transformed_conv_rate"),
                          ("driver_activity_python", "transformed_conv_rate_python")]:
        r = post(server, {"feature_service": service, "entities": entities})
        assert_422_naming(r, "MissingRequestDataError", view)
        assert "val_to_add" in r.json()["detail"]


@pytest.mark.parametrize("value", [2**63, 2**70])
def test_request_data_outside_int64_answers_422_not_500(server: ServerProcess, value: int) -> None:
    entities = {"driver_id": [1001], "val_to_add": [value], "val_to_add_2": [2]}
    for service, view in [("driver_activity_v2", "transformed_conv_rate"),
                          ("driver_activity_python", "transformed_conv_rate_python")]:
        r = post(server, {"feature_service": service, "entities": entities})
        assert_422_naming(r, "MissingRequestDataError", view)
        assert "int64" in r.json()["detail"], r.text


@pytest.mark.parametrize(("service", "precomputed"), [("failing_direct", False), ("failing_precomputed", True)])
def test_a_function_that_raises_answers_422_naming_the_view(
    server: ServerProcess, direct: fsnb.Store, remote: fsnb.Store, service: str, precomputed: bool
) -> None:
    ok = post(server, {"feature_service": service, "precomputed": precomputed,
                       "entities": {k: [r[k] for r in FINE] for k in FINE[0]}})
    assert ok.status_code == 200, ok.text
    for rows, view, cause in FAILING:
        entities = {k: [r[k] for r in rows] for k in rows[0]}
        r = post(server, {"feature_service": service, "entities": entities, "precomputed": precomputed})
        assert_422_naming(r, "TransformError", view)
        assert cause.split(":")[0] in r.json()["detail"]
        with pytest.raises(E.TransformError) as got:
            remote.get_online_features(service, rows, precomputed=precomputed)
        with pytest.raises(E.TransformError) as want:
            direct.get_online_features(service, rows, precomputed=precomputed)
        assert str(got.value) == str(want.value)
        with pytest.raises(E.TransformError, match=view):
            asyncio.run(remote.get_online_features_async(service, rows, precomputed=precomputed))
    # the workers still answer after the errors
    again = post(server, {"feature_service": service, "precomputed": precomputed,
                          "entities": {k: [r[k] for r in FINE] for k in FINE[0]}})
    assert again.status_code == 200 and again.json() == ok.json()
