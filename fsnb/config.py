"""``fsnb.yaml`` → typed, validated configuration.

Every section is optional: with no file at all a store runs on embedded defaults under ``<repo>/.fsnb/`` (SQLite
registry, SQLite online store, in-process DuckDB offline store). ``${VAR}`` and ``${VAR:-default}`` are replaced
from the environment; ``FSNB_REGISTRY`` and ``FSNB_ONLINE_STORE`` (a URL each) override the file.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, Union, get_args, get_origin, get_type_hints

from fsnb.errors import ConfigError

__all__ = [
    "AuthConfig",
    "Config",
    "FeatureServerConfig",
    "Limits",
    "OfflineStoreConfig",
    "OnlineStoreConfig",
    "RegistryConfig",
    "ServedLogConfig",
    "Timeouts",
    "load_config",
    "online_store_config",
    "redact_url",
]

CONFIG_FILE = "fsnb.yaml"
DATA_DIR = ".fsnb"


@dataclass(frozen=True)
class RegistryConfig:
    """Where definitions live: a SQLAlchemy URL (SQLite file by default, PostgreSQL in production)."""

    url: str = ""
    cache_ttl_seconds: float = 10.0

    def __repr__(self) -> str:
        return _redacted_repr(self)


@dataclass(frozen=True)
class Timeouts:
    """Seconds to wait: ``connect`` for a new connection, ``read`` for a reply. YAML: ``timeouts: {connect, read}``."""

    connect: float = 2.0
    read: float = 5.0

    def __post_init__(self) -> None:
        for name in ("connect", "read"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
                raise ConfigError(
                    f"timeouts.{name} must be a positive, finite number of seconds, got {value!r} "
                    "(0 does not mean 'no timeout': give the longest wait you accept, e.g. 30)"
                )


@dataclass(frozen=True)
class Limits:
    """Connection pool settings. YAML: ``limits: {pool_size, idle_timeout, retries}``.

    ``pool_size``: connections kept per store; ``idle_timeout``: seconds before an idle connection is recycled;
    ``retries``: retries of idempotent reads on connection errors.
    """

    pool_size: int = 50
    idle_timeout: float = 300.0
    retries: int = 3


#: the flat keys of fsnb before ``timeouts`` / ``limits``, and what replaces each.
RENAMED_ONLINE_KEYS = {
    "socket_timeout": "timeouts.read",
    "connect_timeout": "timeouts.connect",
    "connection_pool_size": "limits.pool_size",
    "connection_idle_timeout": "limits.idle_timeout",
    "connection_retries": "limits.retries",
}

#: where the online backends are listed (found by name: a plug-in lookup, not an import edge).
_ONLINE_BACKENDS = "fsnb.online._backends"


def _online_backends() -> Any:
    import importlib

    return importlib.import_module(_ONLINE_BACKENDS)


class _TaggedUnion(type):
    """``OnlineStoreConfig(type="redis", url=...)`` builds the config class of the backend ``type`` names."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if cls is OnlineStoreConfig:
            if args:
                raise TypeError("OnlineStoreConfig takes keyword arguments: OnlineStoreConfig(type=..., ...)")
            return online_store_config(kwargs, "online_store")
        return super().__call__(*args, **kwargs)


@dataclass(frozen=True)
class OnlineStoreConfig(metaclass=_TaggedUnion):
    """The online store section: a tagged union, ``{type: NAME, ...}`` builds backend NAME's own config class.

    Each backend's config subclasses this one and sets ``type``; ``OnlineStoreConfig(type="redis", url=...)``
    builds a ``RedisConfig``. The built-in backends are ``sqlite`` (embedded, the default), ``redis`` and
    ``remote`` (an fsnb feature server); see :mod:`fsnb.online._backends`.
    """

    type: ClassVar[str] = ""

    @classmethod
    def from_url(cls, url: str) -> dict[str, Any]:
        """The fields a URL of one of this backend's schemes stands for (``FSNB_ONLINE_STORE``, ``Store(...)``)."""
        raise ConfigError(f"online store {cls.type!r} cannot be given as a URL; use a mapping with type: {cls.type}")

    def to_url(self) -> str:
        """A URL that :meth:`from_url` reads back (what a server subprocess gets as ``FSNB_ONLINE_STORE``)."""
        raise ConfigError(f"online store {self.type!r} has no URL form")

    def describe(self) -> str:
        """``"<type> <where>"``, secrets redacted (reprs, ``fsnb doctor``); opens nothing."""
        try:
            return f"{self.type} {redact_url(self.to_url())}"
        except ConfigError:
            return self.type

    def resolved(self, repo: Path, where: str) -> OnlineStoreConfig:
        """This config with paths anchored at ``repo`` and required fields checked (``where`` names the file)."""
        return self

    def __repr__(self) -> str:
        return _redacted_repr(self)


