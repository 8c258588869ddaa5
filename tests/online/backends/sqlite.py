"""SQLite in the online suite: a private in-memory database per test."""

from __future__ import annotations

import pytest

from fsnb.config import OnlineStoreConfig
from fsnb.online.configs import SqliteConfig
from tests.online.backends import OnlineStoreTest


class TestConf(OnlineStoreTest):
    __test__ = False  # not a test class
    name = "sqlite"

    def online_store(self, request: pytest.FixtureRequest) -> OnlineStoreConfig:
        return SqliteConfig(path=":memory:")
