"""The DuckDB engine in the offline suite: a file-backed database in the test's repo."""

from __future__ import annotations

from pathlib import Path

from fsnb.config import OfflineStoreConfig
from tests.offline.engines import EngineTestConf


class TestConf(EngineTestConf):
    __test__ = False  # not a test class
    name = "duckdb"

    def offline_store(self, repo: Path) -> OfflineStoreConfig:
        return OfflineStoreConfig(type="duckdb", database=str(repo / "offline.duckdb"), threads=2)
