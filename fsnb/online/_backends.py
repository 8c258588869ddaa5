"""The online backend table: ``online_store.type`` → the class that implements it, its config class and the URL
schemes it claims. The one place that knows backend names; modules are imported only when a backend is chosen.

Two levels of backend:

- ``bytes``: an :class:`~fsnb.online.base.OnlineStore` (rows and vectors as bytes). Materialization, vector
  builds and the feature server write to and read from it directly.
- ``serving``: a :class:`~fsnb.serving.base.ServingBackend` that answers whole online requests (``remote``: a
  feature server). ``Store.serving`` uses it; there is no byte store behind it on this side.

A new backend adds one line to ``BACKENDS`` (or calls :func:`register_online_backend`, e.g. from a test or a
plug-in package), its module, and a config class in a light module (no driver imports).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from fsnb.errors import ConfigError

if TYPE_CHECKING:
    from fsnb.config import Config, OnlineStoreConfig
    from fsnb.online.base import OnlineStore

__all__ = [
    "BACKENDS",
    "OnlineBackend",
    "backend_for_url",
    "byte_backend",
    "online_backend",
    "open_online_store",
    "register_online_backend",
]

#: the scheme a plain file path stands for in :func:`backend_for_url`.
PATH = ""


@dataclass(frozen=True)
class OnlineBackend:
    """One row of the table. ``target`` and ``config`` are ``"module:Class"`` strings, imported on use."""

    name: str
    target: str
    config: str
    #: URL schemes this backend claims (lower case, without ``://``); ``""`` claims plain file paths.
    schemes: tuple[str, ...] = ()
    level: Literal["bytes", "serving"] = "bytes"

    @property
    def serves_requests(self) -> bool:
        """True for a serving-level backend (it answers whole requests; there is no byte store)."""
        return self.level == "serving"

    def load(self) -> type[Any]:
        """The store (or serving backend) class."""
        return _import(self.target)

    @property
    def config_class(self) -> type[Any]:
        """The backend's config dataclass (a subclass of :class:`fsnb.config.OnlineStoreConfig`)."""
        return _import(self.config)  # type: ignore[no-any-return]


def _import(target: str) -> Any:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


BACKENDS: dict[str, OnlineBackend] = {
    b.name: b
    for b in (
        OnlineBackend(
            "sqlite", "fsnb.online.sqlite:SqliteOnlineStore", "fsnb.online.configs:SqliteConfig", ("sqlite", PATH)
        ),
        OnlineBackend(
            "redis",
            "fsnb.online.redis:RedisOnlineStore",
            "fsnb.online.configs:RedisConfig",
            ("redis", "rediss", "unix"),
        ),
        OnlineBackend(
            "redis_cluster",
            "fsnb.online.redis_cluster:RedisClusterOnlineStore",
            "fsnb.online.redis_topology_configs:RedisClusterConfig",
            ("redis+cluster", "rediss+cluster"),
        ),
        OnlineBackend(
            "redis_sentinel",
            "fsnb.online.redis_sentinel:RedisSentinelOnlineStore",
            "fsnb.online.redis_topology_configs:RedisSentinelConfig",
            ("redis+sentinel", "rediss+sentinel"),
        ),
        OnlineBackend(
            "memory", "fsnb.online.memory:MemoryOnlineStore", "fsnb.online.memory:MemoryConfig", ("memory",)
        ),
        OnlineBackend(
            "remote",
            "fsnb.serving.remote:RemoteServing",
            "fsnb.online.configs:RemoteConfig",
            ("http", "https"),
            level="serving",
        ),
    )
}


def register_online_backend(
    name: str,
    target: str,
    config: str,
    *,
    schemes: tuple[str, ...] = (),
    level: Literal["bytes", "serving"] = "bytes",
) -> OnlineBackend:
    """Add (or replace) backend ``name``: ``target`` and ``config`` are ``"module:Class"`` strings.

    >>> register_online_backend("memory", "tests.online.memory:MemoryOnlineStore", "tests.online.memory:MemoryConfig")
    """
    claimed = {s: b.name for b in BACKENDS.values() if b.name != name for s in b.schemes}
    taken = sorted(s for s in schemes if s in claimed)
    if taken:
        raise ConfigError(f"online backend {name!r}: scheme(s) {taken} already belong to {claimed[taken[0]]!r}")
    backend = BACKENDS[name] = OnlineBackend(name, target, config, tuple(s.lower() for s in schemes), level)
    return backend


def online_backend(name: str) -> OnlineBackend:
    """The table row of ``name``; :class:`~fsnb.errors.ConfigError` listing the known names otherwise."""
    try:
        return BACKENDS[name]
    except KeyError:
        raise ConfigError(
            f"unknown online store type {name!r}; known types are {', '.join(sorted(BACKENDS))}"
        ) from None


def backend_for_url(url: str) -> OnlineBackend:
    """The backend that claims ``url``'s scheme (a string without ``://`` is a file path)."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else PATH
    for backend in BACKENDS.values():
        if scheme in backend.schemes:
            return backend
    known = sorted(f"{s}://" for b in BACKENDS.values() for s in b.schemes if s)
    raise ConfigError(f"unsupported online store URL {url!r}; known schemes are {', '.join(known)} or a file path")


def byte_backend(online: OnlineStoreConfig) -> OnlineBackend:
    """The backend of ``online`` when it is a byte store; :class:`~fsnb.errors.ConfigError` for a serving-level one
    (``remote``): materialize, vector builds and the feature server need the bytes themselves."""
    from fsnb.config import redact_url

    backend = online_backend(online.type)
    if backend.serves_requests:
        direct = ", ".join(sorted(b.name for b in BACKENDS.values() if not b.serves_requests))
        raise ConfigError(
            f"materialize, build_vectors and the feature server need a direct online store ({direct}); "
            f"online_store is {backend.name} ({redact_url(online.to_url())}), which only answers requests: run them "
            "with a config that names the store itself (e.g. on the feature server's host)"
        )
    return backend


def open_online_store(config: Config | OnlineStoreConfig | Mapping[str, Any]) -> OnlineStore:
    """Open the byte store ``config`` (a whole Config, or its ``online_store``) names (see :func:`byte_backend`)."""
    from fsnb.config import Config, OnlineStoreConfig

    online: Any = config.online_store if isinstance(config, Config) else config
    if isinstance(online, Mapping):
        online = OnlineStoreConfig(**online)
    store: OnlineStore = byte_backend(online).load()(online)
    return store
