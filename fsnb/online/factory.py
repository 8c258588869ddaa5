"""Open the online store a configuration names."""

from __future__ import annotations

from fsnb.config import Config, OnlineStoreConfig
from fsnb.errors import ConfigError
from fsnb.online.base import OnlineStore

__all__ = ["open_online_store"]


def open_online_store(config: Config | OnlineStoreConfig) -> OnlineStore:
    """A :class:`RedisOnlineStore`, :class:`SqliteOnlineStore` or ``RemoteOnlineStore`` for ``config.online_store``."""
    online = config.online_store if isinstance(config, Config) else config
    if online.type == "redis":
        from fsnb.online.redis import RedisOnlineStore

        return RedisOnlineStore(online)
    if online.type == "sqlite":
        from fsnb.online.sqlite import SqliteOnlineStore

        return SqliteOnlineStore(online)
    if online.type == "remote":
        from fsnb.online.remote import RemoteOnlineStore

        return RemoteOnlineStore(online)  # type: ignore[no-any-return]
    raise ConfigError(f"unknown online_store.type {online.type!r}; use sqlite, redis or remote")
