from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from hypothesis import settings

from tests.redis_topologies import RedisClusterTopology, RedisSentinelTopology
from tests.servers import RedisServer, postgres_available, postgres_database

# No per-example deadline: this machine's cores are shared, and a slow example is not a wrong one.
settings.register_profile("fsnb", deadline=None)
settings.load_profile("fsnb")


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One private redis-server for the session (flush it yourself, or use ``redis_url``)."""
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed: run scripts/setup.sh")
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """A flushed database on the session's private redis-server."""
    import redis

    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    return redis_server.url


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A redis-server of this test's own, for faults (kill / restart / pause)."""
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database (SQLAlchemy URL), dropped after the test."""
    if not postgres_available():
        pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432: run scripts/setup.sh")
    with postgres_database() as url:
        yield url


@pytest.fixture(scope="session")
def conformance_server(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A feature server over the session's redis-server, serving the online suite's definitions (remote kind)."""
    from tests.online.backends.remote import start_server

    yield from start_server(tmp_path_factory.mktemp("conformance-server"), redis_server.url)


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisClusterTopology]:
    """A 3-primary + 3-replica Redis Cluster for the session (flush it yourself, or use ``redis_cluster_url``)."""
    cluster = RedisClusterTopology().start()
    yield cluster
    cluster.stop()


@pytest.fixture
def redis_cluster_url(redis_cluster: RedisClusterTopology) -> str:
    """The session cluster, healed (every node up) and flushed: its ``redis+cluster://`` URL."""
    redis_cluster.heal()
    redis_cluster.flush()
    return redis_cluster.url


@pytest.fixture(scope="session")
def redis_sentinel() -> Iterator[RedisSentinelTopology]:
    """A primary + replica watched by 3 sentinels, for the session (``redis_sentinel_url`` flushes it)."""
    topology = RedisSentinelTopology().start()
    yield topology
    topology.stop()


@pytest.fixture
def redis_sentinel_url(redis_sentinel: RedisSentinelTopology) -> str:
    """The session sentinel setup, healed and flushed: its ``redis+sentinel://`` URL."""
    redis_sentinel.heal()
    redis_sentinel.flush()
    return redis_sentinel.url
