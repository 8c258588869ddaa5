"""Run the feature server: gunicorn manages N uvicorn (uvloop + httptools) worker processes.

gunicorn brings what a production process manager needs: worker restarts, ``max_requests`` with jitter, a
graceful timeout, TLS, signals (``HUP`` reloads workers, ``TERM`` drains). Each worker builds its own
:class:`~fsnb.Store` after the fork, so no connection is ever shared between processes.

Recycling drops no request: once a worker has served ``max_requests`` its responses carry ``Connection: close``
(clients move to other workers), uvicorn then stops accepting, finishes in-flight requests and closes idle
keep-alive connections within the graceful timeout; a client that raced a close retries its idempotent read
(:class:`fsnb.http.HttpSessionManager` does).
"""

from __future__ import annotations

import dataclasses
import glob
import logging
import math
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from typing import Any

from fsnb.config import Config
from fsnb.errors import ConfigError

__all__ = ["ServeOptions", "build_server_store", "resolve_workers", "serve"]

log = logging.getLogger("fsnb.server")

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
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


class DrainingHttpToolsProtocol(HttpToolsProtocol):  # type: ignore[misc]
    """httptools protocol that drains idle keep-alive connections on shutdown instead of cutting them.

    uvicorn closes an idle keep-alive connection the moment a worker stops; a client that sent a request on it at
    that instant sees a reset. Here the connection stays open for :data:`DRAIN_GRACE` seconds: a request that
    arrives is answered with ``Connection: close``; an idle connection is closed when the grace ends.
    """

    _draining = False

    def shutdown(self) -> None:
        if self.cycle is None or self.cycle.response_complete:
            self._draining = True
            self.loop.call_later(DRAIN_GRACE, self._close_if_idle)
        else:
            self.cycle.keep_alive = False

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        if self._draining and self.cycle is not None:
            self.cycle.keep_alive = False

    def _close_if_idle(self) -> None:
        if (self.cycle is None or self.cycle.response_complete) and not self.transport.is_closing():
            self.transport.close()


class FsnbUvicornWorker(UvicornWorker):
    """uvicorn worker with uvloop + draining httptools, app lifespan on, no access log, connection limits."""

    CONFIG_KWARGS = {
        "loop": "uvloop",
        "http": DrainingHttpToolsProtocol,
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


def _child_exit(server: Any, worker: Any) -> None:
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
    if config.online_store.type == "remote":
        raise ConfigError("fsnb serve needs a real online store (redis or sqlite), not type: remote")
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
        "preload_app": False,
        "control_socket_disable": True,  # one per user by default: would clash between servers
    }
    if tls_key:
        gunicorn_options.update(keyfile=tls_key, certfile=tls_cert)

    own_metrics_dir = None
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        own_metrics_dir = tempfile.mkdtemp(prefix="fsnb-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = own_metrics_dir
    else:
        for stale in glob.glob(os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], "*.db")):
            os.unlink(stale)

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

    log.info("fsnb feature server on %s://%s with %d worker(s)", "https" if tls_key else "http", bind, workers)
    try:
        Application().run()
    finally:
        if own_metrics_dir:
            shutil.rmtree(own_metrics_dir, ignore_errors=True)
