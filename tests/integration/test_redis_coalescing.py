"""Concurrent async reads of one event loop share one Redis connection and leave in coalesced batches: the same
answers as one by one, an error reply fails only its own read, and a dropped connection fails its batch once, after
which reads reconnect."""

from __future__ import annotations

import asyncio

import pytest
import redis

from fsnb.errors import OnlineStoreError, OnlineStoreUnavailableError
from fsnb.online.configs import RedisConfig
from fsnb.online.redis import RedisOnlineStore
from tests.servers import RedisServer

pytestmark = [pytest.mark.redis]


def _fill(url: str, n: int) -> None:
    client = redis.Redis.from_url(url)
    pipe = client.pipeline(transaction=False)
    for i in range(n):
        pipe.hset(b"h%d" % i, mapping={b"a": b"a%d" % i, b"b": b"b%d" % i})
        pipe.set(b"v%d" % i, b"value%d" % i)
    pipe.set(b"plain", b"not a hash")
    pipe.execute()
    client.close()


def _reads(store: RedisOnlineStore, n: int) -> list[object]:
    return [store.read_hashes_async([([b"h%d" % i, b"missing"], (b"a", b"b"))]) if i % 2 else
            store.read_values_async([b"v%d" % i, b"nope"]) for i in range(n)]


def test_gathered_reads_match_one_by_one_on_one_connection(redis_url: str) -> None:
    _fill(redis_url, 60)
    store = RedisOnlineStore(RedisConfig(url=redis_url))
    admin = redis.Redis.from_url(redis_url)
    try:
        async def main() -> tuple[list[object], list[object], int]:
            one_by_one = [await r for r in _reads(store, 60)]
            before = admin.info("clients")["connected_clients"]
            together = await asyncio.gather(*_reads(store, 60))
            return one_by_one, list(together), admin.info("clients")["connected_clients"] - before

        one_by_one, together, new_connections = asyncio.run(main())
        assert together == one_by_one
        assert together[0] == [b"value0", None]
        assert together[1] == [[[b"a1", b"b1"], [None, None]]]
        assert new_connections == 0  # the 60 concurrent reads shared the loop's one connection
    finally:
        admin.close()
        store.close()


def test_an_error_reply_fails_only_its_read(redis_url: str) -> None:
    _fill(redis_url, 4)
    store = RedisOnlineStore(RedisConfig(url=redis_url))
    try:
        async def main() -> list[object]:
            return await asyncio.gather(
                store.read_values_async([b"v1"]),
                store.read_hashes_async([([b"plain"], (b"a",))]),  # WRONGTYPE
                store.read_values_async([b"v2"]),
                store.read_values_async([b"v3"]),
                return_exceptions=True,
            )

        got = asyncio.run(main())
        assert got[0] == [b"value1"] and got[2] == [b"value2"] and got[3] == [b"value3"]
        assert isinstance(got[1], OnlineStoreError) and "WRONGTYPE" in str(got[1])
    finally:
        store.close()


def test_a_dropped_connection_fails_its_batch_then_reads_reconnect(own_redis: RedisServer) -> None:
    _fill(own_redis.url, 4)
    store = RedisOnlineStore(RedisConfig(url=own_redis.url))
    try:
        async def main() -> None:
            assert await store.read_values_async([b"v1"]) == [b"value1"]
            own_redis.restart()  # the data is gone (no persistence), the connection too
            got = await asyncio.gather(*[store.read_values_async([b"v1"]) for _ in range(5)],
                                       return_exceptions=True)
            # the retry on a new connection answers each read (the key is gone) or, at worst, fails cleanly
            assert all(g == [None] or isinstance(g, OnlineStoreUnavailableError) for g in got), got
            assert await store.read_values_async([b"v1"]) == [None]
            own_redis.kill()
            with pytest.raises(OnlineStoreUnavailableError):
                await store.read_values_async([b"v1"])

        asyncio.run(main())
    finally:
        store.close()


def test_reads_on_separate_loops_do_not_share_connections(redis_url: str) -> None:
    _fill(redis_url, 4)
    store = RedisOnlineStore(RedisConfig(url=redis_url))
    try:
        for _ in range(3):  # asyncio.run makes a loop per call: each gets its own pipeline
            assert asyncio.run(store.read_values_async([b"v2"])) == [b"value2"]
        assert len(store._async_pipes) <= 1
    finally:
        store.close()
