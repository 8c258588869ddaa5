"""The online-store conformance suite: the same behaviour from every backend in ``tests/online/backends/`` (Redis,
SQLite, and the test-only dict store that proves a backend plugs in through the table alone)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import fsnb
from fsnb import errors
from fsnb.online.writes import write_view_table
from tests.online.backends import BACKENDS, declared_gaps, load
from tests.unit.test_online_support import (
    ALL_TYPES_ROWS,
    activity,
    ago,
    all_types,
    all_types_table,
    balances,
    profile,
)

KINDS = BACKENDS
ALL_REFS = [f"all_types:{f.name}" for f in all_types.features]
PROFILE = ["profile:age", "profile:city", "profile:score"]


@pytest.fixture(params=KINDS)
def store(request: pytest.FixtureRequest) -> Iterator[fsnb.Store]:
    declared_gaps(request, request.param)
    s = load(request.param).make_store(request)
    yield s
    s.close()


def write_profile(store: fsnb.Store, rows: list[tuple[int, int | None, str | None, float | None, datetime]]) -> None:
    df = pd.DataFrame(rows, columns=["user_id", "age", "city", "score", "event_timestamp"])
    df["age"] = df["age"].astype("Int64")
    store.write_to_online_store("profile", df)


def write_activity(store: fsnb.Store, ids: list[int], ts: datetime) -> None:
    table = pa.table(
        {
            "user_id": pa.array(ids, pa.int64()),
            "clicks": pa.array([i * 10 for i in ids], pa.int32()),
            "active": pa.array([i % 2 == 0 for i in ids]),
            "tags": pa.array([[f"t{i}"] * (i % 3) for i in ids], pa.list_(pa.string())),
            "ratio": pa.array([i / 4 for i in ids], pa.float32()),
            "event_timestamp": pa.array([ts] * len(ids), pa.timestamp("us", tz="UTC")),
        }
    )
    write_view_table(store, activity, table, timestamp_column="event_timestamp")


def test_every_dtype_round_trips(store: fsnb.Store) -> None:
    rows = ALL_TYPES_ROWS()
    t = ago(minutes=5)
    write_view_table(store, all_types, all_types_table(rows, t), timestamp_column="event_timestamp")
    got = store.get_online_features(ALL_REFS, [{"user_id": r["user_id"]} for r in rows])
    d = got.to_dict()
    for name in [f.name for f in all_types.features]:
        want = [r[name] for r in rows]
        if name == "f32":
            want = [None if v is None else float(np.float32(v)) for v in want]
        assert d[name] == want, name
    assert d["user_id"] == [1, 2, 3]
    st = got.statuses
    assert st["i64"] == ["PRESENT", "NULL_VALUE", "PRESENT"]
    assert st["addr"] == ["PRESENT", "NULL_VALUE", "PRESENT"]
    assert got.event_timestamps["s"] == [t, t, t]
    df = got.to_df()
    assert list(df.columns) == ["user_id", *[f.name for f in all_types.features]]
    for f in all_types.features:
        assert df[f.name].dtype == f.dtype.pandas_dtype, f.name
    assert df["i64"].iloc[1] is pd.NA and df["i64"].iloc[0] == 2**40
    assert df["ts"].iloc[0] == pd.Timestamp(rows[0]["ts"])
    table = got.to_arrow()
    assert table.schema.field("ints").type == pa.list_(pa.int64())
    assert table.column("i32").to_pylist() == [-7, None, 2**31 - 1]


def test_a_column_with_every_value_missing_is_stored_as_nulls_for_every_dtype(store: fsnb.Store) -> None:
    # pandas gives a column of None no type: it must still mean "null" for arrays, maps and structs as for scalars
    frame = pd.DataFrame({"user_id": [7, 8], **{f.name: [None, None] for f in all_types.features},
                          "event_timestamp": [ago(minutes=1)] * 2})
    store.write_to_online_store(all_types, frame)
    got = store.get_online_features(ALL_REFS, [{"user_id": 7}, {"user_id": 8}])
    assert {n: v for n, v in got.to_dict().items() if n != "user_id" and v != [None, None]} == {}
    assert {n: s for n, s in got.statuses.items() if n != "user_id" and s != ["NULL_VALUE", "NULL_VALUE"]} == {}


def test_few_rows_and_many_rows_decoders_agree(store: fsnb.Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from fsnb.serving import decode

    write_view_table(store, all_types, all_types_table(ALL_TYPES_ROWS(), ago(minutes=5)),
                     timestamp_column="event_timestamp")
    write_profile(store, [(1, 30, "Porto", 1.5, ago(minutes=10)), (2, None, None, 2.5, ago(hours=2))])
    rows = {"user_id": [1, 2, 3, 4, 2]}
    results = []
    for small in (0, 1000):
        monkeypatch.setattr(decode, "SMALL_BATCH", small)
        results.append(store.get_online_features([*ALL_REFS, *PROFILE], rows))
    a, b = results
    assert a.to_dict() == b.to_dict()
    assert a.statuses == b.statuses and a.event_timestamps == b.event_timestamps
    pd.testing.assert_frame_equal(a.to_df(), b.to_df())
    assert a.to_arrow().equals(b.to_arrow())


def test_statuses_not_found_null_and_ttl(store: fsnb.Store) -> None:
    fresh, stale = ago(minutes=10), ago(hours=2)
    write_profile(store, [(1, 30, "Porto", 1.5, fresh), (2, None, None, 2.5, fresh), (3, 50, "Faro", 3.5, stale)])
    got = store.get_online_features(PROFILE, {"user_id": [1, 2, 3, 4]})
    assert got.to_dict() == {
        "user_id": [1, 2, 3, 4],
        "age": [30, None, None, None],
        "city": ["Porto", None, None, None],
        "score": [1.5, 2.5, None, None],
    }
    assert got.statuses["age"] == ["PRESENT", "NULL_VALUE", "OUTSIDE_MAX_AGE", "NOT_FOUND"]
    assert got.statuses["score"] == ["PRESENT", "PRESENT", "OUTSIDE_MAX_AGE", "NOT_FOUND"]
    ts = got.event_timestamps["age"]
    assert ts[:3] == [fresh, fresh, stale] and ts[3] is None


def test_older_write_is_ignored_and_newer_wins(store: fsnb.Store) -> None:
    t1, t2, t3 = ago(minutes=30), ago(minutes=20), ago(minutes=10)
    write_profile(store, [(1, 20, "new", 2.0, t2)])
    write_profile(store, [(1, 10, "old", 1.0, t1)])
    assert store.get_online_features(PROFILE, {"user_id": [1]}).to_dict()["city"] == ["new"]
    write_profile(store, [(1, 30, "newest", 3.0, t3)])
    assert store.get_online_features(PROFILE, {"user_id": [1]}).to_dict()["city"] == ["newest"]
    # within one batch, the newest row of an entity wins whatever the order
    write_profile(store, [(2, 2, "b-new", 2.0, t3), (2, 1, "b-old", 1.0, t1)])
    assert store.get_online_features(PROFILE, {"user_id": [2]}).to_dict()["city"] == ["b-new"]


def test_compound_and_typed_keys(store: fsnb.Store) -> None:
    t = ago(minutes=1)
    df = pd.DataFrame(
        {
            "tenant": ["a", "a", "b-longer-name", "1"],
            "account_no": [1, 2, 1, 1],
            "balance": [10.0, 20.0, 30.0, 40.0],
            "currency": ["EUR", "USD", "GBP", "CHF"],
            "event_timestamp": [t] * 4,
        }
    )
    store.write_to_online_store(balances, df)
    got = store.get_online_features(
        ["balances:balance", "balances:currency"],
        [{"account_no": 1, "tenant": "b-longer-name"}, {"tenant": "a", "account_no": 2},
         {"tenant": "1", "account_no": 1}, {"tenant": "c", "account_no": 1}],
    )
    assert got.to_dict() == {
        "account_no": [1, 2, 1, 1],
        "tenant": ["b-longer-name", "a", "1", "c"],
        "balance": [30.0, 20.0, 40.0, None],
        "currency": ["GBP", "USD", "CHF", None],
    }


def test_duplicate_entity_rows_and_input_shapes(store: fsnb.Store) -> None:
    write_profile(store, [(1, 30, "Porto", 1.5, ago(minutes=1)), (2, 40, "Braga", 2.5, ago(minutes=1))])
    ids = [2, 1, 2, 2, 9, 1]
    a = store.get_online_features(PROFILE, [{"user_id": i} for i in ids]).to_dict()
    b = store.get_online_features(PROFILE, {"user_id": ids}).to_dict()
    c = store.get_online_features(PROFILE, pd.DataFrame({"user_id": ids})).to_dict()
    d = store.get_online_features(PROFILE, {"user_id": np.array(ids)}).to_dict()
    assert a == b == c == d
    assert a["city"] == ["Braga", "Porto", "Braga", "Braga", None, "Porto"]


def test_multi_view_request_in_request_order_with_full_names(store: fsnb.Store) -> None:
    write_profile(store, [(1, 30, "Porto", 1.5, ago(minutes=1))])
    write_activity(store, [1, 2], ago(minutes=1))
    refs = ["activity:ratio", "profile:city", "activity:clicks"]
    got = store.get_online_features(refs, {"user_id": [1, 2]}, full_feature_names=True)
    assert got.feature_names == ["user_id", "activity__ratio", "profile__city", "activity__clicks"]
    assert got.to_dict() == {
        "user_id": [1, 2],
        "activity__ratio": [0.25, 0.5],
        "profile__city": ["Porto", None],
        "activity__clicks": [10, 20],
    }
    df = got.to_df()
    assert str(df["activity__clicks"].dtype) == "Int32" and str(df["activity__ratio"].dtype) == "float32"
    assert list(df.columns) == got.feature_names


def test_service_by_object_and_name(store: fsnb.Store) -> None:
    write_profile(store, [(1, 30, "Porto", 1.5, ago(minutes=1))])
    by_name = store.get_online_features("plain_service", {"user_id": [1]})
    from tests.unit.test_online_support import plain_service

    by_obj = store.get_online_features(plain_service, {"user_id": [1]})
    assert by_name.to_dict() == by_obj.to_dict()
    assert by_name.feature_names == ["user_id", "age", "city", "score", "clicks", "active", "tags", "ratio"]


def test_request_errors_before_io(store: fsnb.Store) -> None:
    with pytest.raises(errors.EmptyRequestError):
        store.get_online_features(PROFILE, [])
    with pytest.raises(errors.EmptyRequestError):
        store.get_online_features(PROFILE, {"user_id": []})
    with pytest.raises(errors.EmptyRequestError):
        store.get_online_features([], {"user_id": [1]})
    with pytest.raises(errors.FeatureViewNotFoundError, match="nope"):
        store.get_online_features(["nope:age"], {"user_id": [1]})
    with pytest.raises(errors.FeatureNotFoundError, match="height"):
        store.get_online_features(["profile:height"], {"user_id": [1]})
    with pytest.raises(errors.FeatureServiceNotFoundError):
        store.get_online_features("no_service", {"user_id": [1]})
    with pytest.raises(errors.MissingJoinKeyError, match="user_id"):
        store.get_online_features(PROFILE, {"customer_id": [1]})
    with pytest.raises(errors.ExtraJoinKeyError, match="extra"):
        store.get_online_features(PROFILE, {"user_id": [1], "extra": [2]})
    with pytest.raises(errors.JoinKeyTypeError, match="user_id"):
        store.get_online_features(PROFILE, {"user_id": ["1"]})
    with pytest.raises(errors.JoinKeyTypeError, match="user_id"):
        store.get_online_features(PROFILE, {"user_id": [*range(20), "x"]})
    with pytest.raises(errors.JoinKeyTypeError):
        store.get_online_features(PROFILE, {"user_id": [True]})
    with pytest.raises(errors.RequestError, match="twice"):
        store.get_online_features(["profile:age", "profile:age"], {"user_id": [1]})


def test_write_validation_names_the_column(store: fsnb.Store) -> None:
    good = pd.DataFrame({"user_id": [1], "age": [3], "city": ["x"], "score": [1.0], "event_timestamp": [ago()]})
    with pytest.raises(errors.DataValidationError, match="score"):
        store.write_to_online_store("profile", good.drop(columns=["score"]))
    with pytest.raises(errors.DataValidationError, match="city"):
        store.write_to_online_store("profile", good.assign(city=[1.5]))
    with pytest.raises(errors.DataValidationError, match="event_timestamp"):
        store.write_to_online_store("profile", good.drop(columns=["event_timestamp"]))
    assert store.get_online_features(PROFILE, {"user_id": [1]}).statuses["age"] == ["NOT_FOUND"]


def test_five_thousand_rows(store: fsnb.Store) -> None:
    ids = list(range(5000))
    t = ago(minutes=2)
    write_profile(store, [(i, i, f"c{i}", i / 2, t) for i in ids[::2]])
    got = store.get_online_features(PROFILE, {"user_id": ids})
    d = got.to_dict()
    assert d["age"] == [i if i % 2 == 0 else None for i in ids]
    assert d["city"] == [f"c{i}" if i % 2 == 0 else None for i in ids]
    df = got.to_df()
    assert len(df) == 5000 and df["age"].isna().sum() == 2500


def test_async_equals_sync(store: fsnb.Store) -> None:
    write_profile(store, [(1, 30, "Porto", 1.5, ago(minutes=1)), (3, 5, None, None, ago(hours=3))])
    write_activity(store, [1, 2], ago(minutes=1))
    refs = [*PROFILE, "activity:tags"]
    rows = {"user_id": [1, 2, 3, 1]}
    sync = store.get_online_features(refs, rows)

    async def go() -> fsnb.serving.response.OnlineResponse:  # type: ignore[name-defined]
        return await store.get_online_features_async(refs, rows)

    got = asyncio.run(go())
    assert got.to_dict() == sync.to_dict() and got.statuses == sync.statuses


@pytest.mark.never(["remote"], reason="deleting a view's rows is a byte-store job, run where the store is")
def test_delete_view_data(store: fsnb.Store) -> None:
    from fsnb.online.writes import delete_view_data

    write_profile(store, [(1, 30, "Porto", 1.5, ago(minutes=1)), (2, 3, "x", 1.0, ago(minutes=1))])
    write_activity(store, [1], ago(minutes=1))
    assert delete_view_data(store, "profile") == 2
    got = store.get_online_features(["profile:age", "activity:clicks"], {"user_id": [1]})
    assert got.statuses == {"user_id": ["PRESENT"], "age": ["NOT_FOUND"], "clicks": ["PRESENT"]}


def test_trace_reports_each_stage(store: fsnb.Store) -> None:
    write_profile(store, [(1, 30, "Porto", 1.5, ago(minutes=1))])
    stages: dict[str, int] = {}
    got = store.get_online_features(PROFILE, {"user_id": [1]}, trace=stages)
    remote = store.serving.server_url is not None  # the client's stages; the server's own are inside round_trip
    assert set(stages) == ({"encode_keys", "round_trip", "decode"} if remote else
                           {"plan", "encode_keys", "round_trip", "decode", "assemble"})
    assert all(v >= 0 for v in stages.values()) and stages["round_trip"] > 0
    assert got.to_dict()["age"] == [30]


def test_timestamps_of_any_unit_and_zone(store: fsnb.Store) -> None:
    naive = datetime.now(UTC).replace(tzinfo=None, microsecond=0) - timedelta(minutes=3)
    df = pd.DataFrame({"user_id": [1], "age": [1], "city": ["x"], "score": [1.0], "event_timestamp": [naive]})
    df["event_timestamp"] = df["event_timestamp"].astype("datetime64[ns]")
    store.write_to_online_store("profile", df)
    got = store.get_online_features(PROFILE, {"user_id": [1]})
    assert got.event_timestamps["age"] == [naive.replace(tzinfo=UTC)]
    assert got.statuses["age"] == ["PRESENT"]


@pytest.mark.never(["remote"], reason="the byte contract: a serving backend has no byte store")
def test_write_rows_compares_the_event_time_passed_in(store: fsnb.Store) -> None:
    """The byte contract: newer-wins on ``event_times_us`` (ties go to the new row); the count says what was kept."""
    from fsnb.online.keys import hash_key_prefix

    t = ago(minutes=10)
    table = pa.table({"user_id": [1], "age": [30], "city": ["Porto"], "score": [1.5], "event_timestamp": [t]})
    [entity] = write_view_table(store, profile, table, timestamp_column="event_timestamp")
    key = hash_key_prefix(store.project) + entity
    [[[row]]] = store.online.read_hashes([([key], (b"profile",))])
    assert row is not None
    us = int(t.timestamp() * 1_000_000)
    assert store.online.write_rows([key], b"profile", [row], [us - 1]) == 0
    assert store.online.write_rows([key], b"profile", [row], [us]) == 1
    assert store.online.write_rows([key, key], b"profile", [row, row], [us + 1, us + 2]) == 2
