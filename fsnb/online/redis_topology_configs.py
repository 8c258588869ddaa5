"""The configs of the Redis Cluster and Redis Sentinel online stores (light: no redis-py import).

``online_store: {type: redis_cluster, nodes: [host:port, ...]}`` or ``redis+cluster://h1:p1,h2:p2/``
(``rediss+cluster://`` for TLS); ``online_store: {type: redis_sentinel, sentinels: [...], master: NAME}`` or
``redis+sentinel://s1:p1,s2:p2/NAME/DB`` (``rediss+sentinel://``: TLS to the primary). Credentials in the URL
(``user:password@``) are the data nodes'; a sentinel password goes in ``sentinel_password`` (YAML or the
``?sentinel_password=`` query parameter). ``?ssl_ca_certs=/path/ca.pem`` as for single Redis.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import parse_qs, quote, unquote, urlencode

from fsnb.config import Limits, OnlineStoreConfig, Timeouts
from fsnb.errors import ConfigError

__all__ = ["RedisClusterConfig", "RedisSentinelConfig", "parse_addresses"]


def parse_addresses(value: str | list[str], what: str) -> list[str]:
    """``host:port`` strings from a comma-separated string or a list, checked."""
    items = [s.strip() for s in (value.split(",") if isinstance(value, str) else value) if s.strip()]
    if not items:
        raise ConfigError(f"{what}: give at least one host:port")
    for item in items:
        host, _, port = item.rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(f"{what}: {item!r} is not host:port (e.g. 10.0.0.5:6379)")
    return items


def _split_url(url: str, schemes: tuple[str, str]) -> tuple[bool, str, str, str, str, dict[str, str]]:
    """``(tls, username, password, hosts, path, query)`` of a ``scheme://[user:pass@]h1:p1,h2:p2/path?q`` URL
    (urllib cannot parse several hosts)."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in schemes:
        raise ConfigError(f"{url!r}: expected {schemes[0]}://host:port,host:port/... or {schemes[1]}://...")
    netloc, _, tail = rest.partition("/")
    path, _, query = tail.partition("?")
    if "?" in netloc:
        netloc, _, query = netloc.partition("?")
    creds, at, hosts = netloc.rpartition("@")
    user, _, password = creds.partition(":") if at else ("", "", "")
    q = {k: v[-1] for k, v in parse_qs(query).items()}
    return scheme.lower() == schemes[1], unquote(user), unquote(password), hosts, path, q


def _auth(username: str, password: str) -> str:
    if not (username or password):
        return ""
    return f"{quote(username, safe='')}:{quote(password, safe='')}@" if username else f":{quote(password, safe='')}@"


@dataclass(frozen=True, repr=False)
class _RedisFamily(OnlineStoreConfig):
    """Fields shared by the Redis family: credentials, TLS, timeouts, pool size, key expiry and write chunks."""

    username: str = ""
    password: str = field(default="", repr=False)
    #: TLS to every data node (``rediss+...://``).
    tls: bool = False
    #: CA bundle that signed the servers' certificates (TLS).
    ssl_ca_certs: str = ""
    timeouts: Timeouts = field(default_factory=Timeouts)
    #: ``limits.pool_size`` connections per node and store.
    limits: Limits = field(default_factory=Limits)
    #: expire entity hashes this long after their last write (0 = never).
    key_ttl_seconds: int = 0
    #: rows per pipelined write.
    write_batch_size: int = 2000

    def node_url(self, address: str, db: int = 0) -> str:
        """The plain redis-py URL of one data node (``host:port``), with this config's credentials and TLS."""
        ca = urlencode({'ssl_ca_certs': self.ssl_ca_certs}, safe='/')
        query = f'?{ca}' if self.tls and self.ssl_ca_certs else ''
        return f"{'rediss' if self.tls else 'redis'}://{_auth(self.username, self.password)}{address}/{db}{query}"


