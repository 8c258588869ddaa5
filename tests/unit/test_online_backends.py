"""The online backend table: names and URL schemes to classes, serving vs byte backends, capability mixins, and a
backend that plugs in with one line of the table (the in-memory store of ``fsnb.testing``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest

import fsnb
from fsnb import errors
from fsnb.config import load_config
from fsnb.online._backends import backend_for_url, online_backend, open_online_store, register_online_backend
from fsnb.online.base import HashRead, OnlineStore, SupportsScan, SupportsVectors, require
from fsnb.online.configs import SqliteConfig
from fsnb.online.sqlite import SqliteOnlineStore
from fsnb.server.errors import error_payload, translate
from fsnb.testing import MemoryOnlineStore
from tests.unit.test_online_support import PROJECT, ago, snapshot, use_snapshot


@pytest.fixture(autouse=True)
def _no_fsnb_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FSNB_ONLINE_STORE", raising=False)


def test_the_table_names_each_backend_its_level_and_schemes() -> None:
    assert online_backend("sqlite").load() is SqliteOnlineStore
    assert not online_backend("redis").serves_requests
    remote = online_backend("remote")
    assert remote.serves_requests and remote.target == "fsnb.serving.remote:RemoteServing"
    assert [backend_for_url(u).name for u in ("rediss://h:1/0", "UNIX:///s.sock", "https://h", "a/b.db")] == [
        "redis", "redis", "remote", "sqlite"
    ]
    known = "memory, redis, redis_cluster, redis_sentinel, remote, sqlite"
    with pytest.raises(errors.ConfigError, match=f"known types are {known}"):
        online_backend("dynamodb")
    with pytest.raises(errors.ConfigError, match=r"\['redis'\] already belong to 'redis'"):
        register_online_backend("other", "x:Y", "x:Z", schemes=("redis",))


def test_a_backend_of_the_table_is_reached_by_type_and_by_url(tmp_path: Path) -> None:
    by_url = load_config(tmp_path, env={"FSNB_ONLINE_STORE": "memory://a"}).online_store
    by_type = load_config(tmp_path, env={}, online_store={"type": "memory", "label": "a"}).online_store
    assert by_url == by_type and by_url.describe() == "memory memory://a"
    with fsnb.Store(config=load_config(tmp_path, env={}, project=PROJECT, online_store="memory://b")) as store:
        assert isinstance(store.online, MemoryOnlineStore)
        use_snapshot(store, snapshot())
        df = {"user_id": [1], "age": [3], "city": ["x"], "score": [1.0], "event_timestamp": [ago(minutes=1)]}
        import pandas as pd

        store.write_to_online_store("profile", pd.DataFrame(df))
        assert store.get_online_features(["profile:city"], {"user_id": [1]}).to_dict()["city"] == ["x"]
        assert "memory memory://b" in repr(store)


def test_require_narrows_to_the_capability_or_names_what_is_missing() -> None:
    class RowsOnly(OnlineStore):
        name = "rows-only"

        def write_rows(self, keys: Sequence[bytes], field: bytes, rows: Sequence[bytes],
                       event_times_us: Sequence[int]) -> int:
            return 0

        def read_hashes(self, groups: Sequence[HashRead]) -> list[list[list[bytes | None]]]:
            return [[[None] * len(fields) for _ in keys] for keys, fields in groups]

    store = RowsOnly()
    with pytest.raises(errors.UnsupportedCapabilityError, match=r"rows-only.*'vectors'; build_vectors needs it"):
        require(store, SupportsVectors, what="build_vectors")
    with pytest.raises(errors.UnsupportedCapabilityError, match="'scan'"):
        list(store.scan_keys(b"p"))  # the old entry point raises the same error, never fakes a result
    assert store.capabilities == {"rows"}
    sqlite = SqliteOnlineStore(SqliteConfig(path=":memory:"))
    assert require(sqlite, SupportsScan) is sqlite
    sqlite.close()


def test_capability_mixins_must_come_before_the_contract() -> None:
    with pytest.raises(TypeError, match="before OnlineStore"):

        class Wrong(OnlineStore, SupportsScan):  # type: ignore[misc]
            pass


def test_the_server_asks_the_store_to_translate_its_library_errors() -> None:
    sqlite = SqliteOnlineStore(SqliteConfig(path=":memory:"))
    locked = sqlite3.OperationalError("database is locked")
    err = translate(locked, online=sqlite)
    assert isinstance(err, errors.OnlineStoreUnavailableError) and err.__cause__ is locked
    assert error_payload(locked, sqlite)[0] == 503
    assert error_payload(locked)[0] == 500  # nobody claims it: a bug, answered without details
    assert isinstance(translate(TimeoutError("t")), errors.OnlineStoreUnavailableError)
    sqlite.close()


def test_a_serving_backend_is_not_opened_as_a_byte_store(tmp_path: Path) -> None:
    cfg = load_config(tmp_path, env={}, online_store={"type": "remote", "path": "http://u:pw@127.0.0.1:6566",
                                                      "auth_token": "t0ken"})
    direct = r"direct online store \(memory, redis, redis_cluster, redis_sentinel, sqlite\)"
    with pytest.raises(errors.ConfigError, match=direct) as info:
        open_online_store(cfg)
    assert "pw" not in str(info.value) and "t0ken" not in str(info.value)
