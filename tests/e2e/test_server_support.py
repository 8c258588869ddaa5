"""Helpers shared by the feature-server e2e tests: a materialized banking repo and real server processes.

(Named ``test_server_*`` to sit with the tests it serves; it holds no tests itself.)
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
CUSTOMERS = 400


def build_banking_repo(path: Path, redis_url: str, *, customers: int = CUSTOMERS) -> Path:
    """A banking repo at ``path``, applied and materialized into ``redis_url`` (vectors built)."""
    import fsnb
    from fsnb.examples.banking import init_repo
    from fsnb.registry.repo import load_definitions

    init_repo(path, customers=customers, force=True)
    with fsnb.Store(path, online_store=redis_url) as store:
        store.apply(load_definitions(path))
        now = datetime.now(UTC)
        store.materialize(now - timedelta(days=800), now, progress=False)
    return path


class ServerProcess:
    """``python -m fsnb.server`` (gunicorn + uvicorn workers) on a free loopback port."""

    def __init__(
        self,
        repo: Path | str,
        online_url: str,
        *,
        workers: int = 2,
        args: Sequence[str] = (),
        env: dict[str, str] | None = None,
        tls: tuple[str, str] | None = None,
        module: str = "fsnb.server",
        own_metrics_dir: bool = False,
    ) -> None:
        self.repo = str(repo)
        self.tls = tls
        self.module = module
        self.online_url = online_url
        self.workers = workers
        self.args = list(args)
        self.env = env or {}
        self.port = free_port()
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        #: what ``requests`` should verify TLS with (the test's own certificate).
        self.verify: str | bool = tls[1] if tls else True
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = Path(tempfile.mkstemp(prefix="fsnb-server-", suffix=".log")[1])
        #: ``own_metrics_dir``: leave PROMETHEUS_MULTIPROC_DIR unset, so the server makes (and removes) its own.
        self.metrics_dir = None if own_metrics_dir else tempfile.mkdtemp(prefix="fsnb-prom-")

    def start(self, timeout: float = 30.0) -> ServerProcess:
        env = {
            **{k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"},
            "FSNB_ONLINE_STORE": self.online_url,
            "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
            **self.env,
        }
        if self.metrics_dir is not None:
            env["PROMETHEUS_MULTIPROC_DIR"] = self.metrics_dir
        cmd = [
            sys.executable, "-m", self.module, *(["serve"] if self.module == "fsnb.cli" else []),
            "--repo", self.repo, "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers),
            *(["--tls-key", self.tls[0], "--tls-cert", self.tls[1]] if self.tls else []), *self.args,
        ]
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(ROOT))
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"feature server exited with {self.proc.returncode}:\n{self.log()}")
            with contextlib.suppress(requests.RequestException):
                ping = requests.get(self.url + "/ping", timeout=1, verify=self.verify)
                if ping.status_code == 200 and self._all_workers_up():
                    return self
            time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"feature server not up after {timeout}s:\n{self.log()}")

    def _all_workers_up(self) -> bool:
        return len(self.worker_pids()) >= self.workers and self.log().count("Application startup complete") >= (
            self.workers
        )

    def worker_pids(self) -> list[int]:
        import psutil

        if self.proc is None:
            return []
        with contextlib.suppress(psutil.NoSuchProcess):
            return [c.pid for c in psutil.Process(self.proc.pid).children() if not _is_shipper(c)]
        return []

    def shipper_pid(self) -> int | None:
        """The served-log shipper's pid (``feature_server.logging`` on), else None."""
        import psutil

        if self.proc is None:
            return None
        with contextlib.suppress(psutil.NoSuchProcess):
            return next((c.pid for c in psutil.Process(self.proc.pid).children() if _is_shipper(c)), None)
        return None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _is_shipper(proc: Any) -> bool:
    import psutil

    try:
        return "fsnb.server.log_shipper" in proc.cmdline()
    except psutil.Error:
        return False


def metric_samples(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """``GET /metrics`` parsed with prometheus_client's parser: {(sample name, sorted labels): value}."""
    from prometheus_client.parser import text_string_to_metric_families

    text = requests.get(url + "/metrics", timeout=5).text
    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def metric(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    """The sum of samples named ``name`` whose labels include ``labels``."""
    return sum(v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= set(ls))


@contextlib.contextmanager
def running(repo: Path | str, online_url: str, **kwargs: object) -> Iterator[ServerProcess]:
    server = ServerProcess(repo, online_url, **kwargs)  # type: ignore[arg-type]
    server.start()
    try:
        yield server
    finally:
        server.stop()
