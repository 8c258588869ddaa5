"""The Redis Cluster online store: single-Redis keys and bytes, routed by slot, one pipeline per node.

Every command fsnb sends is single-key (an HMGET per entity hash, a GET per vector, one newer-wins script call per
written row), so no command spans slots and the write script stays atomic per key. A request groups its commands
by the primary that owns each key's slot (the slot map is cached, and refreshed on ``MOVED`` or a lost node),
writes every node's pipeline before reading any reply, then reads them: one round trip per node touched, in
parallel, sync and async alike.

Replies that redirect (``MOVED``: the slot moved for good; ``ASK``: the slot is being migrated and this key already
left) re-send only those commands, to the node named. ``TRYAGAIN``, ``CLUSTERDOWN`` and lost nodes (a failover in
progress) re-send after a short pause until ``timeouts.read`` has passed since the request began, then raise
:class:`fsnb.errors.OnlineStoreUnavailableError` (503 on the feature server).
"""

from __future__ import annotations

import asyncio
import itertools
import struct
import time
import weakref
from binascii import crc_hqx
from collections.abc import Iterator, Sequence
from typing import Any

import redis
from redis.exceptions import (
    AskError,
    ClusterDownError,
    MasterDownError,
    MovedError,
    NoScriptError,
    ReadOnlyError,
    TryAgainError,
)

from fsnb.config import redact_url
from fsnb.errors import FsnbError, OnlineStoreError, OnlineStoreUnavailableError
from fsnb.online._fork import forget_after_fork
from fsnb.online.base import (
    HashRead,
    OnlineStore,
    SupportsAsync,
    SupportsDelete,
    SupportsKeyExpiry,
    SupportsScan,
    SupportsVectors,
    hash_columns,
)
from fsnb.online.redis import _WRITE_LUA, _AsyncLink, _escape_glob, _pack, _split, read_raw, translated
from fsnb.online.redis_topology_configs import RedisClusterConfig

__all__ = ["RedisClusterOnlineStore", "key_slot"]

SLOTS = 16384
_ASKING = b"*1\r\n$6\r\nASKING\r\n"
#: errors after which the same command succeeds once the cluster settles (resharding step, failover)
_TRANSIENT = (TryAgainError, ClusterDownError, MasterDownError, ReadOnlyError)
_CONNECTION = (redis.ConnectionError, redis.TimeoutError, OSError)
#: pause between re-sends of transient failures (seconds), growing to the cap
_BACKOFF = (0.01, 0.05, 0.1, 0.2)


def key_slot(key: bytes) -> int:
    """The cluster slot of ``key``: CRC16 of the key, or of its ``{hash tag}`` when it has one (as Redis does)."""
    start = key.find(b"{")
    if start >= 0:
        end = key.find(b"}", start + 1)
        if end > start + 1:
            key = key[start + 1 : end]
    return crc_hqx(key, 0) & (SLOTS - 1)


# ---------------------------------------------------------------------------------------------- commands


class _Commands:
    """n single-key commands: ``keys[i]`` is command i's key; :meth:`pack` packs a run of them (ascending)."""

    __slots__ = ("keys",)

    def __init__(self, keys: list[bytes]) -> None:
        self.keys = keys

    def pack(self, idx: Sequence[int]) -> bytes:
        raise NotImplementedError


class _Uniform(_Commands):
    """Commands that are ``head + key + tail`` per group of keys (HMGETs of a read, GETs)."""

    __slots__ = ("ends", "heads", "tails")

    def __init__(self, groups: Sequence[tuple[Sequence[bytes], bytes, bytes]]) -> None:
        keys: list[bytes] = []
        self.ends: list[int] = []
        self.heads = [h for _, h, _ in groups]
        self.tails = [t for _, _, t in groups]
        for group_keys, _, _ in groups:
            keys.extend(group_keys)
            self.ends.append(len(keys))
        super().__init__(keys)

    def pack(self, idx: Sequence[int]) -> bytes:
        keys, ends = self.keys, self.ends
        if len(ends) == 1:
            return _pack(self.heads[0], [keys[i] for i in idx], self.tails[0])
        out: list[bytes] = []
        run: list[bytes] = []
        g = 0
        for i in idx:
            if i >= ends[g]:
                if run:
                    out.append(_pack(self.heads[g], run, self.tails[g]))
                    run = []
                while i >= ends[g]:
                    g += 1
            run.append(keys[i])
        if run:
            out.append(_pack(self.heads[g], run, self.tails[g]))
        return b"".join(out)


