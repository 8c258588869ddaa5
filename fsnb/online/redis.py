"""The Redis online store (redis-py + hiredis): one hash per (project, entity), one field per feature view.

Reads pack their commands once and send them down one pooled connection (one round trip per call, whatever the
number of keys); writes run a Lua script per chunk so an older event time never overwrites a newer one: the new
rows' event times are passed in, the stored row's is read from its bytes (``TS_OFFSET``, ``docs/format.md``).
redis-py errors become :class:`fsnb.errors.OnlineStoreUnavailableError` / :class:`OnlineStoreError` in
:func:`translated`, the one place that does it (also behind :meth:`RedisOnlineStore.translate`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import struct
import weakref
from collections.abc import Iterator, Sequence
from typing import Any

import redis

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
)
from fsnb.online.codec import TS_OFFSET
from fsnb.online.configs import RedisConfig

__all__ = ["RedisOnlineStore", "translate_errors", "translated"]

# KEYS: hashes; ARGV: field, key ttl seconds, the rows' event times (i8 little-endian each, µs), then one packed row
# per key. A stored row of the same format and schema id (bytes 1-4) with a newer event time (i8 little-endian at
# TS_OFFSET) is kept; a row of another schema never blocks a write (readers cannot decode it).
_WRITE_LUA = f"""
local field = ARGV[1]
local ttl = tonumber(ARGV[2])
local times = ARGV[3]
local n = 0
for i = 1, #KEYS do
  local row = ARGV[i + 3]
  local keep = false
  local old = redis.call('HGET', KEYS[i], field)
  if old and #old >= {TS_OFFSET + 8} and string.byte(old, 1) == 1
      and string.sub(old, 2, 5) == string.sub(row, 2, 5) then
    keep = struct.unpack('<i8', old, {TS_OFFSET + 1}) > struct.unpack('<i8', times, 8 * i - 7)
  end
  if not keep then
    redis.call('HSET', KEYS[i], field, row)
    if ttl > 0 then redis.call('EXPIRE', KEYS[i], ttl) end
    n = n + 1
  end
end
return n
"""


def _tls_verification_failure(e: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate-verification error behind ``e`` (redis-py wraps it in a ConnectionError), if any."""
    seen: set[int] = set()
    cur: BaseException | None = e
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, ssl.SSLCertVerificationError):
            return cur
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    if "CERTIFICATE_VERIFY_FAILED" in str(e):
        return ssl.SSLCertVerificationError(str(e))
    return None


def _unavailable(url: str, e: BaseException) -> OnlineStoreUnavailableError:
    hint = "check that the server is running and `online_store.url` is right"
    tls = _tls_verification_failure(e)
    if tls is not None:
        if "mismatch" in str(tls).lower() or "hostname" in str(tls).lower():
            hint = (
                "the server's TLS certificate does not name the host in `online_store.url`: connect with a host "
                "name the certificate lists, or reissue the certificate for this host"
            )
        else:
            hint = (
                "the server's TLS certificate could not be verified: add the CA certificate that signed it to "
                "`online_store.url` as `?ssl_ca_certs=/path/to/ca.pem` (rediss://host:port/db?ssl_ca_certs=...)"
            )
    return OnlineStoreUnavailableError(
        f"Redis online store at {redact_url(url)} is unavailable ({type(e).__name__}: {e}); {hint}"
    )


def translated(url: str, e: BaseException) -> OnlineStoreError:
    """The fsnb error for a redis-py (or socket) error: the one place that maps them."""
    if isinstance(e, (redis.ConnectionError, redis.TimeoutError, ConnectionError, TimeoutError, OSError)):
        return _unavailable(url, e)
    return OnlineStoreError(f"Redis online store at {redact_url(url)} failed: {type(e).__name__}: {e}")


@contextlib.contextmanager
def translate_errors(url: str) -> Iterator[None]:
    """Turn redis-py errors into fsnb.errors, keeping the original as ``__cause__``."""
    try:
        yield
    except (redis.RedisError, ConnectionError, TimeoutError) as e:
        raise translated(url, e) from e


