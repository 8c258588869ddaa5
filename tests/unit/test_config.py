"""fsnb.yaml → Config: defaults with no file, errors naming key and file, ${ENV} interpolation, env overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

import fsnb
from fsnb.config import load_config, redact_url
from fsnb.errors import ConfigError


@pytest.fixture(autouse=True)
def _no_fsnb_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FSNB_REGISTRY", raising=False)
    monkeypatch.delenv("FSNB_ONLINE_STORE", raising=False)


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "fsnb.yaml").write_text(text)
    return tmp_path / "fsnb.yaml"


def test_defaults_in_an_empty_folder(tmp_path: Path) -> None:
    cfg = load_config(tmp_path)
    assert cfg.project == "default" and cfg.source_file is None
    assert cfg.repo_path == tmp_path.resolve()
    assert cfg.registry.url == f"sqlite:///{tmp_path.resolve() / '.fsnb' / 'registry.db'}"
    assert cfg.online_store.type == "sqlite"
    assert cfg.online_store.path == str(tmp_path.resolve() / ".fsnb" / "online.db")
    assert cfg.offline_store.type == "duckdb" and cfg.offline_store.database == ""
    assert cfg.registry.cache_ttl_seconds == 10.0


def test_store_works_in_an_empty_folder(tmp_path: Path) -> None:
    with fsnb.Store(tmp_path) as store:
        assert store.project == "default"
        assert store.snapshot().version == 0 and store.list_feature_views() == []
    assert (tmp_path / ".fsnb" / "registry.db").exists()


def test_file_values_and_relative_paths(tmp_path: Path) -> None:
    write(tmp_path, "project: bank\nregistry:\n  path: reg/r.db\n  cache_ttl_seconds: 2\n"
                    "online_store: {type: sqlite, path: on.db}\noffline_store: {database: off.duckdb}\n"
                    "feature_server: {port: '7000', workers: 3}\n")
    cfg = load_config(tmp_path)
    root = tmp_path.resolve()
    assert cfg.project == "bank" and cfg.source_file == root / "fsnb.yaml"
    assert cfg.registry.url == f"sqlite:///{root / 'reg' / 'r.db'}" and cfg.registry.cache_ttl_seconds == 2.0
    assert cfg.online_store.path == str(root / "on.db")
    assert cfg.offline_store.database == str(root / "off.duckdb")
    assert cfg.feature_server.port == 7000 and cfg.feature_server.workers == 3
    assert cfg.resolve_path("data/x.parquet") == root / "data" / "x.parquet"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("registri: x.db\n", ["registri", "unknown"]),
        ("online_store: {type: redis, urll: 'redis://x'}\n", ["online_store", "urll"]),
        ("feature_server: {port: lots}\n", ["feature_server.port", "int", "lots"]),
        ("registry: {cache_ttl_seconds: [1]}\n", ["registry.cache_ttl_seconds", "float"]),
        ("online_store: {type: memcached}\n", ["online_store.type", "memcached"]),
        ("project: 'bad name'\n", ["bad name"]),
        ("project: [unclosed\n", ["not valid YAML"]),
        ("- just\n- a list\n", ["mapping"]),
    ],
)
def test_errors_name_the_key_and_the_file(tmp_path: Path, text: str, words: list[str]) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert str(path.resolve()) in str(info.value)
    for w in words:
        assert w in str(info.value)


def test_env_interpolation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FSNB_TEST_REDIS_PORT", "6390")
    monkeypatch.delenv("FSNB_TEST_UNSET", raising=False)
    write(tmp_path, "project: ${FSNB_TEST_UNSET:-fallback}\n"
                    "online_store: {type: redis, url: 'redis://127.0.0.1:${FSNB_TEST_REDIS_PORT}/0'}\n")
    cfg = load_config(tmp_path)
    assert cfg.project == "fallback" and cfg.online_store.url == "redis://127.0.0.1:6390/0"
    write(tmp_path, "project: ${FSNB_TEST_UNSET}\n")
    with pytest.raises(ConfigError, match="FSNB_TEST_UNSET"):
        load_config(tmp_path)


def test_env_vars_override_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "project: bank\nregistry: r.db\nonline_store: {type: sqlite, path: on.db}\n")
    monkeypatch.setenv("FSNB_REGISTRY", "postgresql://fsnb:pw@127.0.0.1:5432/fsnb")
    monkeypatch.setenv("FSNB_ONLINE_STORE", "redis://127.0.0.1:6379/2")
    cfg = load_config(tmp_path)
    assert cfg.registry.url == "postgresql+psycopg://fsnb:pw@127.0.0.1:5432/fsnb"
    assert cfg.online_store.type == "redis" and cfg.online_store.url == "redis://127.0.0.1:6379/2"
    monkeypatch.setenv("FSNB_ONLINE_STORE", "http://127.0.0.1:6566")
    assert load_config(tmp_path).online_store.type == "remote"


def test_keyword_overrides(tmp_path: Path) -> None:
    write(tmp_path, "project: bank\n")
    cfg = load_config(tmp_path, project="other", online_store="redis://127.0.0.1:6379/0")
    assert cfg.project == "other" and cfg.online_store.type == "redis"
    store = fsnb.Store(tmp_path, registry=str(tmp_path / "kw.db"))
    assert store.config.registry.url == f"sqlite:///{tmp_path / 'kw.db'}"


def test_redact_url_hides_passwords() -> None:
    assert redact_url("postgresql://fsnb:s3cret@db:5432/x") == "postgresql://fsnb:***@db:5432/x"
    assert redact_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    assert redact_url("rediss://:pw@h:1/0?ssl_ca_certs=/ca.pem&ssl_password=k") == (
        "rediss://:***@h:1/0?ssl_ca_certs=/ca.pem&ssl_password=***"
    )
    assert redact_url("host=db password=s3cret dbname=x") == "host=db password=*** dbname=x"
    assert "s3cret" not in repr(fsnb.Store(config=load_config(Path("/nonexistent-fsnb"),
                                                             registry="postgresql://u:s3cret@h/db")))


def test_online_store_timeouts_and_limits_are_nested_with_visible_defaults(tmp_path: Path) -> None:
    from fsnb.config import Limits, Timeouts
    from fsnb.online.configs import RedisConfig

    write(tmp_path, "online_store:\n  type: redis\n  url: redis://127.0.0.1:6390/1\n"
                    "  timeouts: {read: 0.5}\n  limits: {pool_size: '8', retries: 1}\n")
    o = load_config(tmp_path).online_store
    assert isinstance(o, RedisConfig)
    assert o.timeouts == Timeouts(connect=2.0, read=0.5)
    assert o.limits == Limits(pool_size=8, idle_timeout=300.0, retries=1)
    assert RedisConfig().timeouts == Timeouts(connect=2.0, read=5.0)
    assert RedisConfig().limits == Limits(pool_size=50, idle_timeout=300.0, retries=3)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("socket_timeout", "timeouts.read"),
        ("connect_timeout", "timeouts.connect"),
        ("connection_pool_size", "limits.pool_size"),
        ("connection_idle_timeout", "limits.idle_timeout"),
        ("connection_retries", "limits.retries"),
    ],
)
def test_old_flat_online_keys_name_the_new_key(tmp_path: Path, old: str, new: str) -> None:
    path = write(tmp_path, f"online_store: {{type: redis, {old}: 3}}\n")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    message = str(info.value)
    assert str(path.resolve()) in message and f"online_store.{old}" in message and new in message


def test_nested_online_errors_name_the_key_path(tmp_path: Path) -> None:
    write(tmp_path, "online_store: {type: redis, timeouts: {read: soon}}\n")
    with pytest.raises(ConfigError, match=r"fsnb.yaml: online_store\.timeouts\.read must be a number"):
        load_config(tmp_path)
    write(tmp_path, "online_store: {type: sqlite, url: 'redis://x'}\n")  # a key of another backend
    with pytest.raises(ConfigError, match=r"online_store: unknown key\(s\) \['url'\]; known keys are \['path'"):
        load_config(tmp_path)
    write(tmp_path, "online_store: {type: memcached}\n")
    known = "memory, redis, redis_cluster, redis_sentinel, remote, sqlite"
    with pytest.raises(ConfigError, match=f"known types are {known}"):
        load_config(tmp_path)


@pytest.mark.parametrize(
    ("url", "cls", "field", "value"),
    [
        ("redis://127.0.0.1:6379/2", "RedisConfig", "url", "redis://127.0.0.1:6379/2"),
        ("rediss://127.0.0.1:6380/0?ssl_ca_certs=/ca.pem", "RedisConfig", "url",
         "rediss://127.0.0.1:6380/0?ssl_ca_certs=/ca.pem"),
        ("unix:///tmp/redis.sock", "RedisConfig", "url", "unix:///tmp/redis.sock"),
        ("http://127.0.0.1:6566", "RemoteConfig", "path", "http://127.0.0.1:6566"),
        ("https://127.0.0.1:6566", "RemoteConfig", "path", "https://127.0.0.1:6566"),
        ("sqlite:////abs/online.db", "SqliteConfig", "path", "/abs/online.db"),
        ("/abs/other.db", "SqliteConfig", "path", "/abs/other.db"),
    ],
)
def test_each_url_scheme_picks_its_backend(tmp_path: Path, url: str, cls: str, field: str, value: str) -> None:
    for cfg in (load_config(tmp_path, env={"FSNB_ONLINE_STORE": url}), load_config(tmp_path, online_store=url)):
        assert type(cfg.online_store).__name__ == cls
        assert getattr(cfg.online_store, field) == value
        assert load_config(tmp_path, env={"FSNB_ONLINE_STORE": cfg.online_store.to_url()}).online_store == (
            cfg.online_store
        )  # the URL a server subprocess gets reads back the same config
    with pytest.raises(ConfigError, match=r"ftp://.*known schemes are .*redis://.*sqlite://"):
        load_config(tmp_path, online_store="ftp://127.0.0.1/x")


def test_online_store_config_builds_the_named_backend_and_hides_the_token(tmp_path: Path) -> None:
    from fsnb.config import OnlineStoreConfig
    from fsnb.online.configs import RemoteConfig

    remote = OnlineStoreConfig(type="remote", path="http://127.0.0.1:6566", auth_token="t0ken",
                               limits={"retries": 0})
    assert isinstance(remote, RemoteConfig) and remote.limits.retries == 0
    assert "t0ken" not in repr(remote) and "t0ken" not in repr(load_config(tmp_path, online_store=remote))
    assert remote.describe() == "remote http://127.0.0.1:6566"
    with pytest.raises(ConfigError, match="remote needs path"):
        load_config(tmp_path, online_store={"type": "remote"})


def test_loading_a_config_imports_no_driver(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys; from fsnb.config import load_config\n"
        f"for url in ('redis://127.0.0.1:6379/0', 'http://127.0.0.1:6566', 'x.db'):\n"
        f"    load_config({str(tmp_path)!r}, env={{}}, online_store=url).online_store.describe()\n"
        "heavy = [m for m in ('redis', 'requests', 'duckdb', 'pandas', 'fsnb.serving', 'fsnb.server') "
        "if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