def online_store_config(data: Mapping[str, Any], where: str) -> OnlineStoreConfig:
    """Build ``online_store: {type: NAME, ...}`` into backend NAME's config class; errors name the key path."""
    fields = dict(data)
    name = fields.pop("type", "sqlite")
    for old, new in RENAMED_ONLINE_KEYS.items():
        if old in fields:
            section, key = new.split(".")
            raise ConfigError(
                f"{where}.{old} was renamed to {new}: write `{section}: {{{key}: {fields[old]!r}}}` in online_store"
            )
    if not isinstance(name, str):
        raise ConfigError(f"{where}.type must be a backend name, got {name!r}")
    try:
        backend = _online_backends().online_backend(name)
    except ConfigError as e:
        raise ConfigError(f"{where}.type: {e}") from None
    built: OnlineStoreConfig = _build(backend.config_class, fields, where)
    return built


def _redacted_repr(obj: Any) -> str:
    """The dataclass repr of ``obj`` with passwords in its URLs replaced by ``***`` (configs get printed)."""
    shown = ", ".join(f"{f.name}={getattr(obj, f.name)!r}" for f in dataclasses.fields(obj) if f.repr)
    return redact_url(f"{type(obj).__name__}({shown})")


@dataclass(frozen=True)
class OfflineStoreConfig:
    """The offline engine. ``duckdb``: ``database`` (empty means in-memory), ``threads``, ``memory_limit``.
    ``spark``: ``master`` (``local[2]``, ``spark://host:7077``, ...; empty: the active session or ``local[*]``)
    and ``conf`` (Spark settings, e.g. ``{spark.driver.memory: 2g}``)."""

    type: Literal["duckdb", "spark"] = "duckdb"
    database: str = ""
    threads: int = 0
    memory_limit: str = ""
    master: str = ""
    conf: dict[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class AuthConfig:
    """Feature-server auth: ``no_auth`` or static ``token`` credentials with scopes (``read``, ``write``)."""

    type: Literal["no_auth", "token"] = "no_auth"
    #: token → scopes, e.g. ``{"${READ_TOKEN}": ["read"], "${ADMIN_TOKEN}": ["read", "write"]}``.
    tokens: dict[str, list[str]] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"AuthConfig(type={self.type!r}, tokens=<{len(self.tokens)} redacted>)"


@dataclass(frozen=True)
class ServedLogConfig:
    """Served-feature logging (``feature_server.logging``; ``Store(log_served=...)`` for direct reads).

    Each sampled read (keys, request data, values, statuses, event times, request time and id, duration) is
    queued off the request path as bytes; every ``flush_interval`` seconds a background thread writes what is
    queued (``fsnb serve``: a segment its shipper process converts) as Parquet files under ``path``
    (``<repo>/.fsnb/served_log`` by default) partitioned by service and date. A full queue (``max_queue`` reads)
    drops and counts. Values of views tagged ``sensitive: "true"`` are left out unless
    ``log_sensitive``; files older than ``retention_days`` are removed (0 keeps them).
    """

    enabled: bool = False
    path: str = ""
    sample_rate: float = 1.0
    flush_interval: float = 1.0
    max_queue: int = 100_000
    retention_days: float = 7.0
    log_sensitive: bool = False

    def __post_init__(self) -> None:
        if not 0.0 <= self.sample_rate <= 1.0:
            raise ConfigError(f"logging.sample_rate must be between 0 and 1, got {self.sample_rate!r}")
        if not 0 < self.flush_interval < math.inf:
            raise ConfigError(f"logging.flush_interval must be a positive number of seconds, got "
                              f"{self.flush_interval!r}")
        if self.max_queue < 1:
            raise ConfigError(f"logging.max_queue must be at least 1 record, got {self.max_queue!r}")
        if not 0 <= self.retention_days < math.inf:
            raise ConfigError(f"logging.retention_days must be ≥ 0 (0 keeps every file), got {self.retention_days!r}")


@dataclass(frozen=True)
class FeatureServerConfig:
    host: str = "127.0.0.1"
    port: int = 6566
    workers: int = 1
    keep_alive: float = 5.0
    max_requests: int = 0
    max_requests_jitter: int = 0
    worker_connections: int = 1000
    registry_ttl: float = 10.0
    max_batch_rows: int = 10000
    #: seconds a stopping worker may take to finish its requests.
    graceful_timeout: float = 30.0
    #: seconds a client has to send a request's headers (from connection open or the request's first byte): 408.
    header_timeout: float = 10.0
    #: seconds a client has to send a whole request body once its headers are in: 408.
    body_timeout: float = 30.0
    #: bytes of request line + headers a request may have: 431 beyond.
    max_header_bytes: int = 65536
    #: bytes of body a request may have: 413 beyond.
    max_body_bytes: int = 64 * 1024 * 1024
    tls_key: str = ""
    tls_cert: str = ""
    auth: AuthConfig = field(default_factory=AuthConfig)
    #: run the functions of on-demand feature views the registry holds; false refuses such a registry (its
    #: functions are code, run by whoever can apply to the registry).
    allow_functions: bool = True
    #: served-feature logging: see :class:`ServedLogConfig`.
    logging: ServedLogConfig = field(default_factory=ServedLogConfig)


@dataclass(frozen=True)
class Config:
    """A whole store's configuration. ``repo_path`` anchors relative paths."""

    project: str = "default"
    repo_path: Path = field(default_factory=Path.cwd)
    registry: RegistryConfig = field(default_factory=RegistryConfig)
    online_store: OnlineStoreConfig = field(default_factory=lambda: online_store_config({}, "online_store"))
    offline_store: OfflineStoreConfig = field(default_factory=OfflineStoreConfig)
    feature_server: FeatureServerConfig = field(default_factory=FeatureServerConfig)
    #: pushed rows (``push``, ``write_to_online_store``) may carry event times at most this many seconds after now;
    #: a row further in the future would win newer-wins against every later write of its entity.
    max_future_seconds: float = 86400.0
    #: the file this came from, if any.
    source_file: Path | None = None

    def __post_init__(self) -> None:
        if not 0 < self.max_future_seconds < math.inf:
            raise ConfigError(
                f"max_future_seconds must be a positive number of seconds, got {self.max_future_seconds!r}"
            )

    @property
    def data_dir(self) -> Path:
        return self.repo_path / DATA_DIR

    def resolve_path(self, path: str) -> Path:
        """A path from the config or a definition, relative to the repo folder."""
        p = Path(os.path.expanduser(path))
        return p if p.is_absolute() else self.repo_path / p


_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _interpolate(value: Any, where: str, env: Mapping[str, str] | None = None) -> Any:
    env = os.environ if env is None else env
    if isinstance(value, str):

        def sub(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            raise ConfigError(f"{where}: environment variable {name} is not set (write ${{{name}:-default}})")

        return _ENV.sub(sub, value)
    if isinstance(value, dict):
        return {
            (_interpolate(k, where, env) if isinstance(k, str) else k): _interpolate(v, f"{where}.{k}", env)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_interpolate(v, where, env) for v in value]
    return value


def _build(cls: type, data: Any, where: str) -> Any:
    """Build dataclass ``cls`` from a mapping, rejecting unknown keys and wrong types with the key's path."""
    if isinstance(data, cls):
        return data
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where} must be a mapping, got {type(data).__name__}")
    if cls is OnlineStoreConfig:
        return online_store_config(data, where)
    module = sys.modules.get(cls.__module__)  # public classes say ``fsnb``: this module's names come first
    hints = get_type_hints(cls, globalns={**(vars(module) if module else {}), **globals()})
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; known keys are {sorted(names - _INTERNAL_KEYS)}")
    kwargs = {k: _convert(hints[k], v, f"{where}.{k}") for k, v in data.items()}
    try:
        return cls(**kwargs)
    except ConfigError as e:  # a value check of the class itself: say where the value came from
        raise ConfigError(f"{where}: {e}") from None


#: Config fields set by the loader, never written in fsnb.yaml (not offered as known keys).
_INTERNAL_KEYS = frozenset({"repo_path", "source_file"})


def _convert(tp: Any, value: Any, where: str) -> Any:
    origin = get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, where)  # type: ignore[arg-type]
    if origin is Literal:
        allowed = get_args(tp)
        if value not in allowed:
            raise ConfigError(f"{where} must be one of {list(allowed)}, got {value!r}")
        return value
    if origin is Union or tp is Path or origin is type(Path | None):
        if value is None:
            return None
        return Path(value)
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where} must be a mapping, got {type(value).__name__}")
        _, vt = get_args(tp)
        return {str(k): _convert(vt, v, f"{where}.{k}") for k, v in value.items()}
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{where} must be a list, got {type(value).__name__}")
        (et,) = get_args(tp)
        return [_convert(et, v, where) for v in value]
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
            return int(value)
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise ConfigError(f"{where} must be a number (float), got {value!r}")
    elif tp is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
    else:
        return value
    raise ConfigError(f"{where} must be {tp.__name__}, got {value!r}")