def _pack(head: bytes, keys: Sequence[bytes], tail: bytes) -> bytes:
    """``head | $len | key | tail`` per key, as RESP; keys of one length (the usual case) in a single join."""
    if not keys:
        return b""
    n = len(keys[0])
    if all(len(k) == n for k in keys):
        h = head + b"$%d\r\n" % n
        return h + (tail + h).join(keys) + tail
    return b"".join([b"%s$%d\r\n%s%s" % (head, len(k), k, tail) for k in keys])


def _raise_errors(replies: list[Any]) -> list[Any]:
    for r in replies:
        if isinstance(r, Exception):  # error replies come back as values: every reply was read, the conn is clean
            raise r
    return replies


def _read_replies(conn: Any, n: int) -> list[Any]:
    """``n`` replies from a connection (:func:`read_raw`); the first error reply is raised once all are read."""
    return _raise_errors(read_raw(conn, n))


def read_raw(conn: Any, n: int) -> list[Any]:
    """``n`` replies, error replies included as exception values: straight from the hiredis reader when there is
    one (one Python call per reply instead of redis-py's per-reply bookkeeping), else through ``read_response``."""
    parser = getattr(conn, "_parser", None)
    reader = getattr(parser, "_reader", None)
    if reader is None or _NOT_ENOUGH is None:
        out = []
        for _ in range(n):
            try:
                out.append(conn.read_response())
            except redis.ResponseError as e:
                out.append(e)
        return out
    gets = reader.gets
    fill = parser.read_from_socket  # type: ignore[union-attr]
    replies: list[Any] = []
    append = replies.append
    for _ in range(n):
        r = gets()
        while r is _NOT_ENOUGH:
            fill()
            r = gets()
        append(r)
    return replies


def _read_columns(conn: Any, n: int, width: int) -> list[list[Any]]:
    """``n`` replies of ``width`` values each (HMGETs), as ``width`` columns: read in chunks and transposed, so a
    500-key read never holds 500 reply lists at once (each is a GC-tracked container)."""
    cols: list[list[Any]] = [[] for _ in range(width)]
    for start in range(0, n, _COLUMN_CHUNK):
        chunk = _read_replies(conn, min(_COLUMN_CHUNK, n - start))
        for col, values in zip(cols, zip(*chunk)):
            col.extend(values)
    return cols


def _read_hash_columns(conn: Any, n: int, shape: Sequence[tuple[int, int]]) -> list[list[list[Any]]]:
    """Per HMGET group of (keys, fields), its columns (see :func:`_read_columns`); ``n`` is their total."""
    return [_read_columns(conn, count, width) for count, width in shape]


def _split(flat: list[Any], groups: Sequence[HashRead]) -> list[list[Any]]:
    """The replies of a pipeline of HMGET groups, per group."""
    if len(groups) == 1:
        return [flat]
    out, pos = [], 0
    for keys, _ in groups:
        out.append(flat[pos : pos + len(keys)])
        pos += len(keys)
    return out


#: replies read per chunk by _read_columns
_COLUMN_CHUNK = 64


