"""The in-memory byte store of :mod:`fsnb.testing` in the online suite (its row in the backend table is its only
other trace)."""

from __future__ import annotations

import pytest

from fsnb.config import OnlineStoreConfig
from tests.online.backends import OnlineStoreTest


class TestConf(OnlineStoreTest):
    __test__ = False  # not a test class
    name = "memory"

    def online_store(self, request: pytest.FixtureRequest) -> OnlineStoreConfig:
        return OnlineStoreConfig(type="memory", label=request.node.name)
