"""Worker recycling (``--max-requests``) under load with metrics on: the server stays up, no request fails and
``/metrics`` keeps every request answered, recycled workers included."""

from __future__ import annotations

import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import requests

from tests.e2e.test_server_support import ServerProcess, build_banking_repo, metric, metric_samples
from tests.servers import RedisServer

pytestmark = [pytest.mark.server, pytest.mark.redis, pytest.mark.slow]

BODY = {"features": ["transaction_stats:txn_count_7d", "customer_demographics:age"],
        "entities": {"customer_id": [1, 2]}}
CLIENTS = 4
PER_CLIENT = 600
LATENCY_COUNT = "fsnb_feature_server_request_latency_seconds_count"


def _metrics_folder_of(pids: set[int]) -> Path:
    """The multiprocess folder the server made: the one holding a worker's sample files."""
    for folder in Path(tempfile.gettempdir()).glob("fsnb-metrics-*"):
        if any(f"_{pid}.db" in p.name for p in folder.iterdir() for pid in pids):
            return folder
    raise AssertionError("no metrics folder with a worker's files")


def test_recycling_with_metrics_on_drops_nothing_and_keeps_the_counts(tmp_path: Path, own_redis: RedisServer) -> None:
    repo = build_banking_repo(tmp_path / "banking", own_redis.url, customers=50)
    args = ["--max-requests", "50", "--max-requests-jitter", "10", "--keep-alive", "5"]
    # the server makes its own multiprocess metrics folder, as `fsnb serve` does by default
    with ServerProcess(repo, own_redis.url, workers=3, args=args, own_metrics_dir=True) as server:
        first = set(server.worker_pids())
        requests.get(server.url + "/ping", timeout=5)
        folder = _metrics_folder_of(first)
        statuses: Counter[str] = Counter()
        lock = threading.Lock()
        deadline = time.monotonic() + 120  # bounded, whatever happens

        def client() -> None:  # plain keep-alive requests, no retries: every failure is a dropped request
            with requests.Session() as s:
                for _ in range(PER_CLIENT):
                    if time.monotonic() > deadline:
                        break
                    try:
                        r = s.post(server.url + "/get-online-features", json=BODY, timeout=10)
                        key = str(r.status_code)
                    except requests.RequestException as e:
                        key = type(e).__name__
                    with lock:
                        statuses[key] += 1

        threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=150)
        assert statuses == Counter({"200": CLIENTS * PER_CLIENT}), server.log()[-3000:]
        assert server.proc is not None and server.proc.poll() is None, "the server exited"
        recycled = first - set(server.worker_pids())
        assert len(recycled) >= 3, "workers were not recycled: the test did not exercise max-requests"
        assert "Worker failed to boot" not in server.log()
        # every answered read is counted once, whichever worker (alive or recycled) answered it
        samples = metric_samples(server.url)
        assert metric(samples, LATENCY_COUNT, endpoint="/get-online-features", status="200") == CLIENTS * PER_CLIENT
        assert metric(samples, "fsnb_feature_server_requests_total", endpoint="/get-online-features") == (
            CLIENTS * PER_CLIENT
        )
        assert requests.get(server.url + "/health", timeout=10).status_code == 200
    assert not folder.exists(), "the master leaves its metrics folder behind"