class _Replies(asyncio.Protocol):
    """The read side of one async connection that serves fsnb reads.

    redis-py opens the connection (TLS, AUTH, SELECT ...) with a ``StreamReaderProtocol``; fsnb then installs this
    protocol on the transport. It feeds every chunk straight into the connection's hiredis reader and resolves one
    future when all replies of the request are parsed: one loop wake-up per reply, no StreamReader buffer or
    coroutine per chunk. Close, EOF and flow-control events are passed on to the original protocol, so redis-py's
    ``disconnect()`` and ``StreamWriter.drain()`` keep working.

    The socket timeout is a deadline per request, watched by one timer per connection that re-arms itself only while
    a request is pending (not a timer per request).
    """

    def __init__(self, inner: Any, reader: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.inner = inner
        self.reader = reader
        self.loop = loop
        self.waiter: asyncio.Future[list[Any]] | None = None
        self.expected = 0
        self.replies: list[Any] = []
        self.deadline = 0.0
        self.timeout: float | None = None
        self.timer: asyncio.TimerHandle | None = None
        #: the server closed the connection (EOF) or it was lost: a request sent now would wait for its timeout
        self.closed = False

    def expect(self, n: int, timeout: float | None, waiter: Any = None) -> asyncio.Future[list[Any]]:
        """A future for the next ``n`` replies, failing with redis.TimeoutError after ``timeout`` seconds (or
        ``waiter``: any object with a future's ``done``, ``set_result`` and ``set_exception``, called at once)."""
        waiter = self.waiter = waiter if waiter is not None else self.loop.create_future()
        self.expected = n
        self.replies = []
        if timeout:
            self.timeout = timeout
            self.deadline = self.loop.time() + timeout
            if self.timer is None:
                self.timer = self.loop.call_at(self.deadline, self._check_deadline)
        return waiter

    def _check_deadline(self) -> None:
        self.timer = None
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        if self.loop.time() >= self.deadline:
            self.waiter = None
            waiter.set_exception(redis.TimeoutError(f"no reply from Redis within {self.timeout} s"))
        else:  # a later request is pending: watch its deadline
            self.timer = self.loop.call_at(self.deadline, self._check_deadline)

    def _fail(self, exc: BaseException) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    def data_received(self, data: bytes) -> None:
        reader = self.reader
        reader.feed(data)
        waiter = self.waiter
        if waiter is None:
            return  # nobody is waiting (a failed request): the connection is being dropped
        replies = self.replies
        try:
            while len(replies) < self.expected:
                r = reader.gets()
                if r is _NOT_ENOUGH:
                    return
                replies.append(r)
        except Exception as e:  # a protocol error: the connection is dropped by the reader's caller
            self._fail(e)
            return
        self.waiter = None
        if not waiter.done():
            waiter.set_result(replies)

    def eof_received(self) -> bool | None:
        self.closed = True
        self._fail(redis.ConnectionError("Connection closed by server."))
        return self.inner.eof_received()  # type: ignore[no-any-return]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(redis.ConnectionError(f"Connection lost: {exc}" if exc else "Connection closed."))
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()


class _AsyncLink:
    """One redis-py async connection owned by a store for reads, with the :class:`_Replies` protocol on its
    transport (installed again after a reconnect)."""

    __slots__ = ("conn", "protocol", "writer")

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.writer: Any = None
        self.protocol: _Replies | None = None

    async def attach(self) -> None:
        """Connect if needed and put a :class:`_Replies` on the transport (when redis-py parses with hiredis)."""
        conn = self.conn
        if not conn.is_connected:
            await conn.connect()
        self.writer = conn._writer
        reader = getattr(getattr(conn, "_parser", None), "_reader", None)
        if reader is None or _NOT_ENOUGH is None:
            self.protocol = None  # redis-py without hiredis: read through its own parser
            return
        transport = self.writer.transport
        self.protocol = _Replies(transport.get_protocol(), reader, asyncio.get_running_loop())
        transport.set_protocol(self.protocol)

    async def round_trip(self, payload: bytes, n: int, timeout: float | None) -> list[Any]:
        """Send ``payload`` (n packed commands) and return the n replies."""
        if self.writer is None or self.writer is not self.conn._writer:  # new, or reconnected since
            await self.attach()
        writer = self.writer
        protocol = self.protocol
        if protocol is None:
            async with asyncio.timeout(timeout):
                await self.conn.send_packed_command([payload], check_health=False)
                return _raise_errors([await self.conn.read_response() for _ in range(n)])
        if protocol.closed:  # dropped while idle (server restart, idle kill): fail now, the caller reconnects
            raise redis.ConnectionError("Connection closed by server.")
        replies = protocol.expect(n, timeout)
        writer.write(payload)
        if writer.transport.get_write_buffer_size():
            async with asyncio.timeout(timeout):
                await writer.drain()
        return _raise_errors(await replies)


class _Batch:
    """The reads of one coalesced batch, as the :class:`_Replies` waiter of its replies: the replies are handed to
    the pipeline as soon as they are parsed (no loop hop before each read's own future is resolved)."""

    __slots__ = ("finished", "link", "pipe", "reads")

    def __init__(self, pipe: _Pipeline, link: _AsyncLink, reads: list[tuple[bytes, int, asyncio.Future[list[Any]]]]
                 ) -> None:
        self.pipe = pipe
        self.link = link
        self.reads = reads
        self.finished = False

    def done(self) -> bool:
        return self.finished

    def set_result(self, replies: list[Any]) -> None:
        self.finished = True
        self.pipe._deliver(self, replies, None)

    def set_exception(self, error: BaseException) -> None:
        self.finished = True
        self.pipe._deliver(self, None, error)


class _Pipeline:
    """Coalesces the concurrent async reads of one event loop onto one connection.

    At most one batch is in flight: reads submitted while it is (other requests of a busy server, or the members of
    an ``asyncio.gather``) queue up and leave together, as one write, when its replies are in; each read then takes
    its own slice of the replies. So under load the number of round trips (and system calls) per read drops with
    the concurrency, and a lone read still leaves at once. A connection failure fails the reads of its batch (their
    callers retry once, on a new connection); an error reply fails only its own read.
    """

    __slots__ = ("_broken", "_connecting", "busy", "link", "loop", "queue", "store")

    def __init__(self, store: RedisOnlineStore, loop: asyncio.AbstractEventLoop) -> None:
        self.store = store
        self.loop = loop
        self.link: _AsyncLink | None = None
        self._connecting: asyncio.Future[_AsyncLink] | None = None
        #: (payload, replies expected, the read's future), waiting for the next batch
        self.queue: list[tuple[bytes, int, asyncio.Future[list[Any]]]] = []
        self.busy = False
        self._broken: set[asyncio.Task[Any]] = set()

    @staticmethod
    def _usable(link: _AsyncLink | None) -> bool:
        return (link is not None and link.protocol is not None and not link.protocol.closed
                and link.writer is link.conn._writer)

    async def _connected(self) -> _AsyncLink:
        """The pipeline's link, (re)connected when needed; concurrent callers share one connection attempt."""
        link = self.link
        if self._usable(link):
            return link  # type: ignore[return-value]
        if self._connecting is not None:
            return await asyncio.shield(self._connecting)
        done: asyncio.Future[_AsyncLink] = self.loop.create_future()
        self._connecting = done
        try:
            if link is not None:
                self.link = None
                await link.conn.disconnect()
            new = _AsyncLink(await self.store._async_pool().get_connection())
            await new.attach()
            if new.protocol is None:  # pragma: no cover - redis-py parses without hiredis
                raise redis.ConnectionError("coalesced reads need redis-py's hiredis parser")
            self.link = new
            done.set_result(new)
            return new
        except BaseException as e:
            done.set_exception(e)
            done.exception()  # retrieved: waiters (if any) re-raise it
            raise
        finally:
            self._connecting = None

    async def call(self, payload: bytes, n: int) -> list[Any]:
        """The ``n`` replies of ``payload``, sent with whatever other reads are queued."""
        if not self._usable(self.link):
            await self._connected()
        future: asyncio.Future[list[Any]] = self.loop.create_future()
        self.queue.append((payload, n, future))
        if not self.busy:
            self._flush()  # nothing in flight: leave now (later arrivals queue behind this round trip)
        return _raise_errors(await future)

    def _flush(self) -> None:
        """Send everything queued as one batch (when no batch is in flight)."""
        if self.busy or not self.queue:
            return
        batch, self.queue = self.queue, []
        link = self.link
        if not self._usable(link):
            error = redis.ConnectionError("Connection closed by server.")
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        assert link is not None and link.protocol is not None
        total = 0
        for _, n, _ in batch:
            total += n
        self.busy = True
        link.protocol.expect(total, self.store._read_timeout, _Batch(self, link, batch))
        link.writer.write(batch[0][0] if len(batch) == 1 else b"".join([p for p, _, _ in batch]))

    def _deliver(self, done: _Batch, replies: list[Any] | None, error: BaseException | None) -> None:
        """Hand each read of a finished batch its replies (or the batch's error), then send what queued meanwhile."""
        self.busy = False
        batch, link = done.reads, done.link
        if error is not None or replies is None:
            error = error or redis.ConnectionError("no replies")
            if self.link is link:  # replies may be misaligned from here on: drop the connection
                self.link = None
                task = self.loop.create_task(link.conn.disconnect())
                self._broken.add(task)
                task.add_done_callback(self._broken.discard)
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(error)
        else:
            if len(batch) == 1:
                future = batch[0][2]
                if not future.done():
                    future.set_result(replies)
            else:
                pos = 0
                for _, n, future in batch:
                    if not future.done():
                        future.set_result(replies[pos : pos + n])
                    pos += n
        if self.queue:
            self._flush()

    async def aclose(self) -> None:
        link, self.link = self.link, None
        if link is not None:
            await link.conn.disconnect()


try:  # the hiredis reader's "incomplete" marker, as redis-py configures it
    from redis._parsers.hiredis import NOT_ENOUGH_DATA as _NOT_ENOUGH
except ImportError:  # pragma: no cover - other redis-py layouts read reply by reply
    _NOT_ENOUGH = None


def _escape_glob(prefix: bytes) -> bytes:
    out = bytearray()
    for c in prefix:
        if c in b"*?[]\\":
            out += b"\\"
        out.append(c)
    return bytes(out)


class RedisOnlineStore(SupportsAsync, SupportsVectors, SupportsScan, SupportsDelete, SupportsKeyExpiry, OnlineStore):
    """Online rows and vectors in Redis. ``redis://``, ``rediss://`` and ``unix://`` URLs."""

    name = "redis"

    def __init__(self, config: RedisConfig) -> None:
        self.config = config
        self.url = config.url
        self.write_batch_size = max(1, config.write_batch_size)
        self.key_ttl_seconds = int(config.key_ttl_seconds)
        #: seconds an async read waits for its replies
        self._read_timeout = config.timeouts.read
        self._options = {
            "max_connections": config.limits.pool_size,
            "socket_timeout": config.timeouts.read,
            "socket_connect_timeout": config.timeouts.connect,
        }
        with translate_errors(self.url):
            self.pool = self._connection_pool()
        self.client: redis.Redis = redis.Redis(connection_pool=self.pool)
        self._write_script = self.client.register_script(_WRITE_LUA)
        self._async_pools: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
        self._idle: list[Any] = []
        self._async_idle: weakref.WeakKeyDictionary[Any, list[_AsyncLink]] = weakref.WeakKeyDictionary()
        self._async_pipes: weakref.WeakKeyDictionary[Any, _Pipeline] = weakref.WeakKeyDictionary()
        forget_after_fork(self)
        self._heads: dict[int, bytes] = {}
        self._fields: dict[tuple[bytes, ...], bytes] = {}

    def __repr__(self) -> str:
        return f"RedisOnlineStore({redact_url(self.url)!r})"

    def describe(self) -> str:
        return self.config.describe()

    def translate(self, exc: BaseException) -> FsnbError | None:
        """redis-py's errors (those of a server-side async read too) as fsnb errors; None for anything else."""
        return translated(self.url, exc) if isinstance(exc, redis.RedisError) else None

    @classmethod
    def check(cls, config: RedisConfig, timeout: float) -> str:
        client = redis.Redis.from_url(config.url, socket_timeout=timeout, socket_connect_timeout=timeout)
        try:
            with translate_errors(config.url):
                client.ping()
                version = client.info("server").get("redis_version", "?")
        finally:
            client.close()
        return f"redis {redact_url(config.url)} · server {version}"

    # ------------------------------------------------------------------------------------ packing

    def _pack_hmgets(self, groups: Sequence[HashRead]) -> bytes:
        parts: list[bytes] = []
        for keys, fields in groups:
            packed = self._fields.get(fields)
            if packed is None:
                packed = b"".join(b"$%d\r\n%s\r\n" % (len(f), f) for f in fields)
                self._fields[fields] = packed
            parts.append(_pack(b"*%d\r\n$5\r\nHMGET\r\n" % (len(fields) + 2), keys, b"\r\n" + packed))
        return parts[0] if len(parts) == 1 else b"".join(parts)

    @staticmethod
    def _pack_gets(keys: Sequence[bytes]) -> bytes:
        return _pack(b"*2\r\n$3\r\nGET\r\n", keys, b"\r\n")

    # ------------------------------------------------------------------------------------ sync reads

    def _take(self) -> Any:
        """A connection for one read: from this store's idle list (no pool bookkeeping), else from the pool."""
        try:
            return self._idle.pop()
        except IndexError:
            return self.pool.get_connection()

    def _round_trip(self, payload: bytes, n: int, read: Any = _read_replies, *args: Any) -> Any:
        """Send ``payload`` (n packed commands) on one connection and read n replies (``read(conn, n, *args)``);
        retry once on a dropped connection (reads are idempotent). Connections go back to the store's idle list,
        owned for good."""
        for attempt in (0, 1):
            conn = None
            try:
                conn = self._take()
                conn.send_packed_command([payload], check_health=False)
                return read(conn, n, *args)
            except (redis.ConnectionError, redis.TimeoutError, OSError) as e:
                if conn is not None:
                    conn.disconnect()
                if attempt or isinstance(e, redis.TimeoutError):
                    raise translated(self.url, e) from e
            except redis.RedisError as e:
                if conn is not None:
                    conn.disconnect()  # unread replies would poison the connection
                raise translated(self.url, e) from e
            except BaseException:
                if conn is not None:
                    conn.disconnect()
                raise
            finally:
                if conn is not None:
                    self._idle.append(conn)
        raise AssertionError("unreachable")

    def read_hashes(self, groups: Sequence[HashRead]) -> list[list[list[bytes | None]]]:
        return _split(self._round_trip(self._pack_hmgets(groups), sum(len(k) for k, _ in groups)), groups)

    def read_hash_columns(self, groups: Sequence[HashRead]) -> list[list[list[bytes | None]]]:
        shape = [(len(keys), len(fields)) for keys, fields in groups]
        return self._round_trip(  # type: ignore[no-any-return]
            self._pack_hmgets(groups), sum(n for n, _ in shape), _read_hash_columns, shape
        )

    def read_values(self, keys: Sequence[bytes]) -> list[bytes | None]:
        return self._round_trip(self._pack_gets(keys), len(keys))  # type: ignore[no-any-return]

    # ------------------------------------------------------------------------------------ async reads

    def _connection_pool(self) -> redis.ConnectionPool:
        """The sync pool (a subclass finds its server another way, e.g. through Sentinel)."""
        return redis.ConnectionPool.from_url(self.url, **self._options)

    def _new_async_pool(self) -> Any:
        """An async pool for the running loop (see :meth:`_connection_pool`)."""
        import redis.asyncio

        return redis.asyncio.ConnectionPool.from_url(self.url, **self._options)

    def _async_pool(self) -> Any:
        loop = asyncio.get_running_loop()
        pool = self._async_pools.get(loop)
        if pool is None:
            pool = self._new_async_pool()
            self._async_pools[loop] = pool
        return pool

    async def _round_trip_async(self, payload: bytes, n: int) -> list[Any]:
        """:meth:`_round_trip` on the running loop: concurrent reads of the loop share one connection and leave in
        coalesced batches (:class:`_Pipeline`); a dropped connection is retried once."""
        if _NOT_ENOUGH is None:  # pragma: no cover - redis-py without hiredis
            return await self._round_trip_async_each(payload, n)
        loop = asyncio.get_running_loop()
        pipe = self._async_pipes.get(loop)
        if pipe is None:
            self._drop_closed_loops()
            pipe = self._async_pipes[loop] = _Pipeline(self, loop)
        for attempt in (0, 1):
            try:
                return await pipe.call(payload, n)
            except (redis.ConnectionError, redis.TimeoutError, OSError) as e:
                if attempt or isinstance(e, redis.TimeoutError):
                    raise translated(self.url, e) from e
            except redis.RedisError as e:  # an error reply: the connection is clean (every reply was read)
                raise translated(self.url, e) from e
        raise AssertionError("unreachable")

    async def _round_trip_async_each(self, payload: bytes, n: int) -> list[Any]:  # pragma: no cover - no hiredis
        """One connection per concurrent read, read through redis-py's parser (no coalescing)."""
        loop = asyncio.get_running_loop()
        idle = self._async_idle.setdefault(loop, [])
        for attempt in (0, 1):
            link = None
            try:
                link = idle.pop() if idle else _AsyncLink(await self._async_pool().get_connection())
                return await link.round_trip(payload, n, self._read_timeout)
            except (redis.ConnectionError, redis.TimeoutError, OSError) as e:
                if link is not None:
                    await link.conn.disconnect()
                if attempt or isinstance(e, redis.TimeoutError):
                    raise translated(self.url, e) from e
            except redis.RedisError as e:
                if link is not None:
                    await link.conn.disconnect()
                raise translated(self.url, e) from e
            except BaseException:
                if link is not None:
                    await link.conn.disconnect()
                raise
            finally:
                if link is not None:
                    idle.append(link)
        raise AssertionError("unreachable")

    def _drop_closed_loops(self) -> None:
        """Forget the connections and pools of closed event loops (``asyncio.run`` makes a loop per call). Their
        connections reference their loop, so the weak keys alone would keep every loop and socket alive."""
        for cache in (self._async_idle, self._async_pools, self._async_pipes):
            for loop in [loop for loop in cache if loop.is_closed()]:
                del cache[loop]

    async def read_hashes_async(self, groups: Sequence[HashRead]) -> list[list[list[bytes | None]]]:
        return _split(await self._round_trip_async(self._pack_hmgets(groups), sum(len(k) for k, _ in groups)), groups)

    async def read_values_async(self, keys: Sequence[bytes]) -> list[bytes | None]:
        return await self._round_trip_async(self._pack_gets(keys), len(keys))

    # ------------------------------------------------------------------------------------ writes

    def write_rows(
        self, keys: Sequence[bytes], field: bytes, rows: Sequence[bytes], event_times_us: Sequence[int]
    ) -> int:
        size = self.write_batch_size
        written = 0
        with translate_errors(self.url):
            pipe = self.client.pipeline(transaction=False)
            queued = 0
            for start in range(0, len(keys), size):
                chunk = keys[start : start + size]
                times = struct.pack(f"<{len(chunk)}q", *event_times_us[start : start + size])
                self._write_script(
                    keys=list(chunk),
                    args=[field, self.key_ttl_seconds, times, *rows[start : start + size]],
                    client=pipe,
                )
                queued += 1
                if queued == 8:
                    written += sum(pipe.execute())
                    queued = 0
            if queued:
                written += sum(pipe.execute())
        return written

    def write_values(self, keys: Sequence[bytes], values: Sequence[bytes]) -> None:
        """SET each value (with the key expiry, if any): packed here and sent in chunks, one round trip each."""
        size = self.write_batch_size
        ttl = self.key_ttl_seconds
        tail = b"$2\r\nEX\r\n$%d\r\n%d\r\n" % (len(str(ttl)), ttl) if ttl else b""
        head = b"*5\r\n$3\r\nSET\r\n" if ttl else b"*3\r\n$3\r\nSET\r\n"
        for start in range(0, len(keys), size):
            parts: list[bytes] = []
            append = parts.append
            chunk = keys[start : start + size]
            for k, v in zip(chunk, values[start : start + size]):
                append(head)
                append(b"$%d\r\n" % len(k))
                append(k)
                append(b"\r\n$%d\r\n" % len(v))
                append(v)
                append(b"\r\n")
                append(tail)
            self._round_trip(b"".join(parts), len(chunk))

    def scan_keys(self, prefix: bytes, *, count: int = 1000) -> Iterator[list[bytes]]:
        match = _escape_glob(prefix) + b"*"
        with translate_errors(self.url):
            cursor = 0
            while True:
                cursor, keys = self.client.scan(cursor=cursor, match=match, count=count)
                if keys:
                    yield [k if isinstance(k, bytes) else k.encode() for k in keys]
                if cursor == 0:
                    break

    def delete_field(self, prefix: bytes, field: bytes) -> int:
        n = 0
        for batch in self.scan_keys(prefix):
            with translate_errors(self.url):
                pipe = self.client.pipeline(transaction=False)
                for k in batch:
                    pipe.hdel(k, field)
                n += sum(pipe.execute())
        return n

    def delete_values(self, prefix: bytes) -> int:
        n = 0
        for batch in self.scan_keys(prefix):
            with translate_errors(self.url):
                n += self.client.unlink(*batch)
        return n

    # ------------------------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        self._idle = []
        self.pool.disconnect()
        self._async_idle = weakref.WeakKeyDictionary()
        self._async_pipes = weakref.WeakKeyDictionary()
        self._async_pools.clear()

    def _forget_connections(self) -> None:
        """In a forked child: the parent's sockets are not ours (never closed here, never used again)."""
        self._idle = []
        self._async_idle = weakref.WeakKeyDictionary()
        self._async_pipes = weakref.WeakKeyDictionary()

    async def aclose(self) -> None:
        loop = asyncio.get_running_loop()
        for link in self._async_idle.pop(loop, []):
            await link.conn.disconnect()
        pipe = self._async_pipes.pop(loop, None)
        if pipe is not None:
            await pipe.aclose()
        pool = self._async_pools.pop(loop, None)
        if pool is not None:
            await pool.disconnect()

