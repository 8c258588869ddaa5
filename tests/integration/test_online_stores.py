"""Store-specific behaviour: Redis over a unix socket, the factory, SQLite across threads and processes' files."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import fsnb
from fsnb import errors
from fsnb.config import Config, OnlineStoreConfig, load_config
from fsnb.online._backends import open_online_store
from fsnb.online.base import SupportsAsync, SupportsKeyExpiry, SupportsScan, require
from fsnb.online.configs import SqliteConfig
from fsnb.online.redis import RedisOnlineStore
from fsnb.online.sqlite import SqliteOnlineStore
from tests.unit.test_online_support import ago, make_store, snapshot, use_snapshot

PROFILE = ["profile:age", "profile:city"]


def profile_rows(ids: list[int], minutes: float = 1) -> pd.DataFrame:
    return pd.DataFrame({"user_id": ids, "age": ids, "city": [f"c{i}" for i in ids], "score": [1.0] * len(ids),
                         "event_timestamp": [ago(minutes=minutes)] * len(ids)})


@pytest.fixture
def unix_redis() -> Iterator[str]:
    folder = tempfile.mkdtemp(prefix="fsnb-redis-unix-")
    sock = os.path.join(folder, "redis.sock")
    proc = subprocess.Popen(
        [shutil.which("redis-server") or "redis-server", "--port", "0", "--unixsocket", sock, "--save", "",
         "--appendonly", "no", "--dir", folder],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while not os.path.exists(sock) and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"unix://{sock}"
    proc.kill()
    proc.wait()
    shutil.rmtree(folder, ignore_errors=True)


def test_redis_over_a_unix_socket(unix_redis: str) -> None:
    store = make_store("redis", unix_redis)
    store.write_to_online_store("profile", profile_rows([1, 2]))
    assert store.get_online_features(PROFILE, {"user_id": [2, 1, 3]}).to_dict() == {
        "user_id": [2, 1, 3], "age": [2, 1, None], "city": ["c2", "c1", None]
    }
    store.close()


def test_factory_picks_the_store_from_config(tmp_path: Path, redis_url: str) -> None:
    cfg = load_config(tmp_path, online_store=redis_url)
    redis_store = open_online_store(cfg)
    assert isinstance(redis_store, RedisOnlineStore) and isinstance(redis_store, SupportsAsync)
    assert redis_store.describe() == f"redis {redis_url}"
    redis_store.close()
    sqlite_store = open_online_store(load_config(tmp_path))
    assert isinstance(sqlite_store, SqliteOnlineStore)
    assert sqlite_store.path == str(tmp_path.resolve() / ".fsnb" / "online.db")
    assert sqlite_store.describe() == f"sqlite {sqlite_store.path}"
    assert not isinstance(sqlite_store, SupportsKeyExpiry)
    sqlite_store.close()


def test_a_remote_online_store_is_not_a_byte_store(tmp_path: Path) -> None:
    """materialize / build_vectors / the server need the store itself: one clear error, naming what to do."""
    cfg = load_config(tmp_path, env={}, online_store="http://127.0.0.1:6566")
    with pytest.raises(errors.ConfigError, match=r"direct online store.*remote \(http://127.0.0.1:6566\)"):
        open_online_store(cfg)
    with fsnb.Store(config=cfg) as store, pytest.raises(errors.ConfigError, match="direct online store"):
        store.materialize("2024-01-01", "2024-01-02", progress=False)


def test_sqlite_declares_what_it_cannot_do() -> None:
    store = SqliteOnlineStore(SqliteConfig(path=":memory:"))
    with pytest.raises(errors.UnsupportedCapabilityError, match=r"sqlite :memory:.*'key_expiry'.*ttl"):
        require(store, SupportsKeyExpiry, what="ttl")
    with pytest.raises(errors.UnsupportedCapabilityError, match="key_expiry"):
        store.require("key_expiry")  # the string form, kept while callers move to the mixins
    assert store.capabilities == {"rows", "async", "vectors", "scan", "delete"}
    assert require(store, SupportsScan) is store
    store.close()


def test_sqlite_file_store_is_safe_across_threads(tmp_path: Path) -> None:
    path = tmp_path / "online.db"
    cfg = OnlineStoreConfig(type="sqlite", path=str(path))
    store = fsnb.Store(config=Config(project="t", online_store=cfg))
    use_snapshot(store, snapshot())
    failures: list[BaseException] = []

    def writer(base: int) -> None:
        try:
            for k in range(20):
                store.write_to_online_store("profile", profile_rows([base * 100 + k]))
        except BaseException as e:  # pragma: no cover - reported below
            failures.append(e)

    def reader() -> None:
        try:
            for _ in range(40):
                got = store.get_online_features(PROFILE, {"user_id": [0, 100, 200]})
                assert set(got.statuses["age"]) <= {"PRESENT", "NOT_FOUND"}
        except BaseException as e:  # pragma: no cover - reported below
            failures.append(e)

    threads = [threading.Thread(target=writer, args=(b,)) for b in range(4)]
    threads += [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures
    ids = [b * 100 + k for b in range(4) for k in range(20)]
    assert store.get_online_features(PROFILE, {"user_id": ids}).to_dict()["age"] == ids
    store.close()
    # a second store on the same file sees the data (WAL mode)
    again = fsnb.Store(config=Config(project="t", online_store=cfg))
    use_snapshot(again, snapshot())
    assert again.get_online_features(PROFILE, {"user_id": [301]}).to_dict()["age"] == [301]
    mode = again.online._conn().execute("PRAGMA journal_mode").fetchone()[0]  # type: ignore[attr-defined]
    assert mode == "wal"
    again.close()
