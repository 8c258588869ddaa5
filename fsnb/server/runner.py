"""Run the feature server: gunicorn manages N uvicorn (uvloop + httptools) worker processes.

gunicorn brings what a production process manager needs: worker restarts, ``max_requests`` with jitter, a
graceful timeout, TLS, signals (``HUP`` reloads workers, ``TERM`` drains). Each worker builds its own
:class:`~fsnb.Store` after the fork, so no connection is ever shared between processes.

Recycling drops no request: once a worker has served ``max_requests`` its responses carry ``Connection: close``
(clients move to other workers), uvicorn then stops accepting, finishes in-flight requests and closes idle
keep-alive connections within the graceful timeout; a client that raced a close retries its idempotent read
(:class:`fsnb.http.HttpSessionManager` does).

Slow clients cannot pin a worker: a request's headers must arrive within ``header_timeout`` (and
``max_header_bytes``), its body within ``body_timeout`` (and ``max_body_bytes``), else the client gets a JSON 408 /
431 / 413 and the connection is closed. A worker at ``worker_connections`` first closes its idle keep-alive
connections to make room, and answers the JSON 503 only when every connection is busy.

The Prometheus multiprocess folder belongs to the master: created (or emptied) at start, removed when the master
exits; a dead worker's live gauges are dropped with ``mark_process_dead``, its counters stay in the totals.
"""

from __future__ import annotations

import asyncio
import dataclasses
import glob
import logging
import math
import os
import shutil
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from typing import Any

from fsnb.config import Config
from fsnb.errors import ConfigError
from fsnb.online._backends import byte_backend
from fsnb.served_log.writer import SPOOL_ENV

__all__ = ["ServeOptions", "build_server_store", "resolve_workers", "serve"]

log = logging.getLogger("fsnb.server")

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import httptools
    from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
    from uvicorn.workers import UvicornWorker

#: seconds a stopping worker keeps an idle keep-alive connection open for one last request.
DRAIN_GRACE = 1.0

#: set in each worker process before the app is built (gunicorn's jittered max_requests for that worker).
_WORKER: dict[str, int] = {"max_requests": 0}


@dataclass(frozen=True)
class ServeOptions:
    """``fsnb serve`` flags; ``None`` means "from ``feature_server:`` in fsnb.yaml"."""

    host: str | None = None
    port: int | None = None
    workers: int | None = None
    keep_alive: float | None = None
    max_requests: int | None = None
    max_requests_jitter: int | None = None
    worker_connections: int | None = None
    registry_ttl: float | None = None
    max_batch_rows: int | None = None
    tls_key: str | None = None
    tls_cert: str | None = None
    graceful_timeout: float | None = None
    header_timeout: float | None = None
    body_timeout: float | None = None
    log_level: str = "info"
    access_log: bool = False


def resolve_workers(workers: int) -> int:
    """``-1`` → 2 x cores + 1; otherwise at least 1."""
    if workers == -1 or workers == 0:
        return 2 * (os.cpu_count() or 1) + 1
    if workers < -1:
        raise ConfigError(f"--workers must be -1 (2 x cores + 1) or a positive count, got {workers}")
    return workers


def build_server_store(config: Config) -> Any:
    """The Store a worker serves from: its registry cache never expires by itself (the app refreshes it)."""
    from fsnb.store import Store

    registry = dataclasses.replace(config.registry, cache_ttl_seconds=1e9)
    return Store(config=dataclasses.replace(config, registry=registry))


#: seconds a connection must have spent on its request head before a worker at its connection limit may close it.
EVICT_SLOW_HEAD_AFTER = 1.0

#: read limits, set by :func:`serve` in the master before the workers fork.
_LIMITS: dict[str, float] = {
    "header_timeout": 10.0,
    "body_timeout": 30.0,
    "max_header_bytes": 65536,
    "max_body_bytes": 64 * 1024 * 1024,
}