@dataclass(frozen=True, repr=False)
class RedisClusterConfig(_RedisFamily):
    """Redis Cluster: ``nodes`` are seed addresses (any reachable node gives the slot map).

    ``read_from_replicas``: read from the replicas of each slot's primary (round robin with the primary). Replicas
    are updated asynchronously: a read may miss writes of the last replication lag (sub-millisecond on a quiet
    network, longer under load or during a partition); writes always go to primaries.
    """

    type: ClassVar[str] = "redis_cluster"
    nodes: list[str] = field(default_factory=list)
    read_from_replicas: bool = False

    @classmethod
    def from_url(cls, url: str) -> dict[str, Any]:
        tls, user, password, hosts, path, q = _split_url(url, ("redis+cluster", "rediss+cluster"))
        if path.strip("/") not in ("", "0"):
            raise ConfigError(f"{url!r}: Redis Cluster has only database 0; end the URL with / (or /0)")
        out: dict[str, Any] = {"nodes": parse_addresses(hosts, url), "tls": tls, "username": user, "password": password}
        if "ssl_ca_certs" in q:
            out["ssl_ca_certs"] = q["ssl_ca_certs"]
        if "read_from_replicas" in q:
            out["read_from_replicas"] = q["read_from_replicas"].lower() in ("1", "true", "yes")
        return out

    def to_url(self) -> str:
        query = {k: v for k, v in (("ssl_ca_certs", self.ssl_ca_certs),) if v}
        if self.read_from_replicas:
            query["read_from_replicas"] = "true"
        q = f"?{urlencode(query, safe='/')}" if query else ""
        scheme = "rediss+cluster" if self.tls else "redis+cluster"
        return f"{scheme}://{_auth(self.username, self.password)}{','.join(self.nodes)}/{q}"

    def resolved(self, repo: Any, where: str) -> RedisClusterConfig:
        parse_addresses(self.nodes, f"{where}.nodes")
        return self


@dataclass(frozen=True, repr=False)
class RedisSentinelConfig(_RedisFamily):
    """A Sentinel-managed primary: ``sentinels`` (``host:port``) are asked where primary ``master`` is."""

    type: ClassVar[str] = "redis_sentinel"
    sentinels: list[str] = field(default_factory=list)
    master: str = ""
    db: int = 0
    #: the sentinels' own password, if they require one.
    sentinel_password: str = field(default="", repr=False)

    @classmethod
    def from_url(cls, url: str) -> dict[str, Any]:
        tls, user, password, hosts, path, q = _split_url(url, ("redis+sentinel", "rediss+sentinel"))
        master, _, db = path.strip("/").partition("/")
        if not master:
            raise ConfigError(f"{url!r}: name the primary: redis+sentinel://s1:p1,s2:p2/MASTER_NAME/DB")
        if db and not db.isdigit():
            raise ConfigError(f"{url!r}: the database after the primary's name must be a number, got {db!r}")
        out: dict[str, Any] = {
            "sentinels": parse_addresses(hosts, url), "master": master, "db": int(db or 0),
            "tls": tls, "username": user, "password": password,
        }
        for key in ("ssl_ca_certs", "sentinel_password"):
            if key in q:
                out[key] = q[key]
        return out

    def to_url(self) -> str:
        query = {k: v for k, v in (("ssl_ca_certs", self.ssl_ca_certs),
                                   ("sentinel_password", self.sentinel_password)) if v}
        q = f"?{urlencode(query, safe='/')}" if query else ""
        scheme = "rediss+sentinel" if self.tls else "redis+sentinel"
        auth = _auth(self.username, self.password)
        return f"{scheme}://{auth}{','.join(self.sentinels)}/{self.master}/{self.db}{q}"

    @property
    def url(self) -> str:
        """The URL form (what messages show, redacted)."""
        return self.to_url()

    def resolved(self, repo: Any, where: str) -> RedisSentinelConfig:
        parse_addresses(self.sentinels, f"{where}.sentinels")
        if not self.master:
            raise ConfigError(f"{where}: online_store of type redis_sentinel needs master: <the primary's name>")
        return self
