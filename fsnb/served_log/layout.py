"""Where served logs live and how a request's features name their partition."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from fsnb.config import Config, ServedLogConfig

__all__ = ["log_root", "logging_config", "target_name"]


def log_root(config: Config, logging: ServedLogConfig | None = None) -> Path:
    """The log folder: ``logging.path`` (relative to the repo) or ``<repo>/.fsnb/served_log``."""
    logging = logging or config.feature_server.logging
    return config.resolve_path(logging.path) if logging.path else config.data_dir / "served_log"


def logging_config(value: Any, config: Config) -> ServedLogConfig | None:
    """``Store(log_served=...)``: ``True`` (the ``feature_server.logging`` settings, enabled), a mapping of its
    keys, a :class:`ServedLogConfig`, or ``False`` / ``None`` (off)."""
    import dataclasses

    from fsnb.config import _build
    from fsnb.errors import ConfigError

    if value is None or value is False:
        return None
    base = config.feature_server.logging
    if value is True:
        return dataclasses.replace(base, enabled=True)
    if isinstance(value, ServedLogConfig):
        return value if value.enabled else None
    if isinstance(value, dict):
        built: ServedLogConfig = _build(ServedLogConfig, {**dataclasses.asdict(base), "enabled": True, **value},
                                        "log_served")
        return built if built.enabled else None
    raise ConfigError(f"log_served must be True, False, a mapping of feature_server.logging keys or a "
                      f"ServedLogConfig, got {type(value).__name__}")


def target_name(features: Any) -> str:
    """The partition name of a request: its service's name, or ``features-<hash>`` of its ``view:feature`` refs."""
    from fsnb.requests import feature_refs

    refs = feature_refs(features)
    if isinstance(refs, str):
        return refs
    if not isinstance(refs, tuple):  # a FeatureService
        return str(refs.name)
    return "features-" + hashlib.sha1(",".join(refs).encode()).hexdigest()[:12]
