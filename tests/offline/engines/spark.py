"""The Spark engine in the offline suite: ``local[2]``, small shuffles; one session shared by every test."""

from __future__ import annotations

from pathlib import Path

import pytest

from fsnb.config import OfflineStoreConfig
from tests.offline.engines import EngineTestConf

pytest.importorskip("pyspark", reason="the Spark engine needs fsnb[spark]")

#: the settings of the tests' one Spark session (tests/conftest.py may start it first with the same ones).
SPARK_CONF = {
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.driver.memory": "1g",
    "spark.sql.adaptive.enabled": "true",
    "spark.python.worker.reuse": "true",
}


class TestConf(EngineTestConf):
    __test__ = False  # not a test class
    name = "spark"

    def offline_store(self, repo: Path) -> OfflineStoreConfig:
        return OfflineStoreConfig(type="spark", master="local[2]", conf=dict(SPARK_CONF))