def registry_config_from(value: Any, where: str) -> dict[str, Any]:
    """``registry:`` as a URL/path string or a mapping with ``path``/``url``."""
    if isinstance(value, str):
        return {"url": value}
    if isinstance(value, Mapping):
        d = dict(value)
        if "path" in d:
            if "url" in d:
                raise ConfigError(f"{where}: give path or url, not both")
            d["url"] = d.pop("path")
        d.pop("registry_type", None)
        return d
    raise ConfigError(f"{where} must be a URL, a path or a mapping")


def online_config_from(value: Any, where: str) -> Any:
    """``online_store:`` as a mapping or config (kept as is) or a URL / path, read by the backend that claims its
    scheme (redis://, rediss://, unix://, sqlite:///, http(s)://, a plain path: see :mod:`fsnb.online._backends`)."""
    if isinstance(value, (Mapping, OnlineStoreConfig)):
        return value
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where} must be a URL, a path or a mapping")
    try:
        backend = _online_backends().backend_for_url(value)
    except ConfigError as e:
        raise ConfigError(f"{where}: {e}") from None
    return {"type": backend.name, **backend.config_class.from_url(value)}


def _normalise_registry_url(url: str, repo: Path) -> str:
    if not url:
        return f"sqlite:///{repo / DATA_DIR / 'registry.db'}"
    low = url.lower()
    if low.startswith("postgresql://") or low.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if low.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        if path and path != ":memory:" and not os.path.isabs(path):
            return f"sqlite:///{repo / path}"
        return url
    if "://" in url:
        return url
    p = Path(os.path.expanduser(url))
    return f"sqlite:///{p if p.is_absolute() else repo / p}"


