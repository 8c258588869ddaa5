"""Redis in the online suite: the session's private redis-server, flushed per test."""

from __future__ import annotations

import pytest

from fsnb.config import OnlineStoreConfig
from fsnb.online.configs import RedisConfig
from tests.online.backends import OnlineStoreTest


class TestConf(OnlineStoreTest):
    __test__ = False  # not a test class
    name = "redis"

    def online_store(self, request: pytest.FixtureRequest) -> OnlineStoreConfig:
        return RedisConfig(url=request.getfixturevalue("redis_url"))
