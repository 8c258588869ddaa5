"""Redis Sentinel in the online suite: the session's primary + replica + 3 sentinels, flushed per test."""

from __future__ import annotations

import pytest

from fsnb.config import OnlineStoreConfig
from fsnb.online.redis_topology_configs import RedisSentinelConfig
from tests.online.backends import OnlineStoreTest


class TestConf(OnlineStoreTest):
    __test__ = False  # not a test class
    name = "redis_sentinel"

    def online_store(self, request: pytest.FixtureRequest) -> OnlineStoreConfig:
        url: str = request.getfixturevalue("redis_sentinel_url")
        return RedisSentinelConfig(**RedisSentinelConfig.from_url(url))
