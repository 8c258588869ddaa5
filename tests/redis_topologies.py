"""Real Redis topologies for tests: a 3-primary + 3-replica cluster and a primary + replica + 3 sentinels, built
from ``redis-server`` binaries on free loopback ports, started once per session and torn down by pid."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import redis

from tests.servers import free_port

#: milliseconds without an answer before a cluster node (or a sentinel's primary) is declared failed
NODE_TIMEOUT_MS = 1000


def cluster_port() -> int:
    """A free port of at most 55535 whose cluster bus port (+10000) is free too."""
    while True:
        port = free_port()
        if port <= 55535:
            with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind(("127.0.0.1", port + 10000))
                return port


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} is not installed; run scripts/setup.sh (apt-get install redis-server)")
    return path


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``check`` every 50 ms until it is true; TimeoutError naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(redis.RedisError, OSError):
            if check():
                return
        time.sleep(0.05)
    raise TimeoutError(f"{what} after {timeout} s")


@dataclass
class Process:
    """One redis-server process (a data node or a sentinel) with its own folder; restartable on the same port."""

    args: list[str]
    port: int = field(default_factory=free_port)
    dir: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="fsnb-topo-"))
    proc: subprocess.Popen[bytes] | None = None
    started: bool = False

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.port}"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2, socket_connect_timeout=2)

    def start(self) -> Process:
        """Start (or restart on the same port); a first start that loses its port to another process tries a
        new one."""
        for attempt in range(3):
            argv = [_binary("redis-server"), *[a.replace("{port}", str(self.port)) for a in self.args]]
            with open(os.path.join(self.dir, "server.log"), "ab") as log:
                self.proc = subprocess.Popen(argv, cwd=self.dir, stdout=log, stderr=log)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.proc.poll() is None:
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    self.started = True
                    return self
                time.sleep(0.02)
            self.kill()
            if self.started or attempt == 2:
                break
            self.port = cluster_port() if "--cluster-enabled" in self.args else free_port()
        raise RuntimeError(f"redis-server did not start on port {self.port}; see {self.dir}/server.log")

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL (a crash: no goodbye to the cluster or the sentinels)."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    def stop(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def _data_args() -> list[str]:
    return ["--port", "{port}", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "yes",
            "--loglevel", "warning"]


@dataclass
class RedisClusterTopology:
    """Three primaries with one replica each (``redis-cli --cluster create ... --cluster-replicas 1``)."""

    nodes: list[Process] = field(default_factory=list)

    @property
    def seeds(self) -> list[str]:
        return [n.addr for n in self.nodes]

    @property
    def url(self) -> str:
        return f"redis+cluster://{','.join(self.seeds)}/"

    def start(self) -> RedisClusterTopology:
        args = [*_data_args(), "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", str(NODE_TIMEOUT_MS), "--cluster-replica-validity-factor", "0",
                "--cluster-require-full-coverage", "yes"]
        try:
            for _ in range(6):
                self.nodes.append(Process(args, port=cluster_port()).start())
            subprocess.run(
                [_binary("redis-cli"), "--cluster", "create", *self.seeds, "--cluster-replicas", "1", "--cluster-yes"],
                check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60,
            )
            self.wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def info(self, node: Process) -> dict[str, str]:
        c = node.client()
        try:
            return dict(c.cluster("info"))
        finally:
            c.close()

    def slot_owners(self) -> dict[str, list[tuple[int, int]]]:
        """primary address → its slot ranges, as a live node's CLUSTER SLOTS reports them."""
        c = next(n for n in self.nodes if n.alive).client()
        try:
            slots = c.execute_command("CLUSTER SLOTS")
        finally:
            c.close()
        out: dict[str, list[tuple[int, int]]] = {}
        for start, end, (host, port, *_), *_ in slots:
            out.setdefault(f"{host.decode() if isinstance(host, bytes) else host}:{port}", []).append(
                (int(start), int(end)))
        return out

    def primaries(self) -> list[Process]:
        owners = self.slot_owners()
        return [n for n in self.nodes if n.alive and n.addr in owners]

    def node_at(self, addr: str) -> Process:
        return next(n for n in self.nodes if n.addr == addr)

    def wait_healthy(self, timeout: float = 30.0) -> None:
        """Every node up, ``cluster_state:ok`` everywhere, three primaries each with a connected replica."""

        def healthy() -> bool:
            if not all(n.alive for n in self.nodes):
                return False
            if any(self.info(n).get("cluster_state") != "ok" for n in self.nodes):
                return False
            c = self.nodes[0].client()
            try:
                slots = c.execute_command("CLUSTER SLOTS")
            finally:
                c.close()
            covered = sum(int(e) - int(s) + 1 for s, e, *_ in slots)
            return covered == 16384 and len(slots) >= 3 and all(len(r) >= 4 for r in slots)

        wait_until(healthy, timeout, "the test cluster is not healthy")

    def flush(self) -> None:
        for node in self.primaries():
            c = node.client()
            try:
                c.flushall()
            finally:
                c.close()

    def heal(self) -> None:
        """Restart killed nodes (they rejoin as replicas) and wait until the cluster is whole again."""
        for node in self.nodes:
            if not node.alive:
                node.start()
        self.wait_healthy()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


