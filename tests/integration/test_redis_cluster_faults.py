"""Redis Cluster under resharding and failover, with readers running (sync, async and through the feature server):
slots holding materialized keys migrate between primaries with zero failed reads; a SIGKILLed primary makes reads
fail only inside a bounded window, with no restart; an interrupted materialization, rerun, equals a clean run."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import fsnb
from fsnb import errors
from fsnb.config import Config, Limits, Timeouts
from fsnb.online.configs import RemoteConfig
from fsnb.online.redis_cluster import RedisClusterOnlineStore, key_slot
from tests.integration.test_redis_cluster import cluster_store, write_profiles
from tests.redis_topologies import NODE_TIMEOUT_MS, RedisClusterTopology, wait_until
from tests.unit.test_online_support import PROJECT, snapshot, use_snapshot

IDS = list(range(200))
#: a read that starts this long after a primary's SIGKILL must succeed (the issue's bound)
WINDOW_S = NODE_TIMEOUT_MS / 1000 + 2.0


@dataclass
class Reader:
    """A bounded read loop in a thread: every read checked against the written values, each outcome timed."""

    name: str
    read: Callable[[], Any]
    outcomes: list[tuple[float, str]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def check(self) -> str:
        try:
            d = self.read().to_dict()
        except errors.FsnbError as e:
            return type(e).__name__
        if d["age"] != IDS or d["city"] != [f"c{i}" for i in IDS]:
            return "wrong values"
        return "ok"

    def run(self) -> None:
        deadline = time.monotonic() + 45
        for _ in range(20_000):
            if self.stop.is_set() or time.monotonic() > deadline:
                break
            started = time.monotonic()
            self.outcomes.append((started, self.check()))
            time.sleep(0.005)

    def __enter__(self) -> Reader:
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        assert self.thread is not None
        self.thread.join(60)

    def failures(self) -> list[tuple[float, str]]:
        return [o for o in self.outcomes if o[1] != "ok"]

    def ok_after(self, t: float) -> int:
        return sum(1 for started, what in self.outcomes if started > t and what == "ok")


def async_reader(store: fsnb.Store) -> Callable[[], Any]:
    """A read through ``get_online_features_async`` on one long-lived event loop (as a server worker has)."""
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()

    def read() -> Any:
        return asyncio.run_coroutine_threadsafe(
            store.get_online_features_async(["profile:age", "profile:city"], {"user_id": IDS}), loop
        ).result(60)

    return read


@pytest.fixture
def stores(redis_cluster_url: str, tmp_path: Path) -> Iterator[dict[str, fsnb.Store]]:
    """The cluster with IDS written; a sync store, an async one and a remote one through a feature server."""
    from tests.online.backends.remote import start_server

    writer = cluster_store(redis_cluster_url)
    write_profiles(writer, IDS)
    server = start_server(tmp_path / "server", redis_cluster_url)
    remote = fsnb.Store(config=Config(project=PROJECT, online_store=RemoteConfig(
        path=next(server), limits=Limits(retries=0), timeouts=Timeouts(read=30))))
    use_snapshot(remote, snapshot(None))
    out = {"sync": cluster_store(redis_cluster_url, timeouts=Timeouts(read=1.0)),
           "async": cluster_store(redis_cluster_url, timeouts=Timeouts(read=1.0)), "server": remote}
    yield out
    for s in [writer, *out.values()]:
        s.close()
    for _ in server:  # stop the server
        pass


def readers(stores: dict[str, fsnb.Store]) -> list[Reader]:
    sync, asyn, remote = stores["sync"], stores["async"], stores["server"]
    return [
        Reader("sync", lambda: sync.get_online_features(["profile:age", "profile:city"], {"user_id": IDS})),
        Reader("async", async_reader(asyn)),
        Reader("server", lambda: remote.get_online_features(["profile:age", "profile:city"], {"user_id": IDS})),
    ]


def migrate(cluster: RedisClusterTopology, slots: list[int], src: str, dst: str) -> None:
    """Move ``slots`` from primary ``src`` to ``dst`` as ``redis-cli --cluster reshard`` does (SETSLOT IMPORTING /
    MIGRATING, MIGRATE key by key, SETSLOT NODE), pausing between keys so readers meet the half-moved slot."""
    source, target = cluster.node_at(src).client(), cluster.node_at(dst).client()
    src_id = source.execute_command("CLUSTER MYID")
    dst_id = target.execute_command("CLUSTER MYID")
    primaries = [p.client() for p in cluster.primaries()]
    by_slot: dict[int, list[bytes]] = {}
    for k in source.scan_iter(count=1000):  # bytes (CLUSTER GETKEYSINSLOT's reply is decoded by redis-py)
        by_slot.setdefault(key_slot(k), []).append(k)
    try:
        for slot in slots:
            target.execute_command("CLUSTER SETSLOT", slot, "IMPORTING", src_id)
            source.execute_command("CLUSTER SETSLOT", slot, "MIGRATING", dst_id)
            for key in by_slot.get(slot, []):
                source.execute_command("MIGRATE", "127.0.0.1", cluster.node_at(dst).port, "", 0, 5000, "KEYS", key)
                time.sleep(0.01)
            assert source.execute_command("CLUSTER COUNTKEYSINSLOT", slot) == 0
            for c in [target, source, *primaries]:
                c.execute_command("CLUSTER SETSLOT", slot, "NODE", dst_id)
    finally:
        for c in [source, target, *primaries]:
            c.close()


def slots_with_keys(cluster: RedisClusterTopology, primary: str) -> list[int]:
    client = cluster.node_at(primary).client()
    try:
        return sorted({key_slot(k) for k in client.scan_iter(match=b"fsnb:*", count=1000)})
    finally:
        client.close()


def test_resharding_under_load_fails_no_read(
    redis_cluster: RedisClusterTopology, stores: dict[str, fsnb.Store]
) -> None:
    primaries = [p.addr for p in redis_cluster.primaries()]
    src, dst = primaries[0], primaries[1]
    slots = slots_with_keys(redis_cluster, src)[:25]
    assert slots
    rs = readers(stores)
    for r in rs:
        r.__enter__()
    try:
        time.sleep(0.3)
        migrate(redis_cluster, slots, src, dst)
        time.sleep(0.3)
    finally:
        for r in rs:
            r.__exit__()
    assert set(slots) <= {s for a, b in redis_cluster.slot_owners()[dst] for s in range(a, b + 1)}
    for r in rs:
        assert len(r.outcomes) >= 3, r.name
        assert r.failures() == [], r.name


def test_primary_killed_during_reads(redis_cluster: RedisClusterTopology, stores: dict[str, fsnb.Store]) -> None:
    victim = redis_cluster.node_at(max(
        (p.addr for p in redis_cluster.primaries()), key=lambda a: len(slots_with_keys(redis_cluster, a))))
    rs = readers(stores)
    for r in rs:
        r.__enter__()
    try:
        time.sleep(0.3)
        killed = time.monotonic()
        victim.kill()
        wait_until(lambda: all(r.ok_after(killed + WINDOW_S) >= 5 for r in rs), 40, "reads did not recover")
    finally:
        for r in rs:
            r.__exit__()
    for r in rs:
        late = [(round(t - killed, 2), what) for t, what in r.failures() if t > killed + WINDOW_S]
        assert late == [], r.name  # no failure starts after the window
        assert {what for _, what in r.failures()} <= {"OnlineStoreUnavailableError"}, r.name


def dump(cluster: RedisClusterTopology) -> dict[bytes, Any]:
    """Every key of the cluster and its value (hash fields or string); of a vector marker (``<fingerprint>:<build
    time>``) only the fingerprint, since each build stamps its own time."""
    out: dict[bytes, Any] = {}
    for p in cluster.primaries():
        c = p.client()
        try:
            for k in c.scan_iter(count=1000):
                out[k] = c.hgetall(k) if c.type(k) == b"hash" else c.get(k)
                if b":vm:" in k:
                    out[k] = out[k].split(b":")[0]
        finally:
            c.close()
    return out


def test_primary_killed_during_materialization_then_rerun_equals_clean(
    redis_cluster: RedisClusterTopology, redis_cluster_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fsnb.notebook.demo import banking_store

    store = banking_store(tmp_path / "bank", customers=1500, online_store=redis_cluster_url, materialize=False)
    end = datetime.now(UTC)
    store.materialize("2000-01-01", end, progress=False)
    clean = dump(redis_cluster)
    assert len(clean) >= 3000  # hashes and vectors
    redis_cluster.flush()

    calls = {"n": 0}
    write_rows = RedisClusterOnlineStore.write_rows

    def kill_on_second_write(self: Any, *args: Any) -> int:
        calls["n"] += 1
        if calls["n"] == 2:
            redis_cluster.node_at(redis_cluster.primaries()[0].addr).kill()
        return write_rows(self, *args)

    monkeypatch.setattr(RedisClusterOnlineStore, "write_rows", kill_on_second_write)
    with contextlib.suppress(errors.OnlineStoreUnavailableError):  # the failover outlasted the read timeout
        store.materialize("2000-01-01", end, progress=False)
    monkeypatch.undo()
    assert calls["n"] >= 2
    wait_until(lambda: sum(b - a + 1 for rs in redis_cluster.slot_owners().values() for a, b in rs) == 16384
               and all(redis_cluster.info(p).get("cluster_state") == "ok" for p in redis_cluster.primaries()),
               30, "the cluster did not fail over")
    store.materialize("2000-01-01", end, progress=False)
    assert dump(redis_cluster) == clean
    store.close()
