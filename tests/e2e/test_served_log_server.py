"""Served-feature logs written by a real multi-worker server whose workers are recycled mid-run: every request is
in the log exactly once (counted by request id) with what it was served, and nothing is lost at shutdown."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

import fsnb
from fsnb.served_log.writer import SPOOL_ENV
from tests.e2e.test_server_support import ServerProcess, build_banking_repo, metric, metric_samples
from tests.servers import RedisServer

pytestmark = [pytest.mark.server, pytest.mark.redis, pytest.mark.slow]

CLIENTS = 3
PER_CLIENT = 300


def _enable_logging(repo: Path, **settings: object) -> None:
    path = repo / "fsnb.yaml"
    doc = yaml.safe_load(path.read_text())
    doc.setdefault("feature_server", {})["logging"] = {"enabled": True, **settings}
    path.write_text(yaml.safe_dump(doc))


def test_every_request_is_logged_once_across_recycled_workers(tmp_path: Path, own_redis: RedisServer) -> None:
    repo = build_banking_repo(tmp_path / "banking", own_redis.url, customers=50)
    _enable_logging(repo, flush_interval=0.2)
    args = ["--max-requests", "60", "--max-requests-jitter", "10", "--keep-alive", "5"]
    sent: list[str] = []
    statuses: Counter[str] = Counter()
    lock = threading.Lock()
    with ServerProcess(repo, own_redis.url, workers=2, args=args) as server:
        first = set(server.worker_pids())
        deadline = time.monotonic() + 120

        def client(c: int) -> None:
            with requests.Session() as s:
                for i in range(PER_CLIENT):
                    if time.monotonic() > deadline:
                        break
                    rid = f"c{c}-{i}"
                    body = {"feature_service": "realtime_scoring", "entities": {"customer_id": [1 + (i % 40), 7]}}
                    try:
                        r = s.post(server.url + "/get-online-features", json=body, timeout=10,
                                   headers={"X-Request-ID": rid})
                        key = str(r.status_code) if r.headers.get("x-request-id") == rid else "wrong request id"
                    except requests.RequestException as e:
                        key = type(e).__name__
                    with lock:
                        statuses[key] += 1
                        if key == "200":
                            sent.append(rid)

        threads = [threading.Thread(target=client, args=(c,)) for c in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=150)
        assert statuses == Counter({"200": CLIENTS * PER_CLIENT}), server.log()[-3000:]
        recycled = first - set(server.worker_pids())
        assert recycled, "no worker was recycled: the test did not exercise max-requests"
        # a generated id comes back when the client sends none
        r = requests.post(server.url + "/get-online-features", timeout=10,
                          json={"feature_service": "realtime_scoring", "entities": {"customer_id": [3]}})
        generated = r.headers["x-request-id"]
        samples = metric_samples(server.url)
        assert metric(samples, "fsnb_feature_server_served_log_records_total", outcome="dropped") == 0
    # the server stopped gracefully: what was still queued was flushed by each worker on its way out
    with fsnb.Store(repo, online_store=own_redis.url) as store:
        logged = store.served_log("realtime_scoring")
        assert len(logged) == 2 * len(sent) + 1  # two entity rows per request, one in the last
        assert logged.loc[logged["request_id"] == generated, "customer_id"].tolist() == [3]
        logged = logged[logged["request_id"] != generated]
        per_request = logged.groupby("request_id")["row"].apply(sorted)
        assert sorted(per_request.index) == sorted(sent)
        assert all(rows == [0, 1] for rows in per_request)
        assert logged["worker"].nunique() > 2  # recycled workers' files are there too
        assert set(logged["mode"]) == {"rest"} and (logged["duration_us"] > 0).all()
        # what was served is what the online store holds for those keys
        one = logged[logged["request_id"] == "c0-5"].sort_values("row")
        online = store.get_online_features("realtime_scoring", {"customer_id": [6, 7]}, full_feature_names=True)
        expected = online.to_dict()
        for name in ("transaction_stats__txn_count_7d", "customer_demographics__age"):
            assert one[name].tolist() == expected[name]
            assert set(one[name + "__status"]) <= {"PRESENT", "NULL_VALUE"}
        # clean traffic over a clean materialization: every served value is the training row as of its request
        store.parity_check("realtime_scoring", served=logged).assert_ok()
        last = logged["request_time"].max()
        window = store.served_log("realtime_scoring", since=last)
        assert len(window) >= 3 and (window["request_time"] >= last).all() and generated in set(window["request_id"])
        assert generated not in set(store.served_log("realtime_scoring", until=last)["request_id"])
    # the shipper converted everything the workers left: the spool is empty
    assert not list((repo / ".fsnb" / "served_log" / "_spool").glob("*.seg"))


def test_a_crashed_shipper_is_replaced_and_segments_left_behind_are_converted_by_the_next_server(
        tmp_path: Path, own_redis: RedisServer, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = build_banking_repo(tmp_path / "banking", own_redis.url, customers=20)
    _enable_logging(repo, flush_interval=0.2)
    spool = repo / ".fsnb" / "served_log" / "_spool"

    def read(url: str, rid: str) -> None:
        r = requests.post(url + "/get-online-features", timeout=10, headers={"X-Request-ID": rid},
                          json={"feature_service": "realtime_scoring", "entities": {"customer_id": [5]}})
        assert r.status_code == 200

    def logged() -> list[str]:
        with fsnb.Store(repo, online_store=own_redis.url) as store:
            return sorted(store.served_log("realtime_scoring").get("request_id", []))

    def wait_for(what: Any, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not what() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert what()

    with ServerProcess(repo, own_redis.url, workers=2) as server:
        for i in range(10):
            read(server.url, f"before-{i:02d}")
        wait_for(lambda: len(logged()) == 10)
        crashed = server.shipper_pid()
        assert crashed is not None
        os.kill(crashed, signal.SIGKILL)
        for i in range(10):
            read(server.url, f"during-{i:02d}")
        # the master starts another shipper, which converts what waited in the spool while the server runs on
        wait_for(lambda: server.shipper_pid() not in (None, crashed))
        wait_for(lambda: len(logged()) == 20)
        assert "starting another" in server.log()
    # a segment left in the spool (a server killed before its shipper ran) is converted by the next server
    with monkeypatch.context() as env:
        env.setenv(SPOOL_ENV, str(spool))  # this process's log hands its segments to a shipper, as a worker's does
        with fsnb.Store(repo, online_store=own_redis.url, log_served=True) as store:
            store.get_online_features("realtime_scoring", {"customer_id": [5]})
    assert len(list(spool.glob("*.seg"))) == 1
    with ServerProcess(repo, own_redis.url, workers=1) as server:
        wait_for(lambda: not list(spool.glob("*.seg")))
        read(server.url, "after")
    ids = logged()
    assert len(ids) == 22 and len(set(ids)) == 22  # each read exactly once
    assert [i for i in ids if i.startswith(("before", "during", "after"))] == \
        sorted([f"before-{i:02d}" for i in range(10)] + [f"during-{i:02d}" for i in range(10)] + ["after"])
