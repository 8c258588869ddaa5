"""A shorter soak of the remote SDK (the 100,000-call soak with the latency-flatness ratio is in benchmarks/rest.py).

10,000 sequential calls through one Store: no errors, no RecursionError, bounded memory on both sides, and the
pooled keep-alive connection reused (counted server-side).
"""

from __future__ import annotations

import gc
import os
from pathlib import Path

import psutil
import pytest

import fsnb
from tests.e2e.test_server_support import ServerProcess, build_banking_repo, metric, metric_samples
from tests.servers import RedisServer

pytestmark = [pytest.mark.server, pytest.mark.redis, pytest.mark.slow]

CALLS = 10_000


def rss(pid: int) -> int:
    return psutil.Process(pid).memory_info().rss


def test_soak_sequential_remote_calls(tmp_path: Path, own_redis: RedisServer) -> None:
    repo = build_banking_repo(tmp_path / "banking", own_redis.url, customers=200)
    with ServerProcess(repo, own_redis.url, workers=2) as server:
        store = fsnb.Store(repo, online_store={"type": "remote", "path": server.url})
        warm = 500
        for i in range(warm):
            store.get_online_features("realtime_scoring", [{"customer_id": i % 200 + 1}]).to_dict()
        gc.collect()
        connections_before = metric(metric_samples(server.url), "fsnb_feature_server_connections_opened_total")
        client_before = rss(os.getpid())
        workers_before = {pid: rss(pid) for pid in server.worker_pids()}
        session = store.serving.http.session(server.url)
        wrapper = session.request

        for i in range(CALLS):
            out = store.get_online_features("realtime_scoring", [{"customer_id": i % 200 + 1}]).to_dict()
            assert out["customer_id"] == [i % 200 + 1]

        gc.collect()
        client_growth = rss(os.getpid()) - client_before
        connections = metric(metric_samples(server.url), "fsnb_feature_server_connections_opened_total")
        worker_growth = {pid: rss(pid) - before for pid, before in workers_before.items()}
        assert store.serving.http.session(server.url) is session
        assert session.request is wrapper  # wrapped once per session, never per call
        assert store.serving.http.sessions_created == 1
        # one keep-alive connection carried all 10,000 calls (+1 for the /metrics scrape itself)
        assert connections - connections_before <= 2
        assert client_growth < 20 * 2**20, f"client RSS grew {client_growth / 2**20:.1f} MiB"
        for pid, growth in worker_growth.items():
            assert growth < 30 * 2**20, f"worker {pid} RSS grew {growth / 2**20:.1f} MiB"
        store.close()
