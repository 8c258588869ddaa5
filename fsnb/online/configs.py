"""The config classes of the built-in online backends: ``online_store: {type: NAME, ...}`` builds NAME's class.

Light on purpose (no driver imports): loading a config imports this module, never redis-py or the server. A new
backend keeps its config class in a light module of its own and names it in :mod:`fsnb.online._backends`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

from fsnb.config import DATA_DIR, Limits, OnlineStoreConfig, Timeouts, repo_file
from fsnb.errors import ConfigError

__all__ = ["RedisConfig", "RemoteConfig", "SqliteConfig"]


@dataclass(frozen=True, repr=False)
class SqliteConfig(OnlineStoreConfig):
    """The embedded SQLite store: ``path`` is the database file (default ``<repo>/.fsnb/online.db``;
    ``:memory:`` for a private in-process database)."""

    type: ClassVar[str] = "sqlite"
    path: str = ""
    #: rows per write transaction.
    write_batch_size: int = 2000

    @classmethod
    def from_url(cls, url: str) -> dict[str, Any]:
        return {"path": url[len("sqlite:///"):] if url.lower().startswith("sqlite:///") else url}

    def to_url(self) -> str:
        return f"sqlite:///{self.path}"

    def describe(self) -> str:
        return f"sqlite {self.path or ':memory:'}"

    def resolved(self, repo: Path, where: str) -> SqliteConfig:
        p = self.path or str(repo / DATA_DIR / "online.db")
        return replace(self, path=p if p == ":memory:" else repo_file(p, repo))


@dataclass(frozen=True, repr=False)
class RedisConfig(OnlineStoreConfig):
    """Redis: a ``redis://``, ``rediss://`` (TLS; ``?ssl_ca_certs=...``) or ``unix://`` URL."""

    type: ClassVar[str] = "redis"
    url: str = "redis://127.0.0.1:6379/0"
    timeouts: Timeouts = field(default_factory=Timeouts)
    #: ``limits.pool_size`` connections per store (``idle_timeout`` and ``retries`` are not used by Redis).
    limits: Limits = field(default_factory=Limits)
    #: expire entity hashes this long after their last write (0 = never).
    key_ttl_seconds: int = 0
    #: rows per pipelined write.
    write_batch_size: int = 2000

    @classmethod
    def from_url(cls, url: str) -> dict[str, Any]:
        return {"url": url}

    def to_url(self) -> str:
        return self.url


@dataclass(frozen=True, repr=False)
class RemoteConfig(OnlineStoreConfig):
    """An fsnb feature server at ``path`` (``http(s)://host:port``, as Feast names it): a serving backend."""

    type: ClassVar[str] = "remote"
    path: str = ""
    #: bearer token sent to the server (never shown in reprs).
    auth_token: str = field(default="", repr=False)
    timeouts: Timeouts = field(default_factory=Timeouts)
    #: ``idle_timeout``: recycle a session idle this long; ``retries``: of idempotent reads on connection errors
    #: and 502/503/504.
    limits: Limits = field(default_factory=Limits)

    @classmethod
    def from_url(cls, url: str) -> dict[str, Any]:
        return {"path": url}

    def to_url(self) -> str:
        return self.path

    def resolved(self, repo: Path, where: str) -> RemoteConfig:
        if not self.path:
            raise ConfigError(f"{where}: online_store of type remote needs path: http://host:port")
        return self
