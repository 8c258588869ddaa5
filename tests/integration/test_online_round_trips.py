"""A request costs one network round trip on a real Redis connection, whatever the rows and views."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
import redis

import fsnb
from fsnb import errors
from fsnb.config import Timeouts
from tests.unit.test_online_support import ago, make_store

REFS = ["profile:age", "profile:city", "activity:clicks", "activity:tags", "all_types:i64", "all_types:s"]


@pytest.fixture
def store(redis_url: str) -> Iterator[fsnb.Store]:
    s = make_store("redis", redis_url)
    t = ago(minutes=1)
    ids = list(range(100))
    s.write_to_online_store(
        "profile", pd.DataFrame({"user_id": ids, "age": ids, "city": ["x"] * 100, "score": [1.0] * 100,
                                 "event_timestamp": [t] * 100})
    )
    yield s
    s.close()


class Counter:
    """Counts writes to Redis sockets (one per round trip), sync and async."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sends = 0
        counter = self
        sync_send = redis.connection.AbstractConnection.send_packed_command
        async_write = asyncio.StreamWriter.write

        def send(conn: Any, command: Any, check_health: bool = True) -> None:
            counter.sends += 1
            return sync_send(conn, command, check_health)

        def awrite(writer: Any, data: Any) -> None:
            counter.sends += 1
            return async_write(writer, data)

        monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", send)
        monkeypatch.setattr(asyncio.StreamWriter, "write", awrite)


def hmget_calls(url: str) -> int:
    client = redis.Redis.from_url(url)
    stats = client.info("commandstats").get("cmdstat_hmget", {"calls": 0})
    client.close()
    return int(stats["calls"])


def test_three_views_hundred_rows_is_one_round_trip(store: fsnb.Store, redis_url: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    store.get_online_features(REFS, {"user_id": [0]})  # connect and compile outside the count
    before = hmget_calls(redis_url)
    counter = Counter(monkeypatch)
    got = store.get_online_features(REFS, {"user_id": list(range(100))})
    assert counter.sends == 1
    assert hmget_calls(redis_url) - before == 100  # one HMGET per entity, all three views in it
    assert got.to_dict()["age"] == list(range(100))


def test_duplicate_rows_are_read_once(store: fsnb.Store, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    store.get_online_features(REFS, {"user_id": [0]})
    before = hmget_calls(redis_url)
    counter = Counter(monkeypatch)
    got = store.get_online_features(REFS, {"user_id": [5, 7, 5, 5, 7]})
    assert counter.sends == 1 and hmget_calls(redis_url) - before == 2
    assert got.to_dict()["age"] == [5, 7, 5, 5, 7]


def test_async_is_one_round_trip(store: fsnb.Store, monkeypatch: pytest.MonkeyPatch) -> None:
    async def go() -> list[Any]:
        await store.get_online_features_async(REFS, {"user_id": [0]})
        counter = Counter(monkeypatch)
        got = await store.get_online_features_async(REFS, {"user_id": list(range(100))})
        return [counter.sends, got.to_dict()["age"]]

    sends, ages = asyncio.run(go())
    assert sends == 1 and ages == list(range(100))


def test_two_entity_types_still_one_round_trip(store: fsnb.Store, monkeypatch: pytest.MonkeyPatch) -> None:
    t = ago(minutes=1)
    store.write_to_online_store("shops", pd.DataFrame({"merchant_id": ["m1"], "rating": [4.5], "event_timestamp": [t]}))
    store.get_online_features(["profile:age", "shops:rating"], {"user_id": [1], "merchant_id": ["m1"]})
    counter = Counter(monkeypatch)
    got = store.get_online_features(["profile:age", "shops:rating"], {"user_id": [1, 2], "merchant_id": ["m1", "m2"]})
    assert counter.sends == 1
    assert got.to_dict() == {"user_id": [1, 2], "merchant_id": ["m1", "m2"], "age": [1, 2], "rating": [4.5, None]}


def test_dead_server_is_unavailable_error(own_redis: Any) -> None:
    s = make_store("redis", own_redis.url, timeouts=Timeouts(connect=1.0, read=1.0))
    with pytest.raises(errors.FeatureNotFoundError):
        s.get_online_features(["profile:nope"], {"user_id": [1]})
    assert s.get_online_features(["profile:age"], {"user_id": [1]}).statuses["age"] == ["NOT_FOUND"]
    own_redis.kill()
    with pytest.raises(errors.OnlineStoreUnavailableError, match="unavailable"):
        s.get_online_features(["profile:age"], {"user_id": [1]})
    own_redis.start()
    assert s.get_online_features(["profile:age"], {"user_id": [1]}).statuses["age"] == ["NOT_FOUND"]
    s.close()


def test_async_reads_reconnect_at_once_after_a_server_restart(own_redis: Any) -> None:
    """A pooled async connection the server closed while idle is replaced on the next read, not waited on until
    the socket timeout (which made the feature server's /health answer 503 after Redis had come back)."""
    import time

    s = make_store("redis", own_redis.url, timeouts=Timeouts(connect=1.0, read=3.0))

    async def scenario() -> float:
        assert (await s.get_online_features_async(["profile:age"], {"user_id": [1]})).statuses["age"] == ["NOT_FOUND"]
        own_redis.restart()
        await asyncio.sleep(0.2)  # the loop sees the old connection's EOF
        t0 = time.perf_counter()
        got = await s.get_online_features_async(["profile:age"], {"user_id": [1]})
        elapsed = time.perf_counter() - t0
        assert got.statuses["age"] == ["NOT_FOUND"]
        await s.online.aclose()  # type: ignore[attr-defined]
        return elapsed

    try:
        assert asyncio.run(scenario()) < 1.0
    finally:
        s.close()


def test_a_hung_server_times_out_sync_and_async(own_redis: Any) -> None:
    s = make_store("redis", own_redis.url, timeouts=Timeouts(connect=0.3, read=0.3))
    s.get_online_features(["profile:age"], {"user_id": [1]})

    async def read() -> Any:
        return await s.get_online_features_async(["profile:age"], {"user_id": [1]})

    asyncio.run(read())  # connected before the pause
    own_redis.pause()
    try:
        with pytest.raises(errors.OnlineStoreUnavailableError):
            s.get_online_features(["profile:age"], {"user_id": [1]})
        with pytest.raises(errors.OnlineStoreUnavailableError):
            asyncio.run(read())
    finally:
        own_redis.resume()
    assert s.get_online_features(["profile:age"], {"user_id": [1]}).statuses["age"] == ["NOT_FOUND"]
    s.close()


def test_key_expiry(redis_url: str) -> None:
    s = make_store("redis", redis_url, key_ttl_seconds=100)
    s.write_to_online_store(
        "profile", pd.DataFrame({"user_id": [1], "age": [1], "city": ["x"], "score": [1.0],
                                 "event_timestamp": [ago(minutes=1)]})
    )
    client = redis.Redis.from_url(redis_url)
    keys = client.keys(b"fsnb:t:*")  # the entity hash and the vectors refreshed with it
    assert len(keys) == 3 and all(0 < client.ttl(k) <= 100 for k in keys)
    client.close()
    s.close()
