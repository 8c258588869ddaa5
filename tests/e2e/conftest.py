"""Module-wide servers for the feature-server tests: a private redis-server and a banking repo on it.

A test module sets ``BANKING_CUSTOMERS`` to size its repo (default ``test_server_support.CUSTOMERS``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import fsnb
from tests.e2e.test_server_support import CUSTOMERS, build_banking_repo
from tests.servers import RedisServer


@pytest.fixture(scope="module")
def redis() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def repo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, redis: RedisServer) -> Path:
    customers = getattr(request.module, "BANKING_CUSTOMERS", CUSTOMERS)
    return build_banking_repo(tmp_path_factory.mktemp("banking"), redis.url, customers=customers)


@pytest.fixture(scope="module")
def direct(repo: Path, redis: RedisServer) -> Iterator[fsnb.Store]:
    """A direct (in-process) store over the module's repo and redis-server."""
    with fsnb.Store(repo, online_store=redis.url) as store:
        yield store
