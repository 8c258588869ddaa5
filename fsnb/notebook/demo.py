"""A ready banking store in one call (scaffold, apply, materialize) and a feature server process for it.

What the quickstart notebook does step by step, for benchmarks, tests and notebooks that want data now.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fsnb.store import Store

__all__ = ["FeatureServerProcess", "banking_store", "start_feature_server"]


def banking_store(
    path: str | os.PathLike[str],
    *,
    customers: int = 1_000,
    online_store: str | None = None,
    materialize: bool = True,
    progress: bool = False,
    seed: int = 0,
    **overrides: Any,
) -> Store:
    """The banking example at ``path`` (created if empty), applied and, unless ``materialize=False``, materialized.

    ``online_store`` is a URL (``redis://127.0.0.1:6379/0``); without it the repo's embedded SQLite store is used.

    >>> store = banking_store("/tmp/banking", customers=2_000, online_store="redis://127.0.0.1:6379/0")
    """
    from fsnb.examples.banking import init_repo
    from fsnb.registry.repo import load_definitions
    from fsnb.store import Store

    repo = init_repo(path, customers=customers, seed=seed)
    if online_store:
        overrides["online_store"] = online_store
    store = Store(repo, **overrides)
    store.apply(load_definitions(repo))
    if materialize:
        store.materialize_incremental(datetime.now(UTC), progress=progress)
    return store


class FeatureServerProcess:
    """A ``fsnb serve`` process of this session's own (loopback, free port); ``stop()`` ends it."""

    def __init__(self, proc: subprocess.Popen[bytes], url: str, log: str) -> None:
        self.proc = proc
        self.url = url
        self.log = log

    def cpu_seconds(self) -> float:
        """User + system CPU seconds used so far by the server and its worker processes (NaN if unknown)."""
        try:
            import psutil
        except ImportError:
            return math.nan
        try:
            root = psutil.Process(self.proc.pid)
            total = 0.0
            for p in [root, *root.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    t = p.cpu_times()
                    total += t.user + t.system
            return total
        except psutil.Error:
            return math.nan

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM the server's process group (it drains), then SIGKILL if it lingers; its log file is removed."""
        self._terminate(timeout)
        with contextlib.suppress(OSError):
            os.unlink(self.log)

    def _terminate(self, timeout: float) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def __enter__(self) -> FeatureServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.proc.poll() is None else f"exited {self.proc.returncode}"
        return f"FeatureServerProcess({self.url}, pid={self.proc.pid}, {state})"


def start_feature_server(
    store: Store, *, port: int | None = None, workers: int = 1, timeout: float = 120.0
) -> FeatureServerProcess:
    """Run ``fsnb serve`` for ``store``'s repo (same registry and online store) on 127.0.0.1 and wait for /health.

    >>> server = start_feature_server(store); store.profile("realtime_scoring", server_url=server.url)
    """
    import requests

    from fsnb.errors import ServerError

    port = port or _free_port()
    cfg = store.config
    env = dict(os.environ)
    env["FSNB_REGISTRY"] = cfg.registry.url
    env["FSNB_ONLINE_STORE"] = cfg.online_store.to_url()
    fd, log = tempfile.mkstemp(prefix="fsnb-serve-", suffix=".log")
    cmd = [sys.executable, "-m", "fsnb.cli", "serve", "--repo", str(cfg.repo_path), "--host", "127.0.0.1",
           "--port", str(port), "--workers", str(workers)]
    with os.fdopen(fd, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    server = FeatureServerProcess(proc, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{server.url}/health", timeout=1).status_code == 200:
                return server
        time.sleep(0.2)
    server._terminate(15.0)
    with open(log, errors="replace") as f:
        tail = f.read()[-2000:]
    server.stop()
    raise ServerError(f"`fsnb serve` did not become healthy at {server.url} within {timeout:g}s:\n{tail}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
