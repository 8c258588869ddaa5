"""Per-engine test configuration for the offline conformance suite: one module per engine, each with a ``TestConf``.

A new engine adds ``tests/offline/engines/<name>.py`` and its name to ``ENGINES``.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import ClassVar

from fsnb.config import Config, OfflineStoreConfig, OnlineStoreConfig, RegistryConfig

#: the engines the offline suite runs against.
ENGINES = ["duckdb", "spark"]


class EngineTestConf:
    """How the suite builds a store over one engine; subclasses set ``name`` and ``offline_store``."""

    name: ClassVar[str]

    def offline_store(self, repo: Path) -> OfflineStoreConfig:
        raise NotImplementedError

    def config(self, repo: Path, project: str = "offline") -> Config:
        """A store config over this engine: SQLite registry and online store in ``repo``."""
        return Config(
            project=project,
            repo_path=repo,
            registry=RegistryConfig(url=f"sqlite:///{repo}/registry.db", cache_ttl_seconds=0),
            online_store=OnlineStoreConfig(type="sqlite", path=str(repo / "online.db")),
            offline_store=self.offline_store(repo),
        )


def load(name: str) -> EngineTestConf:
    """The ``TestConf`` of engine ``name``; unknown names are an error, not a silent skip."""
    if name not in ENGINES:
        raise ValueError(f"unknown offline engine {name!r} in the offline suite; known: {ENGINES}")
    conf = importlib.import_module(f"{__name__}.{name}").TestConf()
    assert isinstance(conf, EngineTestConf) and conf.name == name, f"{name}.TestConf must be named {name!r}"
    return conf