def error_response(status: int, error: str, detail: str) -> bytes:
    """A complete HTTP/1.1 answer with the server's JSON error body that closes the connection."""
    import orjson

    body = orjson.dumps({"error": error, "detail": detail})
    return b"".join([
        STATUS_LINE[status], b"content-type: application/json\r\ncontent-length: ", str(len(body)).encode(),
        b"\r\nconnection: close\r\n\r\n", body,
    ])


async def _busy(scope: Any, receive: Any, send: Any) -> None:
    """The JSON 503 of a worker whose every connection is busy (uvicorn's own is plain text)."""
    import orjson

    body = orjson.dumps({
        "error": "ServiceUnavailable",
        "detail": "this worker is at its connection limit (feature_server.worker_connections); retry shortly",
    })
    await send({"type": "http.response.start", "status": 503, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"), (b"retry-after", b"1")]})
    await send({"type": "http.response.body", "body": body})


class _CorkedTransport:
    """A connection's transport as its response cycles see it: the response head is held until the body is written,
    so head and body leave in one ``send()`` (a system call per response saved, ~15% of a worker's CPU per 1-row
    read). Held bytes are flushed by the body write, by :meth:`close`, or when the response completes (HEAD)."""

    __slots__ = ("_transport", "_held")

    def __init__(self, transport: Any) -> None:
        self._transport = transport
        self._held: bytes | None = None

    def write(self, data: bytes) -> None:
        held = self._held
        if held is None:
            if data[:5] == b"HTTP/" and data[9:12] != b"100":  # a response head (not "100 Continue"): wait for its body
                self._held = data
                return
            self._transport.write(data)
            return
        self._held = None
        self._transport.write(held + data)

    def flush(self) -> None:
        held = self._held
        if held is not None:
            self._held = None
            if not self._transport.is_closing():
                self._transport.write(held)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def is_closing(self) -> bool:
        return bool(self._transport.is_closing())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class DrainingHttpToolsProtocol(HttpToolsProtocol):  # type: ignore[misc]
    """httptools protocol with read limits, JSON errors, room-making at the connection limit and draining.

    - A request head (request line + headers) must arrive within ``header_timeout`` seconds of the connection
      opening (or of the request's first byte on a keep-alive connection) and within ``max_header_bytes``:
      else 408 / 431 JSON and close. A connection that never sent a byte is closed silently.
    - Malformed HTTP (bad version, ``Transfer-Encoding`` with ``Content-Length``, ...) gets a 400 JSON body.
    - At ``worker_connections``, idle keep-alive connections and request heads slower than
      :data:`EVICT_SLOW_HEAD_AFTER` are closed to make room; only if none is left is the request answered 503 JSON.
    - On shutdown an idle keep-alive connection stays open for :data:`DRAIN_GRACE` seconds: a request that arrives
      is answered with ``Connection: close``; an idle connection is closed when the grace ends (uvicorn would cut it,
      and a client that sent a request at that instant would see a reset).
    """

    _draining = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limit: int | None = self.limit_concurrency
        self.limit_concurrency = None  # answered here, with a JSON body and after making room
        self._app = self.app
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_started = 0.0
        self._head_bytes = 0
        self._rejected = False

    # -------------------------------------------------------------------------------------- head timing

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_started = time.monotonic()
            self._head_timer = self.loop.call_later(_LIMITS["header_timeout"], self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        self._head_bytes = 0

    def _head_timed_out(self) -> None:
        self._head_timer = None
        seconds = _LIMITS["header_timeout"]
        self._reject(408, "RequestTimeoutError",
                     f"the request headers did not arrive within {seconds:g} s (feature_server.header_timeout)")

    def _reject(self, status: int, error: str, detail: str) -> None:
        """Answer ``status`` with a JSON error and close; a connection that sent nothing is just closed."""
        self._rejected = True
        sent_something = self._head_bytes > 0 or self.cycle is not None
        self._cancel_head_timer()
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.keep_alive = False  # a response is being written: never interleave bytes with it
            self.flow.pause_reading()
            return
        if status != 408 or sent_something:
            self.transport.write(error_response(status, error, detail))
        self.transport.close()

    # ------------------------------------------------------------------------------------ protocol hooks

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._corked = _CorkedTransport(transport)
        self._arm_head_timer()

    def on_response_complete(self) -> None:
        self._corked.flush()
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._rejected:
            return
        if self._head_timer is not None:
            self._head_bytes += len(data)
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            pass  # no upgrades here: the request was dispatched as plain HTTP when its headers completed
        except httptools.HttpParserError as exc:
            self._reject(400, "RequestError", f"invalid HTTP request ({exc}): send HTTP/1.0 or HTTP/1.1 with "
                         "either Content-Length or Transfer-Encoding: chunked")
            return
        limit = int(_LIMITS["max_header_bytes"])
        if self._head_timer is not None and self._head_bytes > limit:
            self._reject(431, "RequestError",
                         f"the request line and headers exceed {limit} bytes (feature_server.max_header_bytes)")

    def send_400_response(self, msg: str) -> None:
        self._reject(400, "RequestError", f"invalid HTTP request: {msg}")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm_head_timer()

    def on_headers_complete(self) -> None:
        self._cancel_head_timer()
        self.app = self._app
        if self._limit is not None and self._over_limit():
            self._make_room()
            if self._over_limit():
                self.app = _busy
        super().on_headers_complete()
        if self.cycle is not None:
            self.cycle.transport = self._corked  # type: ignore[assignment]
            if self._draining:
                self.cycle.keep_alive = False

    # -------------------------------------------------------------------------------- connection limit

    def _over_limit(self) -> bool:
        assert self._limit is not None
        if len(self.tasks) >= self._limit:
            return True
        if len(self.connections) <= self._limit:
            return False
        open_ = sum(1 for c in self.connections if not c.transport.is_closing())  # closed ones leave on the next tick
        return open_ > self._limit

    def _make_room(self) -> None:
        """Close idle keep-alive connections, then request heads slower than EVICT_SLOW_HEAD_AFTER, oldest first."""
        assert self._limit is not None
        now = time.monotonic()
        idle: list[DrainingHttpToolsProtocol] = []
        slow: list[tuple[float, DrainingHttpToolsProtocol]] = []
        for c in list(self.connections):
            if c is self or not isinstance(c, DrainingHttpToolsProtocol) or c.transport.is_closing():
                continue
            busy = c.cycle is not None and not c.cycle.response_complete
            if c._head_timer is not None and not busy:
                if now - c._head_started >= EVICT_SLOW_HEAD_AFTER:
                    slow.append((c._head_started, c))
            elif not busy and c.cycle is not None:
                idle.append(c)
        victims = idle + [c for _, c in sorted(slow, key=lambda t: t[0])]
        excess = sum(1 for c in self.connections if not c.transport.is_closing()) - self._limit
        for c in victims[:max(0, excess)]:
            if c._head_timer is not None:
                c._reject(408, "RequestTimeoutError", "the request headers came too slowly while this worker was at "
                          "its connection limit (feature_server.worker_connections)")
            else:
                c.transport.close()

    def shutdown(self) -> None:
        if self.cycle is None or self.cycle.response_complete:
            self._draining = True
            self.loop.call_later(DRAIN_GRACE, self._close_if_idle)
        else:
            self.cycle.keep_alive = False

    def _close_if_idle(self) -> None:
        if (self.cycle is None or self.cycle.response_complete) and not self.transport.is_closing():
            self.transport.close()


class _LoopOwnedListener:
    """A worker's view of a gunicorn listener. The event loop's server closes the descriptor when it stops, so
    :meth:`close` only forgets it (gunicorn's own close would close it a second time: "[Errno 9] Bad file
    descriptor" in the log, or worse, another descriptor that reused the number)."""

    def __init__(self, listener: Any) -> None:
        self._listener = listener

    def __getattr__(self, name: str) -> Any:
        return getattr(self._listener, name)

    def close(self) -> None:
        inner = getattr(self._listener, "sock", None)
        if inner is not None:
            inner.detach()
            self._listener.sock = None


class FsnbUvicornWorker(UvicornWorker):
    """uvicorn worker with uvloop + the protocol above, app lifespan on, no access log, connection limits."""

    CONFIG_KWARGS = {
        "loop": "uvloop",
        "http": DrainingHttpToolsProtocol,
        "ws": "none",
        "lifespan": "on",
        "access_log": False,
        "proxy_headers": False,  # no proxy-header rewriting layer on the request path (nothing uses client addresses)
        "server_header": False,
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.config.limit_concurrency = int(self.cfg.worker_connections) or None
        # Stop waiting for stuck connections (e.g. TLS peers gone without close_notify) before gunicorn kills us.
        self.config.timeout_graceful_shutdown = max(1, int(self.cfg.graceful_timeout) - 1)
        if self.cfg.settings["accesslog"].value:
            self.config.access_log = True

    def init_process(self) -> None:
        # In the worker, after the fork: tell the app when this worker will be recycled.
        _WORKER["max_requests"] = self.max_requests if self.cfg.max_requests > 0 else 0
        super().init_process()

    def run(self) -> None:
        listeners: list[Any] = getattr(self, "sockets", [])
        self.sockets = [_LoopOwnedListener(s) for s in listeners]
        super().run()


def _worker_exit(server: Any, worker: Any) -> None:
    """In a worker, as it exits (recycled or stopped): flush the served-feature log if the app's shutdown did not."""
    from fsnb.served_log.writer import close_all

    close_all()


def _child_exit(server: Any, worker: Any) -> None:
    """In the master, when a worker is gone (recycled, killed or crashed): drop its live gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def serve(config: Config, options: ServeOptions | None = None) -> None:
    """Run the feature server in the foreground until SIGINT / SIGTERM."""
    from gunicorn.app.base import BaseApplication

    o = options or ServeOptions()
    fs = config.feature_server
    pick = lambda flag, default: default if flag is None else flag  # noqa: E731
    host, port = pick(o.host, fs.host), pick(o.port, fs.port)
    workers = resolve_workers(pick(o.workers, fs.workers))
    tls_key, tls_cert = pick(o.tls_key, fs.tls_key), pick(o.tls_cert, fs.tls_cert)
    if bool(tls_key) != bool(tls_cert):
        raise ConfigError("TLS needs both a key (--tls-key) and a certificate (--tls-cert)")
    if not 0 <= int(port) <= 65535:
        raise ConfigError(f"--port must be 0-65535, got {port}")
    byte_backend(config.online_store)  # the server reads bytes itself: a remote online store is a ConfigError
    settings = {
        "max_batch_rows": pick(o.max_batch_rows, fs.max_batch_rows),
        "registry_ttl": pick(o.registry_ttl, fs.registry_ttl),
        "auth": fs.auth,
    }
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    gunicorn_options: dict[str, Any] = {
        "bind": [bind],
        "workers": workers,
        "worker_class": f"{__name__}.FsnbUvicornWorker",
        "keepalive": max(1, math.ceil(pick(o.keep_alive, fs.keep_alive))),
        "max_requests": pick(o.max_requests, fs.max_requests),
        "max_requests_jitter": pick(o.max_requests_jitter, fs.max_requests_jitter),
        "worker_connections": pick(o.worker_connections, fs.worker_connections),
        "graceful_timeout": max(1, math.ceil(pick(o.graceful_timeout, fs.graceful_timeout))),
        "timeout": 60,
        "loglevel": o.log_level,
        "accesslog": "-" if o.access_log else None,
        "proc_name": f"fsnb-serve[{config.project}]",
        "child_exit": _child_exit,
        "worker_exit": _worker_exit,
        "preload_app": False,
        "control_socket_disable": True,  # one per user by default: would clash between servers
    }
    if tls_key:
        gunicorn_options.update(keyfile=tls_key, certfile=tls_cert)

    _LIMITS.update(_read_limits(o, fs))
    settings["body_timeout"] = _LIMITS["body_timeout"]
    settings["max_body_bytes"] = int(_LIMITS["max_body_bytes"])
    master = os.getpid()
    own_metrics_dir = _prepare_metrics_dir()
    shipper = _start_shipper(config)

    def factory() -> Any:
        from fsnb.server.app import create_app

        return create_app(build_server_store(config), max_requests=_WORKER["max_requests"], **settings)

    class Application(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in gunicorn_options.items():
                if value is not None:
                    self.cfg.set(key, value)

        def load(self) -> Any:
            return factory()

        def run(self) -> None:
            from gunicorn.arbiter import Arbiter

            class ShipperArbiter(Arbiter):  # type: ignore[misc]
                def manage_workers(self) -> None:  # once per master loop (about every second)
                    super().manage_workers()
                    if shipper is not None:
                        shipper.ensure_running()

            try:
                ShipperArbiter(self).run()
            except RuntimeError as e:  # what gunicorn's own run() does
                print(f"\nError: {e}\n", file=sys.stderr)
                sys.exit(1)

    log.info("fsnb feature server on %s://%s with %d worker(s)", "https" if tls_key else "http", bind, workers)
    try:
        Application().run()
    finally:
        # A worker leaves gunicorn's fork through SystemExit, which unwinds this frame too: only the master may
        # remove the folder every worker writes to.
        if os.getpid() == master:
            if shipper is not None:  # the workers are gone: convert the segments they left
                shipper.stop()
                os.environ.pop(SPOOL_ENV, None)
            if own_metrics_dir:
                shutil.rmtree(own_metrics_dir, ignore_errors=True)


def _start_shipper(config: Config) -> Any:
    """With ``feature_server.logging`` on: the shipper process that converts the workers' served-log segments
    (started, its spool folder told to the workers through the environment), else None."""
    from fsnb.served_log.layout import log_root
    from fsnb.server.log_shipper import Shipper

    settings = config.feature_server.logging
    if not settings.enabled:
        return None
    root = log_root(config, settings)
    shipper = Shipper(root / "_spool", root, settings.flush_interval, settings.retention_days)
    shipper.start()
    os.environ[SPOOL_ENV] = str(shipper.spool)
    return shipper


def _prepare_metrics_dir() -> str | None:
    """Point ``PROMETHEUS_MULTIPROC_DIR`` at a fresh folder (returned: the master removes it at exit), or empty
    the one given of a previous run's files (kept: it is the caller's)."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        os.makedirs(given, exist_ok=True)
        for stale in glob.glob(os.path.join(given, "*.db")):
            os.unlink(stale)
        return None
    own = tempfile.mkdtemp(prefix="fsnb-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = own
    return own


def _read_limits(options: ServeOptions, fs: Any) -> dict[str, float]:
    """The read timeouts and size limits (flags over ``feature_server:``), checked."""
    values = {
        "header_timeout": options.header_timeout if options.header_timeout is not None else fs.header_timeout,
        "body_timeout": options.body_timeout if options.body_timeout is not None else fs.body_timeout,
        "max_header_bytes": fs.max_header_bytes,
        "max_body_bytes": fs.max_body_bytes,
    }
    for name, value in values.items():
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise ConfigError(f"feature_server.{name} must be a positive number, got {value!r}")
    if values["max_header_bytes"] < 1024:
        raise ConfigError(f"feature_server.max_header_bytes must be at least 1024, got {values['max_header_bytes']}")
    return values
