"""Faults under load: the online store dies and comes back; workers are recycled by max-requests."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import requests

import fsnb
from tests.e2e.test_server_support import ServerProcess, build_banking_repo
from tests.servers import RedisServer

pytestmark = [pytest.mark.server, pytest.mark.redis, pytest.mark.slow]

BODY = {"features": ["transaction_stats:txn_count_7d", "customer_demographics:age"],
        "entities": {"customer_id": [1, 2]}}


class Load:
    """One thread reading in a loop over a keep-alive session (no retries), recording statuses in order."""

    def __init__(self, url: str) -> None:
        self.url = url + "/get-online-features"
        self.results: list[tuple[int, str]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        deadline = time.monotonic() + 60  # bounded, whatever happens
        with requests.Session() as s:
            while not self.stop.is_set() and time.monotonic() < deadline:
                try:
                    r = s.post(self.url, json=BODY, timeout=5)
                    self.results.append((r.status_code, r.json().get("error", "") if r.status_code != 200 else ""))
                except requests.RequestException as e:
                    self.results.append((0, type(e).__name__))
                time.sleep(0.002)

    def wait_for(self, predicate, timeout: float = 20.0) -> bool:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.results):
                return True
            time.sleep(0.05)
        return False


def test_online_store_outage_gives_503_and_service_recovers_by_itself(
    tmp_path: Path, own_redis: RedisServer
) -> None:
    repo = build_banking_repo(tmp_path / "banking", own_redis.url, customers=50)
    with ServerProcess(repo, own_redis.url, workers=2) as server:
        pids = set(server.worker_pids())
        load = Load(server.url)
        load.thread.start()
        try:
            assert load.wait_for(lambda r: len(r) >= 20)
            assert {s for s, _ in load.results} == {200}
            own_redis.kill()
            mark = len(load.results)
            assert load.wait_for(lambda r: sum(1 for s, _ in r[mark:] if s == 503) >= 10)
            during = Counter(load.results[mark:])
            assert (503, "OnlineStoreUnavailableError") in during
            assert all(status in (200, 503) for status, _ in during)  # no 500, no dropped connection
            health = requests.get(server.url + "/health", timeout=10)
            assert health.status_code == 503
            assert health.json()["problems"]["online_store"]

            own_redis.start()  # same port, nothing else restarted
            mark = len(load.results)
            assert load.wait_for(lambda r: sum(1 for s, _ in r[mark:] if s == 200) >= 20)
            tail = load.results[-10:]
            assert {s for s, _ in tail} == {200}
            assert requests.get(server.url + "/health", timeout=10).status_code == 200
        finally:
            load.stop.set()
            load.thread.join(timeout=10)
        assert set(server.worker_pids()) == pids  # recovered in place, no worker restarts
        assert not any(status in (0, 500) for status, _ in load.results)


def test_worker_recycling_drops_no_request(tmp_path: Path, own_redis: RedisServer) -> None:
    repo = build_banking_repo(tmp_path / "banking", own_redis.url, customers=50)
    args = ["--max-requests", "150", "--max-requests-jitter", "30", "--keep-alive", "5"]
    with ServerProcess(repo, own_redis.url, workers=2, args=args) as server:
        first_pids = set(server.worker_pids())
        errors: list[str] = []
        done = Counter()
        store = fsnb.Store(repo, online_store={"type": "remote", "path": server.url, "limits": {"retries": 3}})

        def client() -> None:
            for _ in range(300):
                try:
                    r = store.get_online_features(BODY["features"], BODY["entities"])
                    assert r.to_dict()["customer_id"] == [1, 2]
                    done["ok"] += 1
                except Exception as e:  # every failure is a dropped request
                    errors.append(f"{type(e).__name__}: {e}")

        def raw_client() -> None:  # plain keep-alive requests, no retry at all: every failure is a dropped request
            with requests.Session() as s:
                for _ in range(300):
                    try:
                        r = s.post(server.url + "/get-online-features", json=BODY, timeout=10)
                        if r.status_code == 200:
                            done["raw_ok"] += 1
                        else:
                            errors.append(f"HTTP {r.status_code}")
                    except requests.RequestException as e:
                        errors.append(f"raw {type(e).__name__}: {e}")

        threads = [threading.Thread(target=client) for _ in range(4)]
        threads += [threading.Thread(target=raw_client) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        store.close()
        assert errors == []
        assert done["ok"] == 1200
        assert done["raw_ok"] == 600
        recycled = first_pids - set(server.worker_pids())
        assert recycled, "the workers were never recycled: the test did not exercise max-requests"
        assert "Autorestarting worker" in server.log() or len(recycled) >= 1