@dataclass
class RedisSentinelTopology:
    """A primary, one replica and three sentinels watching primary ``MASTER``."""

    MASTER = "fsnbmaster"
    data: list[Process] = field(default_factory=list)
    sentinels: list[Process] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"redis+sentinel://{','.join(s.addr for s in self.sentinels)}/{self.MASTER}/0"

    def start(self) -> RedisSentinelTopology:
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> RedisSentinelTopology:
        primary = Process(_data_args()).start()
        replica = Process([*_data_args(), "--replicaof", "127.0.0.1", str(primary.port)]).start()
        self.data = [primary, replica]
        for _ in range(3):
            s = Process(["sentinel.conf", "--sentinel"])
            with open(os.path.join(s.dir, "sentinel.conf"), "w") as f:
                f.write(
                    f"port {s.port}\nbind 127.0.0.1\nprotected-mode no\n"
                    f"sentinel monitor {self.MASTER} 127.0.0.1 {primary.port} 2\n"
                    f"sentinel down-after-milliseconds {self.MASTER} {NODE_TIMEOUT_MS}\n"
                    f"sentinel failover-timeout {self.MASTER} 4000\n"
                    f"sentinel parallel-syncs {self.MASTER} 1\n"
                )
            self.sentinels.append(s.start())
        self.wait_healthy()
        return self

    def primary_addr(self) -> str:
        c = self.sentinels[0].client()
        try:
            host, port = c.sentinel_get_master_addr_by_name(self.MASTER)
        finally:
            c.close()
        return f"{host.decode() if isinstance(host, bytes) else host}:{port}"

    def primary(self) -> Process:
        addr = self.primary_addr()
        return next(p for p in self.data if p.addr == addr)

    def wait_healthy(self, timeout: float = 30.0) -> None:
        """Each sentinel knows the others, the primary is up and has a replica in sync."""

        def healthy() -> bool:
            if not all(p.alive for p in [*self.data, *self.sentinels]):
                return False
            for s in self.sentinels:
                c = s.client()
                try:
                    m = c.sentinel_master(self.MASTER)
                finally:
                    c.close()
                if int(m.get("num-other-sentinels", 0)) < 2 or m.get("flags") != "master":
                    return False
            c = self.primary().client()
            try:
                info = c.info("replication")
            finally:
                c.close()
            return info.get("role") == "master" and int(info.get("connected_slaves", 0)) >= 1 and (
                info.get("slave0", {}).get("state") == "online")

        wait_until(healthy, timeout, "the test sentinel setup is not healthy")

    def flush(self) -> None:
        c = self.primary().client()
        try:
            c.flushall()
            c.wait(1, 2000)
        finally:
            c.close()

    def heal(self) -> None:
        """Restart a killed data node (the sentinels make it a replica of the new primary) and wait."""
        for p in self.data:
            if not p.alive:
                p.start()
        self.wait_healthy()

    def stop(self) -> None:
        for p in [*self.sentinels, *self.data]:
            p.stop()
