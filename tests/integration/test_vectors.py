"""Precomputed vectors: strict about builds, one GET per entity, and equal to the per-view path."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fsnb
from fsnb import errors
from fsnb.online.writes import write_view_table
from tests.unit.test_online_support import (
    ALL_TYPES_ROWS,
    OBJECTS,
    activity,
    ago,
    all_types,
    all_types_table,
    make_store,
    profile,
    snapshot,
    use_snapshot,
    user_service,
)

KINDS = ["redis", "sqlite"]
SERVICES = ["user_service", "slim_service"]


def seed(store: fsnb.Store) -> None:
    """Entities 1..40 with a mix of fresh, stale, null and missing rows across the three views."""
    fresh, stale = ago(minutes=5), ago(hours=3)
    ids = list(range(1, 41))
    store.write_to_online_store(
        "profile",
        pd.DataFrame(
            {
                "user_id": [i for i in ids if i % 5],
                "age": pd.array([None if i % 7 == 0 else i for i in ids if i % 5], dtype="Int64"),
                "city": [f"c{i}" if i % 3 else None for i in ids if i % 5],
                "score": [i / 3 for i in ids if i % 5],
                "event_timestamp": [stale if i % 4 == 0 else fresh for i in ids if i % 5],
            }
        ),
    )
    act = [i for i in ids if i % 6]
    write_view_table(
        store,
        activity,
        pa.table(
            {
                "user_id": pa.array(act, pa.int64()),
                "clicks": pa.array([i if i % 8 else None for i in act], pa.int32()),
                "active": pa.array([i % 2 == 0 for i in act]),
                "tags": pa.array([[f"t{i}"] * (i % 3) for i in act], pa.list_(pa.string())),
                "ratio": pa.array([i / 8 for i in act], pa.float32()),
                "event_timestamp": pa.array([fresh] * len(act), pa.timestamp("us", tz="UTC")),
            }
        ),
        timestamp_column="event_timestamp",
    )
    rows = ALL_TYPES_ROWS()
    write_view_table(store, all_types, all_types_table(rows, fresh), timestamp_column="event_timestamp")


@pytest.fixture(params=KINDS)
def store(request: pytest.FixtureRequest) -> Iterator[fsnb.Store]:
    url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    s = make_store(request.param, url)
    seed(s)
    yield s
    s.close()


def same(a: Any, b: Any) -> None:
    assert a.feature_names == b.feature_names
    assert a.to_dict() == b.to_dict()
    assert a.statuses == b.statuses
    assert a.event_timestamps == b.event_timestamps
    pd.testing.assert_frame_equal(a.to_df(), b.to_df())


def test_never_built_vectors_raise_with_the_fix(store: fsnb.Store) -> None:
    with pytest.raises(errors.VectorsNotBuiltError, match=r"user_service.*build_vectors\('user_service'\)"):
        store.get_online_features("user_service", {"user_id": [1]})
    # the per-view path stays available
    assert store.get_online_features("user_service", {"user_id": [1]}, precomputed=False).to_dict()["age"] == [1]


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("full", [False, True])
def test_precomputed_equals_regular(store: fsnb.Store, service: str, full: bool) -> None:
    assert store.build_vectors(service, progress=False) == 39  # 30 has no row in any view
    ids = [*range(45), 3, 3, 1]
    pre = store.get_online_features(service, {"user_id": ids}, full_feature_names=full)
    reg = store.get_online_features(service, {"user_id": ids}, full_feature_names=full, precomputed=False)
    same(pre, reg)
    assert set(pre.statuses["age" if not full else "profile__age"]) >= {"PRESENT", "NOT_FOUND", "OUTSIDE_MAX_AGE"} \
        if service == "user_service" else True


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    ids=st.lists(st.integers(min_value=-2, max_value=45), min_size=1, max_size=30),
    small=st.sampled_from([(0, 1000), (1000, 0), (None, None)]),
)
def test_precomputed_equals_regular_on_random_entity_sets(
    store: fsnb.Store, ids: list[int], small: tuple[int | None, int | None]
) -> None:
    """Equal results, whichever decoder (few-rows lists or numpy columns) each path takes."""
    from fsnb.serving import decode as api

    if store.online.read_values([b"fsnb:t:vm:user_service"])[0] is None:
        store.build_vectors("user_service", progress=False)
    rows = [{"user_id": i} for i in ids]
    default = api.SMALL_BATCH
    try:
        api.SMALL_BATCH = default if small[0] is None else small[0]
        pre = store.get_online_features(user_service, rows)
        api.SMALL_BATCH = default if small[1] is None else small[1]
        reg = store.get_online_features(user_service, rows, precomputed=False)
    finally:
        api.SMALL_BATCH = default
    same(pre, reg)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    pushes=st.lists(
        st.tuples(
            st.lists(st.integers(min_value=1, max_value=60), min_size=1, max_size=8),  # entities pushed
            st.integers(min_value=-5, max_value=5),  # value
            st.sampled_from([1, 30, 240]),  # minutes ago: fresh, fresh, outside the 1 h TTL
        ),
        min_size=1,
        max_size=4,
    ),
    ids=st.lists(st.integers(min_value=0, max_value=62), min_size=1, max_size=20),
)
def test_precomputed_equals_regular_after_pushes(
    store: fsnb.Store, pushes: list[tuple[list[int], int, int]], ids: list[int]
) -> None:
    """Pushes (older and newer rows, new entities, stale ones) refresh exactly the vectors they touch."""
    if store.online.read_values([b"fsnb:t:vm:slim_service"])[0] is None:
        store.build_vectors("slim_service", progress=False)
    for who, value, minutes in pushes:
        store.write_to_online_store(
            "profile",
            pd.DataFrame({"user_id": who, "age": [value] * len(who), "city": [f"p{value}"] * len(who),
                          "score": [value / 2] * len(who), "event_timestamp": [ago(minutes=minutes)] * len(who)}),
        )
    rows = {"user_id": ids}
    same(store.get_online_features("slim_service", rows),
         store.get_online_features("slim_service", rows, precomputed=False))


def test_writes_refresh_vectors(store: fsnb.Store) -> None:
    store.build_vectors("user_service", progress=False)
    store.write_to_online_store(
        "profile",
        pd.DataFrame({"user_id": [2, 100], "age": [99, 7], "city": ["new", "z"], "score": [0.0, 1.0],
                      "event_timestamp": [ago(minutes=1)] * 2}),
    )
    ids = [2, 100, 1]
    pre = store.get_online_features("user_service", {"user_id": ids})
    assert pre.to_dict()["age"] == [99, 7, 1] and pre.to_dict()["city"] == ["new", "z", "c1"]
    same(pre, store.get_online_features("user_service", {"user_id": ids}, precomputed=False))


def test_refresh_after_a_view_is_deleted(store: fsnb.Store) -> None:
    from fsnb.online.keys import encode_entity_keys
    from fsnb.online.vectors import refresh_vectors
    from fsnb.online.writes import delete_view_data

    store.build_vectors("slim_service", progress=False)
    store.build_vectors("user_service", progress=False)
    delete_view_data(store, "activity")
    keys = encode_entity_keys(list(activity.entity_columns), [list(range(1, 41))])
    # user_service and slim_service both read activity; every key gets a vector, rows or not
    assert refresh_vectors(store, keys, views=["activity"]) == 80
    ids = {"user_id": [*range(0, 42)]}
    pre = store.get_online_features("slim_service", ids)
    same(pre, store.get_online_features("slim_service", ids, precomputed=False))
    assert set(pre.statuses["clicks"]) == {"NOT_FOUND"}


def test_stale_schema_raises_until_rebuilt(store: fsnb.Store) -> None:
    store.build_vectors("user_service", progress=False)
    changed = fsnb.FeatureService("user_service", [profile, activity], precompute_online=True)
    objects = [o for o in OBJECTS if o is not user_service] + [changed]
    use_snapshot(store, snapshot(objects, version=2))
    with pytest.raises(errors.VectorsNotBuiltError, match="another version"):
        store.get_online_features("user_service", {"user_id": [1]})
    store.build_vectors("user_service", progress=False)
    same(
        store.get_online_features("user_service", {"user_id": [1, 2, 50]}),
        store.get_online_features("user_service", {"user_id": [1, 2, 50]}, precomputed=False),
    )


def test_stages_and_async_on_vectors(store: fsnb.Store) -> None:
    import asyncio

    store.build_vectors("user_service", progress=False)
    stages: dict[str, int] = {}
    timed = store.get_online_features("user_service", {"user_id": [1, 2, 50]}, trace=stages)
    assert set(stages) == {"plan", "encode_keys", "round_trip", "decode", "assemble"}
    plain = store.get_online_features("user_service", {"user_id": [1, 2, 50]})
    same(timed, plain)
    got = asyncio.run(store.get_online_features_async("user_service", {"user_id": [1, 2, 50]}))
    same(got, plain)


def test_marker_is_rechecked(store: fsnb.Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from fsnb.online.keys import marker_key
    from fsnb.serving.plan import VectorPlan

    store.build_vectors("user_service", progress=False)
    assert store.get_online_features("user_service", {"user_id": [1]}).to_dict()["age"] == [1]
    store.online.delete_values(marker_key(store.project, "user_service"))
    monkeypatch.setattr(VectorPlan, "RECHECK_SECONDS", 0.0)
    with pytest.raises(errors.VectorsNotBuiltError, match="never built"):
        store.get_online_features("user_service", {"user_id": [1]})


def test_precomputed_errors(store: fsnb.Store) -> None:
    with pytest.raises(errors.RequestError, match="precompute_online"):
        store.get_online_features(["profile:age"], {"user_id": [1]}, precomputed=True)
    with pytest.raises(errors.RequestError, match="precompute_online=False"):
        store.build_vectors("plain_service", progress=False)


def test_one_get_per_entity(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import redis

    from tests.integration.test_online_round_trips import Counter

    s = make_store("redis", redis_url)
    seed(s)
    s.build_vectors("user_service", progress=False)
    s.get_online_features("user_service", {"user_id": [1]})
    client = redis.Redis.from_url(redis_url)
    before = client.info("commandstats")
    counter = Counter(monkeypatch)
    got = s.get_online_features("user_service", {"user_id": [*range(1, 41), 1]})
    assert counter.sends == 1
    after = client.info("commandstats")
    # 40 unique entities; the build marker rode along the previous read and is re-checked once a second
    assert after["cmdstat_get"]["calls"] - before["cmdstat_get"]["calls"] == 40
    assert after.get("cmdstat_hmget", {}).get("calls", 0) == before.get("cmdstat_hmget", {}).get("calls", 0)
    assert got.to_dict()["age"][0] == 1
    client.close()
    s.close()


def test_refresh_leaves_vectors_of_another_layout_than_the_marked_build_alone(store: fsnb.Store) -> None:
    """A writer holding another registry snapshot than the last full build (a server worker between refreshes)
    must not write vectors readers of the marked layout cannot read."""
    from fsnb.online.keys import encode_entity_keys
    from fsnb.online.vectors import refresh_vectors

    for service in SERVICES:
        store.build_vectors(service, progress=False)
    keys = encode_entity_keys(list(activity.entity_columns), [[1, 2]])
    assert refresh_vectors(store, keys, views=["activity"]) == 4  # both services
    changed = fsnb.FeatureService("user_service", [activity, profile], precompute_online=True)  # views swapped
    objects = [o for o in OBJECTS if o is not user_service] + [changed]
    use_snapshot(store, snapshot(objects, version=3))
    assert refresh_vectors(store, keys, views=["activity"]) == 2  # slim_service only: user_service's layout moved
