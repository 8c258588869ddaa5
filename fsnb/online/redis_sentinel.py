"""The Redis Sentinel online store: the single-Redis store, with its primary found through the sentinels.

Reads, writes and their packing are :class:`~fsnb.online.redis.RedisOnlineStore`'s; only the pools differ:
redis-py's Sentinel pools ask the sentinels for the primary whenever a connection (re)connects, and drop their
connections when the primary's address changes. After a failover the first request on a dead connection fails over
to a fresh one (one retry) or raises :class:`~fsnb.errors.OnlineStoreUnavailableError` until the sentinels have
promoted a replica (``down-after-milliseconds`` plus the election); no restart of the client or server is needed.
"""

from __future__ import annotations

from typing import Any

import redis
from redis.sentinel import Sentinel, SentinelConnectionPool, SentinelManagedSSLConnection

from fsnb.config import redact_url
from fsnb.online.redis import RedisOnlineStore, translate_errors
from fsnb.online.redis_topology_configs import RedisSentinelConfig

__all__ = ["RedisSentinelOnlineStore"]


def _hosts(config: RedisSentinelConfig) -> list[tuple[str, int]]:
    return [(a.rpartition(":")[0], int(a.rpartition(":")[2])) for a in config.sentinels]


def _sentinel_kwargs(config: RedisSentinelConfig, timeout: float) -> dict[str, Any]:
    kw: dict[str, Any] = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
    if config.sentinel_password:
        kw["password"] = config.sentinel_password
    return kw


class RedisSentinelOnlineStore(RedisOnlineStore):
    """Online rows and vectors on a Sentinel-managed primary (``redis+sentinel://s1:p1,s2:p2/NAME/DB``)."""

    name = "redis_sentinel"

    def __init__(self, config: RedisSentinelConfig) -> None:  # type: ignore[override]
        self.sentinel_config = config
        super().__init__(config)  # type: ignore[arg-type]  # the same fields; the pools below differ

    def __repr__(self) -> str:
        return f"RedisSentinelOnlineStore({redact_url(self.url)!r})"

    def _connection_kwargs(self) -> dict[str, Any]:
        c = self.sentinel_config
        kw: dict[str, Any] = {**self._options, "db": c.db}
        if c.username:
            kw["username"] = c.username
        if c.password:
            kw["password"] = c.password
        return kw

    def _connection_pool(self) -> redis.ConnectionPool:
        c = self.sentinel_config
        timeout = c.timeouts.connect
        kw = self._connection_kwargs()
        if c.tls:
            kw["connection_class"] = SentinelManagedSSLConnection
            if c.ssl_ca_certs:
                kw["ssl_ca_certs"] = c.ssl_ca_certs
        manager = Sentinel(_hosts(c), sentinel_kwargs=_sentinel_kwargs(c, timeout))
        return SentinelConnectionPool(c.master, manager, **kw)

    def _new_async_pool(self) -> Any:
        from redis.asyncio.sentinel import Sentinel as AsyncSentinel
        from redis.asyncio.sentinel import SentinelConnectionPool as AsyncPool
        from redis.asyncio.sentinel import SentinelManagedSSLConnection as AsyncSSL

        c = self.sentinel_config
        kw = self._connection_kwargs()
        if c.tls:
            kw["connection_class"] = AsyncSSL
            if c.ssl_ca_certs:
                kw["ssl_ca_certs"] = c.ssl_ca_certs
        manager = AsyncSentinel(_hosts(c), sentinel_kwargs=_sentinel_kwargs(c, c.timeouts.connect))
        return AsyncPool(c.master, manager, **kw)

    def _take(self) -> Any:
        """A connection, connected through the sentinels: redis-py's ``send_packed_command`` would reconnect a
        dropped Sentinel connection to the address it had (the failed primary), not ask the sentinels again."""
        conn = super()._take()
        if conn._sock is None:
            conn.connect()
        return conn

    def primary_address(self) -> str:
        """``host:port`` of the primary the sentinels name now."""
        pool = self.pool
        assert isinstance(pool, SentinelConnectionPool)
        with translate_errors(self.url):
            host, port = pool.get_master_address()
        return f"{host}:{port}"

    @classmethod
    def check(cls, config: RedisSentinelConfig, timeout: float) -> str:  # type: ignore[override]
        """``fsnb doctor``: the primary the sentinels name, its replicas, how many sentinels agree, its version."""
        url = config.to_url()
        manager = Sentinel(_hosts(config), sentinel_kwargs=_sentinel_kwargs(config, timeout),
                           socket_timeout=timeout, socket_connect_timeout=timeout)
        with translate_errors(url):
            host, port = manager.discover_master(config.master)
            replicas = manager.discover_slaves(config.master)
            answering = 0
            for s in manager.sentinels:
                try:
                    s.ping()
                    answering += 1
                except (redis.RedisError, OSError):
                    pass
            client = manager.master_for(config.master, db=config.db, username=config.username or None,
                                        password=config.password or None)
            try:
                client.ping()
                version = client.info("server").get("redis_version", "?")
            finally:
                client.close()
        return (
            f"redis_sentinel {redact_url(url)} · primary {config.master} at {host}:{port} · {len(replicas)} "
            f"replica(s) · {answering}/{len(config.sentinels)} sentinels answering · server {version}"
        )
