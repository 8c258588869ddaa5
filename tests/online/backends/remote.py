"""The remote serving backend in the online suite: every read, and ``write_to_online_store``, goes through a real
``fsnb serve`` process over the session's Redis.

The suite's byte-level writes (``write_view_table``) have no remote form; they go straight to the Redis the server
reads, which is what a materialization on the server's host does. Tests that check the byte contract itself are
marked ``never(["remote"])``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import fsnb
from fsnb.config import Config, OnlineStoreConfig
from fsnb.online.base import OnlineStore
from fsnb.online.configs import RedisConfig, RemoteConfig
from fsnb.online.factory import open_online_store
from fsnb.registry.registry import Registry
from tests.online.backends import OnlineStoreTest
from tests.unit.test_online_support import OBJECTS, PROJECT, snapshot, use_snapshot


class RemoteUnderTest(fsnb.Store):
    """A remote store (reads and writes through the server) whose ``online`` is the server's own Redis."""

    def __init__(self, config: Config, server_bytes: OnlineStoreConfig) -> None:
        super().__init__(config=config)
        self._server_bytes = server_bytes

    @property
    def online(self) -> OnlineStore:
        if self._online is None:
            self._online = open_online_store(self._server_bytes)
        return self._online


def start_server(repo: Path, redis_url: str) -> Iterator[str]:
    """A one-worker feature server over ``redis_url`` whose registry holds the suite's definitions."""
    from tests.e2e.test_server_support import ServerProcess

    repo.mkdir(parents=True, exist_ok=True)
    (repo / "fsnb.yaml").write_text(f"project: {PROJECT}\nregistry: {repo / 'registry.db'}\n")
    registry = Registry(f"sqlite:///{repo / 'registry.db'}", project=PROJECT)
    registry.apply_objects(OBJECTS)
    registry.close()
    with ServerProcess(repo, redis_url, workers=1) as server:
        yield server.url


class TestConf(OnlineStoreTest):
    __test__ = False  # not a test class
    name = "remote"

    def online_store(self, request: pytest.FixtureRequest) -> OnlineStoreConfig:
        url: str = request.getfixturevalue("conformance_server")
        return RemoteConfig(path=url)

    def make_store(self, request: pytest.FixtureRequest, objects: list[Any] | None = None) -> fsnb.Store:
        remote = self.online_store(request)
        server_bytes = RedisConfig(url=request.getfixturevalue("redis_url"))
        store = RemoteUnderTest(Config(project=PROJECT, online_store=remote), server_bytes)
        use_snapshot(store, snapshot(objects))
        return store
