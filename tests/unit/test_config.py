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
