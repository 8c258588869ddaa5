"""Redis Cluster in the online suite: the session's 3-primary + 3-replica cluster, flushed per test."""

from __future__ import annotations

import pytest

from fsnb.config import OnlineStoreConfig
from fsnb.online.redis_topology_configs import RedisClusterConfig
from tests.online.backends import OnlineStoreTest


class TestConf(OnlineStoreTest):
    __test__ = False  # not a test class
    name = "redis_cluster"

    def online_store(self, request: pytest.FixtureRequest) -> OnlineStoreConfig:
        url: str = request.getfixturevalue("redis_cluster_url")
        return RedisClusterConfig(**RedisClusterConfig.from_url(url))
