"""Redis Sentinel: the URL and YAML forms, the doctor line, and a SIGKILLed primary during reads (sync, async and
through the feature server) and during a materialization: reads fail only inside a bounded window and recover
with no restart; the interrupted materialization, rerun, equals a clean run."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import fsnb
from fsnb import errors
from fsnb.config import Config, Limits, Timeouts, load_config
from fsnb.online.configs import RemoteConfig
from fsnb.online.redis_sentinel import RedisSentinelOnlineStore
from fsnb.online.redis_topology_configs import RedisSentinelConfig
from tests.integration.test_redis_cluster_faults import IDS, WINDOW_S, Reader, async_reader
from tests.redis_topologies import RedisSentinelTopology, wait_until
from tests.unit.test_online_support import PROJECT, ago, snapshot, use_snapshot


def sentinel_store(url: str, **online: Any) -> fsnb.Store:
    cfg = RedisSentinelConfig(**{**RedisSentinelConfig.from_url(url), **online})
    store = fsnb.Store(config=Config(project=PROJECT, online_store=cfg))
    use_snapshot(store, snapshot(None))
    return store


def test_url_and_yaml_forms(tmp_path: Path) -> None:
    url = "rediss+sentinel://app:s3cret@10.0.0.1:26379,10.0.0.2:26379/mymaster/2?ssl_ca_certs=/ca.pem"
    cfg = RedisSentinelConfig(**RedisSentinelConfig.from_url(url))
    assert (cfg.sentinels, cfg.master, cfg.db, cfg.tls) == (["10.0.0.1:26379", "10.0.0.2:26379"], "mymaster", 2, True)
    assert cfg.to_url() == url and "s3cret" not in cfg.describe()
    (tmp_path / "fsnb.yaml").write_text(
        "project: p\nonline_store:\n  type: redis_sentinel\n  sentinels: [127.0.0.1:26379]\n  master: m\n"
    )
    loaded = load_config(tmp_path).online_store
    assert isinstance(loaded, RedisSentinelConfig) and loaded.master == "m"
    with pytest.raises(errors.ConfigError, match="name the primary"):
        RedisSentinelConfig.from_url("redis+sentinel://127.0.0.1:26379/")


def test_doctor_line_names_the_primary(redis_sentinel_url: str, redis_sentinel: RedisSentinelTopology) -> None:
    cfg = RedisSentinelConfig(**RedisSentinelConfig.from_url(redis_sentinel_url))
    line = RedisSentinelOnlineStore.check(cfg, 2.0)
    assert f"at {redis_sentinel.primary_addr()}" in line and "1 replica(s)" in line and "3/3 sentinels" in line


@pytest.fixture
def stores(redis_sentinel_url: str, tmp_path: Path) -> Iterator[dict[str, fsnb.Store]]:
    from tests.online.backends.remote import start_server

    writer = sentinel_store(redis_sentinel_url)
    t = ago(minutes=1)
    writer.write_to_online_store("profile", pd.DataFrame(
        {"user_id": IDS, "age": IDS, "city": [f"c{i}" for i in IDS], "score": [1.0] * len(IDS),
         "event_timestamp": [t] * len(IDS)}))
    server = start_server(tmp_path / "server", redis_sentinel_url)
    remote = fsnb.Store(config=Config(project=PROJECT, online_store=RemoteConfig(
        path=next(server), limits=Limits(retries=0), timeouts=Timeouts(read=30))))
    use_snapshot(remote, snapshot(None))
    out = {"sync": sentinel_store(redis_sentinel_url, timeouts=Timeouts(read=1.0, connect=0.5)),
           "async": sentinel_store(redis_sentinel_url, timeouts=Timeouts(read=1.0, connect=0.5)), "server": remote}
    yield out
    for s in [writer, *out.values()]:
        s.close()
    for _ in server:
        pass


def test_primary_killed_during_reads(redis_sentinel: RedisSentinelTopology, stores: dict[str, fsnb.Store]) -> None:
    sync, remote = stores["sync"], stores["server"]
    rs = [
        Reader("sync", lambda: sync.get_online_features(["profile:age", "profile:city"], {"user_id": IDS})),
        Reader("async", async_reader(stores["async"])),
        Reader("server", lambda: remote.get_online_features(["profile:age", "profile:city"], {"user_id": IDS})),
    ]
    old = redis_sentinel.primary()
    for r in rs:
        r.__enter__()
    try:
        time.sleep(0.3)
        killed = time.monotonic()
        old.kill()
        with contextlib.suppress(TimeoutError):
            wait_until(lambda: all(r.ok_after(killed + WINDOW_S) >= 5 for r in rs), 40, "reads did not recover")
    finally:
        for r in rs:
            r.__exit__()
    for r in rs:
        assert r.ok_after(killed + WINDOW_S) >= 5, (r.name, r.outcomes[-3:], redis_sentinel.primary_addr(), old.addr)
    assert redis_sentinel.primary_addr() != old.addr
    for r in rs:
        late = [(round(t - killed, 2), what) for t, what in r.failures() if t > killed + WINDOW_S]
        assert late == [], r.name
        assert {what for _, what in r.failures()} <= {"OnlineStoreUnavailableError"}, r.name


def dump(topology: RedisSentinelTopology) -> dict[bytes, Any]:
    c = topology.primary().client()
    out: dict[bytes, Any] = {}
    try:
        for k in c.scan_iter(count=1000):
            out[k] = c.hgetall(k) if c.type(k) == b"hash" else c.get(k)
            if b":vm:" in k:
                out[k] = out[k].split(b":")[0]  # the vector marker's build time differs per build
    finally:
        c.close()
    return out


def test_primary_killed_during_materialization_then_rerun_equals_clean(
    redis_sentinel: RedisSentinelTopology, redis_sentinel_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fsnb.notebook.demo import banking_store

    store = banking_store(tmp_path / "bank", customers=1500, online_store=redis_sentinel_url, materialize=False)
    end = datetime.now(UTC)
    store.materialize("2000-01-01", end, progress=False)
    clean = dump(redis_sentinel)
    redis_sentinel.flush()

    calls = {"n": 0}
    write_rows = RedisSentinelOnlineStore.write_rows

    def kill_on_second_write(self: Any, *args: Any) -> int:
        calls["n"] += 1
        if calls["n"] == 2:
            redis_sentinel.primary().kill()
        return write_rows(self, *args)

    monkeypatch.setattr(RedisSentinelOnlineStore, "write_rows", kill_on_second_write)
    with contextlib.suppress(errors.OnlineStoreUnavailableError):  # raised until the sentinels promote a replica
        store.materialize("2000-01-01", end, progress=False)
    monkeypatch.undo()
    assert calls["n"] == 2

    def rerun() -> bool:
        try:
            store.materialize("2000-01-01", end, progress=False)
        except errors.OnlineStoreUnavailableError:
            return False
        return True

    wait_until(rerun, 30, "the materialization did not succeed after the failover")
    assert dump(redis_sentinel) == clean
    store.close()
