from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.servers import RedisServer, postgres_available, postgres_database


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