class _Packed(_Commands):
    """Commands packed one by one (writes: script calls, SETs, deletes)."""

    __slots__ = ("packed",)

    def __init__(self, keys: list[bytes], packed: list[bytes]) -> None:
        super().__init__(keys)
        self.packed = packed

    def pack(self, idx: Sequence[int]) -> bytes:
        packed = self.packed
        return b"".join([packed[i] for i in idx])


def _command(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


# ---------------------------------------------------------------------------------------------- nodes


class _Node:
    """One cluster node: its address, a sync pool with this store's idle connections, and async links per loop."""

    __slots__ = ("addr", "async_idle", "async_pools", "idle", "pool", "readonly", "url", "__weakref__")

    def __init__(self, addr: str, url: str, options: dict[str, Any], readonly: bool) -> None:
        self.addr = addr
        self.url = url
        self.readonly = readonly
        extra = {"redis_connect_func": _readonly_on_connect} if readonly else {}
        self.pool = redis.ConnectionPool.from_url(url, **options, **extra)
        self.idle: list[Any] = []
        self.async_pools: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
        self.async_idle: weakref.WeakKeyDictionary[Any, list[_Link]] = weakref.WeakKeyDictionary()

    def __repr__(self) -> str:
        return f"<node {self.addr}{' (replica)' if self.readonly else ''}>"

    def take(self) -> Any:
        try:
            return self.idle.pop()
        except IndexError:
            return self.pool.get_connection()

    def async_pool(self, options: dict[str, Any]) -> Any:
        import redis.asyncio

        loop = asyncio.get_running_loop()
        pool = self.async_pools.get(loop)
        if pool is None:
            extra = {"redis_connect_func": _readonly_on_connect_async} if self.readonly else {}
            pool = self.async_pools[loop] = redis.asyncio.ConnectionPool.from_url(self.url, **options, **extra)
        return pool

    def forget(self) -> None:
        self.idle = []
        self.async_idle = weakref.WeakKeyDictionary()

    def close(self) -> None:
        self.idle = []
        self.pool.disconnect()
        self.async_idle = weakref.WeakKeyDictionary()
        self.async_pools.clear()


def _readonly_on_connect(conn: Any) -> None:
    """A replica connection: the usual handshake, then READONLY (replicas refuse reads without it)."""
    conn.on_connect()
    conn.send_command("READONLY")
    if conn.read_response() not in (b"OK", "OK"):
        raise redis.ConnectionError("READONLY failed")


async def _readonly_on_connect_async(conn: Any) -> None:
    await conn.on_connect()
    await conn.send_command("READONLY")
    if await conn.read_response() not in (b"OK", "OK"):
        raise redis.ConnectionError("READONLY failed")


class _Link(_AsyncLink):
    """An async link whose replies are collected per command (redirections are handled, not raised)."""

    __slots__ = ()

    async def send(self, payload: bytes, n: int, timeout: float | None) -> asyncio.Future[list[Any]]:
        """Write ``payload`` now; the returned future gets the n replies (error replies as values)."""
        if self.writer is None or self.writer is not self.conn._writer:
            await self.attach()
        protocol = self.protocol
        if protocol is None:  # redis-py without hiredis: read here, in order
            await self.conn.send_packed_command([payload], check_health=False)
            done: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
            done.set_result(_read_raw_async_unsupported(n))
            return done
        if protocol.closed:
            raise redis.ConnectionError("Connection closed by server.")
        replies = protocol.expect(n, timeout)
        self.writer.write(payload)
        if self.writer.transport.get_write_buffer_size():
            async with asyncio.timeout(timeout):
                await self.writer.drain()
        return replies


def _read_raw_async_unsupported(n: int) -> list[Any]:  # pragma: no cover - hiredis is a core dependency
    raise OnlineStoreError("async reads from Redis Cluster need hiredis (pip install hiredis)")


# ---------------------------------------------------------------------------------------------- one request


class _Attempt:
    """One request across its re-sends: where each pending command goes, the replies so far, the deadline."""

    __slots__ = ("asks", "cmds", "deadline", "last_error", "out", "pending", "refresh", "replicas", "retries",
                 "store", "wait")

    def __init__(self, store: RedisClusterOnlineStore, cmds: _Commands, replicas: bool) -> None:
        self.store = store
        self.cmds = cmds
        self.out: list[Any] = [None] * len(cmds.keys)
        self.pending: list[int] = list(range(len(cmds.keys)))
        #: command → node for ASK redirections (sent with ASKING, the slot map unchanged)
        self.asks: dict[int, _Node] = {}
        self.deadline = time.monotonic() + store.read_timeout
        self.retries = 0
        #: reload the slot map before the re-send; wait a moment before it (a transient failure)
        self.refresh = self.wait = False
        self.last_error: BaseException | None = None
        self.replicas = replicas

    def plan(self) -> list[tuple[_Node, list[int], bool]]:
        """``(node, commands, asking)`` per pipeline to send now."""
        store = self.store
        slots = store.slot_table()
        keys = self.cmds.keys
        routes: dict[_Node, list[int]] = {}
        asks: dict[_Node, list[int]] = {}
        chosen: dict[_Node, _Node] = {}
        for i in self.pending:
            ask = self.asks.get(i) if self.asks else None
            if ask is not None:
                asks.setdefault(ask, []).append(i)
                continue
            node = slots[key_slot(keys[i])]
            if node is None:
                raise OnlineStoreUnavailableError(
                    f"{store.describe()}: no node serves the slot of a key (the cluster does not cover all 16384 "
                    "slots); check `redis-cli cluster info` and assign the missing slots"
                )
            if self.replicas:
                node = chosen.get(node) or chosen.setdefault(node, store.reader_for(node))
            routes.setdefault(node, []).append(i)
        self.pending = []
        self.asks = {}
        return [(n, idx, False) for n, idx in routes.items()] + [(n, idx, True) for n, idx in asks.items()]

    def payload(self, idx: list[int], asking: bool) -> tuple[bytes, int]:
        if not asking:
            return self.cmds.pack(idx), len(idx)
        return b"".join([_ASKING + self.cmds.pack([i]) for i in idx]), 2 * len(idx)

    def lost(self, node: _Node, idx: list[int], e: BaseException) -> None:
        """``node`` did not answer (down, failing over): re-send its commands after a slot-map refresh."""
        self.last_error = e
        self.refresh = self.wait = True
        self.pending.extend(idx)

    def settle(self, node: _Node, idx: list[int], replies: list[Any], asking: bool) -> None:
        """Keep each reply; queue redirected and transient failures for a re-send; raise other errors."""
        if asking:
            replies = replies[1::2]
        out = self.out
        for i, r in zip(idx, replies):
            out[i] = r
            if isinstance(r, Exception):
                self._failed(node, i, r)

    def _failed(self, node: _Node, i: int, r: Exception) -> None:
        store = self.store
        if isinstance(r, MovedError):  # the slot has a new owner for good
            store.moved(r.slot_id, f"{r.host}:{r.port}")
            self.pending.append(i)
        elif isinstance(r, AskError):  # mid-migration and this key already left: ask the target, this time
            self.asks[i] = store.node(f"{r.host}:{r.port}")
            self.pending.append(i)
        elif isinstance(r, NoScriptError):  # a node that never saw the write script (a promoted replica)
            store.load_script(node)
            self.pending.append(i)
        elif isinstance(r, _TRANSIENT):
            self.last_error = r
            self.wait = True
            self.refresh = self.refresh or isinstance(r, (ClusterDownError, ReadOnlyError))
            self.pending.append(i)
        else:
            raise translated(store.url, r) from r

    def next_delay(self) -> float | None:
        """None when every command has its reply; else seconds to wait before the re-send (0: at once, after a
        redirection). Past the deadline: :class:`OnlineStoreUnavailableError`."""
        if not self.pending:
            return None
        now = time.monotonic()
        if now >= self.deadline:
            e = self.last_error or redis.TimeoutError("the cluster kept redirecting")
            raise OnlineStoreUnavailableError(
                f"Redis Cluster online store {redact_url(self.store.url)} did not answer within "
                f"{self.store.read_timeout:g} s ({type(e).__name__}: {e}); a failover or resharding may be in "
                "progress: retry shortly, and check `redis-cli cluster info`"
            ) from e
        wait, self.wait = self.wait, False
        if self.refresh:
            self.refresh = False
            self.store.refresh_slots(force=True, quiet=True)
        if not wait:
            return 0.0
        delay = _BACKOFF[min(self.retries, len(_BACKOFF) - 1)]
        self.retries += 1
        return min(delay, max(0.0, self.deadline - now))


# ---------------------------------------------------------------------------------------------- the store


class RedisClusterOnlineStore(
    SupportsAsync, SupportsVectors, SupportsScan, SupportsDelete, SupportsKeyExpiry, OnlineStore
):
    """Online rows and vectors in a Redis Cluster (``redis+cluster://``, ``rediss+cluster://``)."""

    name = "redis_cluster"

    def __init__(self, config: RedisClusterConfig) -> None:
        self.config = config
        self.url = config.to_url()
        self.write_batch_size = max(1, config.write_batch_size)
        self.key_ttl_seconds = int(config.key_ttl_seconds)
        self.read_timeout = config.timeouts.read
        self._options: dict[str, Any] = {
            "max_connections": config.limits.pool_size,
            "socket_timeout": config.timeouts.read,
            "socket_connect_timeout": config.timeouts.connect,
        }
        self._nodes: dict[str, _Node] = {}
        self._replica_nodes: dict[str, _Node] = {}
        #: slot → the node that owns it (None before the first use, and for slots nobody serves)
        self._slots: list[_Node | None] | None = None
        #: primary address → its replicas (read_from_replicas)
        self._replicas: dict[str, list[_Node]] = {}
        self._turn = itertools.count()
        self._refreshed = 0.0
        self._script_sha = _sha1(_WRITE_LUA)
        self._scripted: set[str] = set()
        self._fields: dict[tuple[bytes, ...], bytes] = {}
        forget_after_fork(self)

    def __repr__(self) -> str:
        return f"RedisClusterOnlineStore({redact_url(self.url)!r})"

    def describe(self) -> str:
        return self.config.describe()

    def translate(self, exc: BaseException) -> FsnbError | None:
        return translated(self.url, exc) if isinstance(exc, redis.RedisError) else None

    # ------------------------------------------------------------------------------------ topology

    def node(self, addr: str) -> _Node:
        """The primary-side node at ``addr`` (created on first sight)."""
        node = self._nodes.get(addr)
        if node is None:
            node = self._nodes[addr] = _Node(addr, self.config.node_url(addr), self._options, readonly=False)
        return node

    def _replica(self, addr: str) -> _Node:
        node = self._replica_nodes.get(addr)
        if node is None:
            node = _Node(addr, self.config.node_url(addr), self._options, readonly=True)
            self._replica_nodes[addr] = node
        return node

    def slot_table(self) -> list[_Node | None]:
        slots = self._slots
        if slots is None:
            self.refresh_slots(force=True)
            slots = self._slots
            assert slots is not None
        return slots

    def reader_for(self, primary: _Node) -> _Node:
        """The node to read ``primary``'s slots from: the primary and its replicas in turn."""
        replicas = self._replicas.get(primary.addr)
        if not replicas:
            return primary
        k = next(self._turn) % (len(replicas) + 1)
        return primary if k == len(replicas) else replicas[k]

    def cluster_slots(self) -> list[Any]:
        """``CLUSTER SLOTS`` from the first node that answers (known primaries first, then the seeds)."""
        candidates = list(dict.fromkeys([*self._nodes, *self.config.nodes]))
        timeout = min(self.config.timeouts.connect, 1.0)
        error: BaseException | None = None
        for addr in candidates:
            client = redis.Redis.from_url(
                self.config.node_url(addr), socket_timeout=timeout, socket_connect_timeout=timeout
            )
            try:
                return client.execute_command("CLUSTER SLOTS")  # type: ignore[no-any-return]
            except (redis.RedisError, OSError) as e:
                error = e
            finally:
                client.close()
        raise OnlineStoreUnavailableError(
            f"Redis Cluster online store {redact_url(self.url)}: no node answered CLUSTER SLOTS (tried "
            f"{', '.join(candidates)}; last error {type(error).__name__}: {error}); check `online_store.nodes`"
        ) from error

    def refresh_slots(self, *, force: bool = False, quiet: bool = False) -> None:
        """Load the slot map (at most every 0.1 s unless ``force``d by a first use)."""
        now = time.monotonic()
        if self._slots is not None and now - self._refreshed < 0.1:
            return
        try:
            ranges = self.cluster_slots()
        except OnlineStoreUnavailableError:
            if quiet and self._slots is not None:
                return  # keep the old map; the request's deadline decides
            raise
        table: list[_Node | None] = [None] * SLOTS
        replicas: dict[str, list[_Node]] = {}
        for start, end, primary, *rest in ranges:
            node = self.node(_addr(primary))
            table[int(start) : int(end) + 1] = [node] * (int(end) - int(start) + 1)
            if self.config.read_from_replicas:
                replicas[node.addr] = [self._replica(_addr(r)) for r in rest]
        self._slots = table
        self._replicas = replicas
        self._refreshed = time.monotonic()

    def moved(self, slot: int, addr: str) -> None:
        """A ``MOVED``: point ``slot`` at ``addr`` now, and reload the whole map (a resharding moves many)."""
        table = self.slot_table()
        table[slot] = self.node(addr)
        self.refresh_slots(quiet=True)

    def load_script(self, node: _Node) -> None:
        """SCRIPT LOAD the write script on ``node`` (scripts are not replicated: a promoted replica lacks it)."""
        try:
            redis.Redis(connection_pool=node.pool).script_load(_WRITE_LUA)
        except (redis.RedisError, OSError):
            return  # the node is failing: the re-send finds out
        self._scripted.add(node.addr)

    def _load_scripts(self) -> None:
        for node in self.primaries():
            if node.addr not in self._scripted:
                self.load_script(node)

    # ------------------------------------------------------------------------------------ one request, sync

    def _execute(self, cmds: _Commands, *, replicas: bool = False) -> list[Any]:
        """Every command's reply, in order: one pipeline per node, all written before any is read."""
        attempt = _Attempt(self, cmds, replicas and self.config.read_from_replicas)
        while True:
            sent: list[tuple[_Node, Any, list[int], bool, int]] = []
            for node, idx, asking in attempt.plan():
                payload, n = attempt.payload(idx, asking)
                conn = None
                try:
                    conn = node.take()
                    conn.send_packed_command([payload], check_health=False)
                    sent.append((node, conn, idx, asking, n))
                except _CONNECTION as e:
                    if conn is not None:
                        conn.disconnect()
                        node.idle.append(conn)
                    attempt.lost(node, idx, e)
                except BaseException as e:  # nothing can be read back: drop what was sent
                    for n_, c_, *_ in sent:
                        c_.disconnect()
                        n_.idle.append(c_)
                    if conn is not None:
                        conn.disconnect()
                        node.idle.append(conn)
                    if isinstance(e, redis.RedisError):
                        raise translated(self.url, e) from e
                    raise
            failure: BaseException | None = None
            for node, conn, idx, asking, n in sent:
                try:
                    replies = read_raw(conn, n)
                except _CONNECTION as e:
                    conn.disconnect()
                    attempt.lost(node, idx, e)
                    continue
                except BaseException as e:
                    conn.disconnect()
                    failure = failure or e
                    continue
                finally:
                    node.idle.append(conn)
                try:
                    attempt.settle(node, idx, replies, asking)
                except BaseException as e:  # read the other nodes' replies first: their connections stay clean
                    failure = failure or e
            if failure is not None:
                raise failure
            delay = attempt.next_delay()
            if delay is None:
                return attempt.out
            if delay:
                time.sleep(delay)

    # ------------------------------------------------------------------------------------ one request, async

    async def _execute_async(self, cmds: _Commands, *, replicas: bool = False) -> list[Any]:
        """:meth:`_execute` on the running loop: every node's pipeline written, then the replies awaited."""
        loop = asyncio.get_running_loop()
        attempt = _Attempt(self, cmds, replicas and self.config.read_from_replicas)
        timeout = self.read_timeout
        while True:
            sent: list[tuple[_Node, _Link, list[int], bool, asyncio.Future[list[Any]]]] = []
            for node, idx, asking in attempt.plan():
                payload, n = attempt.payload(idx, asking)
                idle = node.async_idle.get(loop)
                if idle is None:
                    self._drop_closed_loops(node)
                    idle = node.async_idle.setdefault(loop, [])
                link = None
                try:
                    link = idle.pop() if idle else _Link(await node.async_pool(self._options).get_connection())
                    sent.append((node, link, idx, asking, await link.send(payload, n, timeout)))
                except _CONNECTION as e:
                    if link is not None:
                        await link.conn.disconnect()
                        idle.append(link)
                    attempt.lost(node, idx, e)
            failure: BaseException | None = None
            for node, link, idx, asking, future in sent:
                try:
                    replies = await future
                except _CONNECTION as e:
                    await link.conn.disconnect()
                    attempt.lost(node, idx, e)
                    continue
                except BaseException as e:
                    await link.conn.disconnect()
                    failure = failure or e
                    continue
                finally:
                    node.async_idle.setdefault(loop, []).append(link)
                try:
                    attempt.settle(node, idx, replies, asking)
                except BaseException as e:
                    failure = failure or e
            if failure is not None:
                raise failure
            delay = attempt.next_delay()
            if delay is None:
                return attempt.out
            if delay:
                await asyncio.sleep(delay)

    @staticmethod
    def _drop_closed_loops(node: _Node) -> None:
        for cache in (node.async_idle, node.async_pools):
            for loop in [loop for loop in cache if loop.is_closed()]:
                del cache[loop]

    # ------------------------------------------------------------------------------------ reads

    def _hmgets(self, groups: Sequence[HashRead]) -> _Uniform:
        parts = []
        for keys, fields in groups:
            packed = self._fields.get(fields)
            if packed is None:
                packed = self._fields[fields] = b"".join(b"$%d\r\n%s\r\n" % (len(f), f) for f in fields)
            parts.append((keys, b"*%d\r\n$5\r\nHMGET\r\n" % (len(fields) + 2), b"\r\n" + packed))
        return _Uniform(parts)

    @staticmethod
    def _gets(keys: Sequence[bytes]) -> _Uniform:
        return _Uniform([(keys, b"*2\r\n$3\r\nGET\r\n", b"\r\n")])

    def read_hashes(self, groups: Sequence[HashRead]) -> list[list[list[bytes | None]]]:
        return _split(self._execute(self._hmgets(groups), replicas=True), groups)

    def read_hash_columns(self, groups: Sequence[HashRead]) -> list[list[list[bytes | None]]]:
        rows = self.read_hashes(groups)
        return [hash_columns(r, len(fields)) for r, (_, fields) in zip(rows, groups)]

    def read_values(self, keys: Sequence[bytes]) -> list[bytes | None]:
        return self._execute(self._gets(keys), replicas=True)

    async def read_hashes_async(self, groups: Sequence[HashRead]) -> list[list[list[bytes | None]]]:
        return _split(await self._execute_async(self._hmgets(groups), replicas=True), groups)

    async def read_values_async(self, keys: Sequence[bytes]) -> list[bytes | None]:
        return await self._execute_async(self._gets(keys), replicas=True)

    # ------------------------------------------------------------------------------------ writes

    def write_rows(
        self, keys: Sequence[bytes], field: bytes, rows: Sequence[bytes], event_times_us: Sequence[int]
    ) -> int:
        """One newer-wins script call per row (one key each: atomic, never cross-slot), pipelined per node in
        chunks of ``write_batch_size``. Re-sent calls are idempotent (ties go to the same row)."""
        head = b"*8\r\n$7\r\nEVALSHA\r\n$40\r\n%s\r\n$1\r\n1\r\n" % self._script_sha.encode()
        args = b"$%d\r\n%s\r\n" % (len(field), field) + _bulk(str(self.key_ttl_seconds).encode())
        size = self.write_batch_size
        written = 0
        self._load_scripts()
        pack_time = struct.Struct("<q").pack
        for start in range(0, len(keys), size):
            chunk = list(keys[start : start + size])
            packed = [
                b"%s$%d\r\n%s\r\n%s$8\r\n%s\r\n$%d\r\n%s\r\n" % (head, len(k), k, args, pack_time(t), len(r), r)
                for k, t, r in zip(chunk, event_times_us[start : start + size], rows[start : start + size])
            ]
            written += sum(self._execute(_Packed(chunk, packed)))
        return written

    def write_values(self, keys: Sequence[bytes], values: Sequence[bytes]) -> None:
        ttl = self.key_ttl_seconds
        tail = b"$2\r\nEX\r\n" + _bulk(str(ttl).encode()) if ttl else b""
        head = b"*5\r\n$3\r\nSET\r\n" if ttl else b"*3\r\n$3\r\nSET\r\n"
        size = self.write_batch_size
        for start in range(0, len(keys), size):
            chunk = list(keys[start : start + size])
            packed = [head + _bulk(k) + _bulk(v) + tail for k, v in zip(chunk, values[start : start + size])]
            self._execute(_Packed(chunk, packed))

    # ------------------------------------------------------------------------------------ scans and deletes

    def primaries(self) -> list[_Node]:
        """The nodes that own slots now."""
        return list(dict.fromkeys(n for n in self.slot_table() if n is not None))

    def primary_clients(self) -> list[tuple[str, redis.Redis]]:
        """``(address, client)`` per primary (``fsnb doctor``'s tuning checks run on each)."""
        return [(n.addr, redis.Redis(connection_pool=n.pool)) for n in self.primaries()]

    def scan_keys(self, prefix: bytes, *, count: int = 1000) -> Iterator[list[bytes]]:
        """Batches of keys from every primary (SCAN per node; keys in a slot being migrated may show twice)."""
        match = _escape_glob(prefix) + b"*"
        for node in self.primaries():
            client = redis.Redis(connection_pool=node.pool)
            try:
                cursor = 0
                while True:
                    cursor, keys = client.scan(cursor=cursor, match=match, count=count)
                    if keys:
                        yield [k if isinstance(k, bytes) else k.encode() for k in keys]
                    if cursor == 0:
                        break
            except (redis.RedisError, OSError) as e:
                raise translated(self.url, e) from e

    def delete_field(self, prefix: bytes, field: bytes) -> int:
        n = 0
        for batch in self.scan_keys(prefix):
            n += sum(self._execute(_Packed(batch, [_command(b"HDEL", k, field) for k in batch])))
        return n

    def delete_values(self, prefix: bytes) -> int:
        n = 0
        for batch in self.scan_keys(prefix):
            n += sum(self._execute(_Packed(batch, [_command(b"UNLINK", k) for k in batch])))
        return n

    # ------------------------------------------------------------------------------------ lifecycle

    def _all_nodes(self) -> list[_Node]:
        return [*self._nodes.values(), *self._replica_nodes.values()]

    def close(self) -> None:
        for node in self._all_nodes():
            node.close()

    def _forget_connections(self) -> None:
        for node in self._all_nodes():
            node.forget()

    async def aclose(self) -> None:
        loop = asyncio.get_running_loop()
        for node in self._all_nodes():
            for link in node.async_idle.pop(loop, []):
                await link.conn.disconnect()
            pool = node.async_pools.pop(loop, None)
            if pool is not None:
                await pool.disconnect()

    # ------------------------------------------------------------------------------------ doctor

    def shape(self) -> dict[str, Any]:
        """The cluster as its nodes see it: state, slots covered, primaries and their replicas, failovers."""
        ranges = self.cluster_slots()
        covered = sum(int(end) - int(start) + 1 for start, end, *_ in ranges)
        primaries: dict[str, list[str]] = {}
        for _, _, primary, *rest in ranges:
            primaries.setdefault(_addr(primary), []).extend(_addr(r) for r in rest)
        info: dict[str, Any] = {}
        node = self.node(next(iter(primaries))) if primaries else None
        if node is not None:
            client = redis.Redis(connection_pool=node.pool)
            try:
                info = client.cluster("info")
                info["redis_version"] = client.info("server").get("redis_version", "?")
            except (redis.RedisError, OSError) as e:
                raise translated(self.url, e) from e
        return {
            "state": info.get("cluster_state", "?"),
            "slots_covered": covered,
            "slots_failing": int(info.get("cluster_slots_fail", 0) or 0) + int(info.get("cluster_slots_pfail", 0) or 0),
            "primaries": {p: sorted(set(r)) for p, r in primaries.items()},
            "known_nodes": int(info.get("cluster_known_nodes", 0) or 0),
            "epoch": int(info.get("cluster_current_epoch", 0) or 0),
            "version": info.get("redis_version", "?"),
        }

    @classmethod
    def check(cls, config: RedisClusterConfig, timeout: float) -> str:
        """``fsnb doctor``: the cluster shape in one line (nodes, slots covered, replicas, failover state)."""
        from dataclasses import replace

        from fsnb.config import Timeouts

        store = cls(replace(config, timeouts=Timeouts(connect=timeout, read=timeout)))
        try:
            s = store.shape()
        finally:
            store.close()
        replicas = sum(len(r) for r in s["primaries"].values())
        alone = [p for p, r in s["primaries"].items() if not r]
        fails = f"{s['slots_failing']} slot(s) failing over" if s["slots_failing"] else "no failover in progress"
        line = (
            f"redis_cluster {redact_url(config.to_url())} · cluster_state {s['state']} · {len(s['primaries'])} "
            f"primaries, {replicas} replicas · {s['slots_covered']}/{SLOTS} slots covered · {fails} · "
            f"epoch {s['epoch']} · server {s['version']}"
        )
        if alone:
            line += f" · no replica for {', '.join(alone)}"
        if s["state"] != "ok" or s["slots_covered"] < SLOTS:
            raise OnlineStoreUnavailableError(
                f"{line}; the cluster cannot serve every key: see `redis-cli cluster info`"
            )
        return line


def _addr(entry: Sequence[Any]) -> str:
    host = entry[0].decode() if isinstance(entry[0], bytes) else str(entry[0])
    return f"{host}:{int(entry[1])}"


def _bulk(value: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(value), value)


def _sha1(script: str) -> str:
    import hashlib

    return hashlib.sha1(script.encode()).hexdigest()
