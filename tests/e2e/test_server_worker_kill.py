"""A worker SIGKILLed under load: the master replaces it, the remote client's idempotent reads retry the requests
that were in flight on it (none is lost), and plain clients see at most a dropped connection, never a 5xx or a
plain-text answer. (A killed process cannot answer what it was serving; a client without retries sees that once.)
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

import fsnb
from tests.e2e.test_server_support import ServerProcess
from tests.servers import RedisServer

pytestmark = [pytest.mark.server, pytest.mark.redis]

BANKING_CUSTOMERS = 50
FEATURES = ["transaction_stats:txn_count_7d", "customer_demographics:age"]
IDS = [1, 2, 3]


@pytest.fixture(scope="module")
def server(repo: Path, redis: RedisServer) -> Iterator[ServerProcess]:
    with ServerProcess(repo, redis.url, workers=2) as s:
        yield s


def wait_until(predicate, timeout: float = 30.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_a_killed_worker_is_replaced_and_remote_reads_lose_nothing(
    server: ServerProcess, repo: Path, direct: fsnb.Store
) -> None:
    want = direct.get_online_features(FEATURES, {"customer_id": IDS}).to_dict()
    stop = threading.Event()
    remote_results: Counter[str] = Counter()
    raw_results: Counter[str] = Counter()
    remote = fsnb.Store(repo, online_store={"type": "remote", "path": server.url, "limits": {"retries": 3}})

    def remote_reader() -> None:
        deadline = time.monotonic() + 60  # bounded, whatever happens
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                got = remote.get_online_features(FEATURES, {"customer_id": IDS}).to_dict()
                remote_results["ok" if got == want else f"wrong {got}"] += 1
            except Exception as e:  # every failure is a lost read
                remote_results[f"{type(e).__name__}: {e}"] += 1

    def raw_reader() -> None:  # keep-alive, no retries
        deadline = time.monotonic() + 60
        body = {"features": FEATURES, "entities": {"customer_id": IDS}}
        with requests.Session() as s:
            while not stop.is_set() and time.monotonic() < deadline:
                try:
                    r = s.post(server.url + "/get-online-features", json=body, timeout=10)
                    json_body = r.headers.get("content-type", "").startswith("application/json")
                    raw_results[f"{r.status_code}{'' if json_body else ' not JSON'}"] += 1
                except requests.ConnectionError:
                    raw_results["connection dropped"] += 1

    threads = [threading.Thread(target=remote_reader, daemon=True) for _ in range(3)]
    threads.append(threading.Thread(target=raw_reader, daemon=True))
    try:
        for t in threads:
            t.start()
        assert wait_until(lambda: remote_results["ok"] >= 100 and raw_results["200"] >= 30)
        before = set(server.worker_pids())
        victim = sorted(before)[0]
        os.kill(victim, signal.SIGKILL)
        assert wait_until(lambda: len(set(server.worker_pids()) - before) >= 1
                          and len(server.worker_pids()) == server.workers), server.log()[-2000:]
        served = remote_results["ok"]
        assert wait_until(lambda: remote_results["ok"] >= served + 200)  # reads go on after the replacement
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
        remote.close()
    assert set(remote_results) == {"ok"}, remote_results
    assert set(raw_results) <= {"200", "connection dropped"}, raw_results
    assert raw_results["connection dropped"] <= 1  # only the request in flight on the killed worker
    assert victim not in server.worker_pids()
    assert requests.get(server.url + "/health", timeout=5).status_code == 200
    assert f"Worker (pid:{victim}) was sent SIGKILL" in server.log()
