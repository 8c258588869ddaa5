"""The offline engine table: ``offline_store.type`` → the class implementing :class:`~fsnb.offline.base.OfflineEngine`.

A new engine adds one line here (and its module, imported only when chosen).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from fsnb.errors import ConfigError

if TYPE_CHECKING:
    from fsnb.config import Config
    from fsnb.offline.base import OfflineEngine

__all__ = ["ENGINES", "engine_class", "open_engine"]

ENGINES: dict[str, str] = {
    "duckdb": "fsnb.offline.duckdb.engine:DuckDBEngine",
    "spark": "fsnb.offline.spark.engine:SparkEngine",
}


def engine_class(name: str) -> type[OfflineEngine]:
    """The engine class registered under ``name``; :class:`~fsnb.errors.ConfigError` for an unknown name."""
    try:
        module, _, cls = ENGINES[name].partition(":")
    except KeyError:
        raise ConfigError(
            f"offline_store.type {name!r} is not an offline engine; known engines are {sorted(ENGINES)}"
        ) from None
    return getattr(importlib.import_module(module), cls)  # type: ignore[no-any-return]


def open_engine(config: Config) -> OfflineEngine:
    """The offline engine ``config.offline_store`` names (cheap: connections open on first use)."""
    return engine_class(config.offline_store.type)(config)