def repo_file(path: str, repo: Path) -> str:
    """A file path from the config: ``~`` expanded (as for the registry), relative paths under the repo."""
    p = os.path.expanduser(path)
    return p if os.path.isabs(p) else str(repo / p)


def redact_url(url: str) -> str:
    """A URL (or a message quoting one) with any password replaced by ``***``: ``user:PASSWORD@`` and
    ``password=`` / ``ssl_password=`` query or conninfo parameters."""
    url = re.sub(r"(://[^:/@\s]*:)[^@\s]*@", r"\1***@", url)
    return re.sub(r"(password=)[^&\s;#'\"]*", r"\1***", url, flags=re.IGNORECASE)


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Config:
    """Read ``fsnb.yaml`` from ``path`` (a folder or the file itself), apply env overrides and keyword overrides.

    ``overrides`` take the same keys as the file's top level (``project``, ``registry``, ``online_store``, ...).
    """
    env = os.environ if env is None else env
    base = Path(path) if path is not None else Path.cwd()
    file: Path | None = None
    if base.is_file() or base.suffix in (".yaml", ".yml"):
        file, repo = base.resolve(), base.resolve().parent
        if not base.exists():
            raise ConfigError(f"config file {base} does not exist")
    else:
        repo = base
        if (base / CONFIG_FILE).is_file():
            file = (base / CONFIG_FILE).resolve()
    raw: dict[str, Any] = {}
    where = str(file) if file else "fsnb config"
    if file is not None:
        import yaml

        try:
            loaded = yaml.safe_load(file.read_text()) or {}
        except yaml.YAMLError as e:
            raise ConfigError(f"{file}: not valid YAML: {e}") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"{file}: the top level must be a mapping")
        raw = _interpolate(loaded, where, env)
    # precedence: keyword overrides, then FSNB_REGISTRY / FSNB_ONLINE_STORE, then the file
    if env.get("FSNB_REGISTRY"):
        reg = registry_config_from(raw.get("registry", {}), f"{where}: registry")
        reg["url"] = env["FSNB_REGISTRY"]
        raw["registry"] = reg
    if env.get("FSNB_ONLINE_STORE"):
        raw["online_store"] = online_config_from(env["FSNB_ONLINE_STORE"], "FSNB_ONLINE_STORE")
    for k, v in overrides.items():
        if v is not None:
            raw[k] = v
    raw.pop("repo_path", None)
    if "registry" in raw:
        raw["registry"] = registry_config_from(raw["registry"], f"{where}: registry")
    if "online_store" in raw:
        online_raw = online_config_from(raw["online_store"], f"{where}: online_store")
        if isinstance(online_raw, Mapping):
            online_raw = online_store_config(online_raw, f"{where}: online_store")
        raw["online_store"] = online_raw
    repo = repo.resolve()
    cfg: Config = _build(Config, {**raw, "source_file": file}, where)
    project = cfg.project
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*", project):
        raise ConfigError(f"{where}: project name {project!r} must be letters, digits, '_' or '-'")
    registry = dataclasses.replace(cfg.registry, url=_normalise_registry_url(cfg.registry.url, repo))
    online = cfg.online_store.resolved(repo, where)
    offline = cfg.offline_store
    if offline.database and offline.database != ":memory:":
        offline = dataclasses.replace(offline, database=repo_file(offline.database, repo))
    return dataclasses.replace(
        cfg, repo_path=repo, registry=registry, online_store=online, offline_store=offline
    )
