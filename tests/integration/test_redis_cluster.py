"""Redis Cluster: configuration, one pipeline per primary per request (counted on real connections), reads from
replicas and the cluster shape ``fsnb doctor`` shows. Faults (resharding, failover) are in
``test_redis_cluster_faults.py``; the shared contract is the online conformance suite."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
import redis
from redis._parsers.hiredis import _HiredisParser

import fsnb
from fsnb import errors
from fsnb.config import Config, load_config
from fsnb.online import redis as redis_module
from fsnb.online.redis_cluster import RedisClusterOnlineStore, key_slot
from fsnb.online.redis_topology_configs import RedisClusterConfig
from tests.redis_topologies import RedisClusterTopology
from tests.unit.test_online_support import PROJECT, ago, snapshot, use_snapshot

REFS = ["profile:age", "profile:city", "activity:clicks", "all_types:i64", "all_types:s"]


def cluster_store(url: str, **online: Any) -> fsnb.Store:
    cfg = RedisClusterConfig(**{**RedisClusterConfig.from_url(url), **online})
    store = fsnb.Store(config=Config(project=PROJECT, online_store=cfg))
    use_snapshot(store, snapshot(None))
    return store


def write_profiles(store: fsnb.Store, ids: list[int]) -> None:
    t = ago(minutes=1)
    store.write_to_online_store("profile", pd.DataFrame(
        {"user_id": ids, "age": ids, "city": [f"c{i}" for i in ids], "score": [i / 2 for i in ids],
         "event_timestamp": [t] * len(ids)}))


@pytest.fixture
def store(redis_cluster_url: str) -> Iterator[fsnb.Store]:
    s = cluster_store(redis_cluster_url)
    write_profiles(s, list(range(100)))
    yield s
    s.close()


def hmget_calls(nodes: list[str]) -> dict[str, int]:
    out = {}
    for addr in nodes:
        host, port = addr.split(":")
        client = redis.Redis(host=host, port=int(port))
        out[addr] = int(client.info("commandstats").get("cmdstat_hmget", {"calls": 0})["calls"])
        client.close()
    return out


def test_url_and_yaml_forms(tmp_path: Any) -> None:
    url = "rediss+cluster://app:s3cret@10.0.0.1:6379,10.0.0.2:6380/?ssl_ca_certs=/ca.pem"
    cfg = RedisClusterConfig(**RedisClusterConfig.from_url(url))
    assert cfg.nodes == ["10.0.0.1:6379", "10.0.0.2:6380"] and cfg.tls and cfg.password == "s3cret"
    assert cfg.to_url() == url
    assert cfg.node_url("10.0.0.2:6380") == "rediss://app:s3cret@10.0.0.2:6380/0?ssl_ca_certs=/ca.pem"
    assert "s3cret" not in repr(cfg) and "s3cret" not in cfg.describe()
    (tmp_path / "fsnb.yaml").write_text(
        "project: p\nonline_store:\n  type: redis_cluster\n  nodes: [127.0.0.1:7000, 127.0.0.1:7001]\n"
        "  read_from_replicas: true\n"
    )
    loaded = load_config(tmp_path).online_store
    assert isinstance(loaded, RedisClusterConfig) and loaded.read_from_replicas
    assert loaded.nodes == ["127.0.0.1:7000", "127.0.0.1:7001"]
    with pytest.raises(errors.ConfigError, match="database 0"):
        RedisClusterConfig.from_url("redis+cluster://127.0.0.1:7000/3")
    with pytest.raises(errors.ConfigError, match="host:port"):
        RedisClusterConfig.from_url("redis+cluster://127.0.0.1/")


def test_key_slot_agrees_with_the_server(redis_cluster: RedisClusterTopology) -> None:
    client = redis_cluster.nodes[0].client()
    keys = [b"fsnb:p:\x01user_id\x00i" + bytes([i]) * 8 for i in range(256)] + [b"a{tag}b", b"{}x", b"x{}{y}"]
    try:
        for k in keys:
            assert key_slot(k) == client.execute_command("CLUSTER KEYSLOT", k), k
    finally:
        client.close()


class Events:
    """Socket writes and reads on Redis connections, in order, with the port of each (sync and async)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.log: list[tuple[str, int]] = []
        log = self.log
        send = redis.connection.AbstractConnection.send_packed_command
        fill = _HiredisParser.read_from_socket
        awrite = asyncio.StreamWriter.write
        received = redis_module._Replies.data_received

        def logged_send(conn: Any, command: Any, check_health: bool = True) -> None:
            log.append(("send", conn.port))
            return send(conn, command, check_health)

        def logged_fill(parser: Any, *args: Any, **kwargs: Any) -> Any:
            log.append(("read", parser._sock.getpeername()[1]))
            return fill(parser, *args, **kwargs)

        def logged_write(writer: Any, data: Any) -> None:
            log.append(("send", writer.transport.get_extra_info("peername")[1]))
            return awrite(writer, data)

        def logged_received(protocol: Any, data: bytes) -> None:
            log.append(("read", 0))
            return received(protocol, data)

        monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", logged_send)
        monkeypatch.setattr(_HiredisParser, "read_from_socket", logged_fill)
        monkeypatch.setattr(asyncio.StreamWriter, "write", logged_write)
        monkeypatch.setattr(redis_module._Replies, "data_received", logged_received)

    def sends(self) -> list[int]:
        return [port for kind, port in self.log if kind == "send"]

    def all_sent_before_any_read(self) -> bool:
        kinds = [kind for kind, _ in self.log]
        return "read" in kinds and "send" not in kinds[kinds.index("read"):]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_hundred_entities_three_views_is_one_pipeline_per_primary(
    store: fsnb.Store, redis_cluster: RedisClusterTopology, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    ids = list(range(100))
    primaries = [p.addr for p in redis_cluster.primaries()]

    def counted(read: Any) -> tuple[Any, Events, dict[str, int]]:
        before = hmget_calls(primaries)
        events = Events(monkeypatch)
        got = read()
        monkeypatch.undo()
        after = hmget_calls(primaries)
        return got, events, {a: after[a] - before[a] for a in primaries}

    if mode == "sync":
        store.get_online_features(REFS, {"user_id": ids})  # connect, load the slot map, compile: not counted
        got, events, calls = counted(lambda: store.get_online_features(REFS, {"user_id": ids}))
    else:
        async def body() -> tuple[Any, Events, dict[str, int]]:
            await store.get_online_features_async(REFS, {"user_id": ids})  # this loop's connections: not counted
            before = hmget_calls(primaries)
            events = Events(monkeypatch)
            got = await store.get_online_features_async(REFS, {"user_id": ids})
            monkeypatch.undo()
            after = hmget_calls(primaries)
            return got, events, {a: after[a] - before[a] for a in primaries}

        got, events, calls = asyncio.run(body())
    sends = events.sends()
    assert sorted(sends) == sorted(int(a.split(":")[1]) for a in primaries)  # one pipeline per primary touched
    assert events.all_sent_before_any_read()  # all in flight at once
    assert sum(calls.values()) == 100  # one HMGET per entity, its three views in it
    assert got.to_dict()["age"] == ids and got.to_dict()["city"] == [f"c{i}" for i in ids]


def test_one_entity_touches_one_node(store: fsnb.Store, monkeypatch: pytest.MonkeyPatch) -> None:
    store.get_online_features(REFS, {"user_id": [7]})
    events = Events(monkeypatch)
    assert store.get_online_features(REFS, {"user_id": [7]}).to_dict()["age"] == [7]
    monkeypatch.undo()
    assert len(events.sends()) == 1


def test_reads_from_replicas_when_asked(redis_cluster_url: str, redis_cluster: RedisClusterTopology) -> None:
    s = cluster_store(redis_cluster_url, read_from_replicas=True)
    write_profiles(s, list(range(100)))
    for p in redis_cluster.primaries():  # the writes have reached the replicas
        c = p.client()
        c.wait(1, 2000)
        c.close()
    replicas = [n.addr for n in redis_cluster.nodes if n not in redis_cluster.primaries()]
    before = hmget_calls(replicas)
    for _ in range(4):
        assert s.get_online_features(["profile:age"], {"user_id": list(range(100))}).to_dict()["age"] == list(
            range(100))
    after = hmget_calls(replicas)
    assert sum(after[a] - before[a] for a in replicas) > 0
    s.close()


def test_doctor_line_shows_the_cluster_shape(redis_cluster_url: str) -> None:
    cfg = RedisClusterConfig(**RedisClusterConfig.from_url(redis_cluster_url))
    line = RedisClusterOnlineStore.check(cfg, 2.0)
    assert "cluster_state ok" in line and "3 primaries, 3 replicas" in line and "16384/16384 slots" in line
    assert "no failover in progress" in line


def test_unreachable_seeds_say_which(tmp_path: Any) -> None:
    from tests.servers import free_port

    port = free_port()
    cfg = RedisClusterConfig(nodes=[f"127.0.0.1:{port}"])
    store = RedisClusterOnlineStore(cfg)
    with pytest.raises(errors.OnlineStoreUnavailableError, match=f"127.0.0.1:{port}"):
        store.read_hashes([([b"k"], (b"f",))])
