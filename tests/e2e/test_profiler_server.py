"""The profiler's REST and remote modes against a real `fsnb serve`, next to the in-process modes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fsnb.notebook.demo import FeatureServerProcess, banking_store, start_feature_server
from fsnb.notebook.profiler import MODES, profile
from fsnb.store import Store

pytestmark = [pytest.mark.redis, pytest.mark.server]


@pytest.fixture(scope="module")
def served(redis_server, tmp_path_factory) -> Iterator[tuple[Store, FeatureServerProcess]]:
    url = redis_server.url.rsplit("/", 1)[0] + "/6"
    store = banking_store(tmp_path_factory.mktemp("served") / "banking", customers=500, online_store=url)
    server = start_feature_server(store)
    yield store, server
    server.stop()
    store.close()


def test_every_mode_is_measured_with_a_server(served) -> None:
    store, server = served
    report = profile(store, "realtime_scoring", batch_sizes=[1, 10], warmup=3, iterations=20, concurrency=3,
                     duration_s=0.5, server_url=server.url, server_cpu=server.cpu_seconds, progress=False)
    df = report.to_df()
    assert (df["status"] == "ok").all(), df[["mode", "batch", "status", "reason"]].to_string()
    assert report.modes == list(MODES)
    assert {t.mode for t in report.throughput} == set(MODES)
    for t in report.throughput:
        assert t.requests > 0 and t.errors == 0, (t.mode, t.first_error)
        assert t.client_cpu_s > 0
        assert (t.server_cpu_s > 0) == (t.mode in ("rest", "remote"))  # both sides' CPU, where there is a server
    assert "server CPU" in report.to_text()
    # stage breakdowns for every mode; REST and the remote SDK split into client, network and server stages (from
    # the server's Server-Timing header); stages add up to within 10% of the measured total
    for case in report.cases:
        assert case.stages_ns, case.mode
        if case.mode in ("rest", "remote"):
            assert {"client", "network", "server", "server_online"} <= set(case.stages_ns), case.mode
        if case.stages_ns:
            staged = sum(sum(v) for v in case.stages_ns.values())
            assert 0.9 <= staged / sum(case.samples_ns) <= 1.0 + 1e-9, (case.mode, case.batch)


def test_the_remote_sdk_returns_what_direct_returns(served) -> None:
    store, server = served
    remote = Store(store.config.repo_path, online_store=server.url)
    try:
        rows = {"customer_id": [1, 2, 3]}
        direct = store.get_online_features("realtime_scoring", rows, precomputed=False).to_dict()
        assert remote.get_online_features("realtime_scoring", rows).to_dict() == direct
    finally:
        remote.close()


def test_parity_through_the_feature_server(served) -> None:
    store, server = served
    report = store.parity_check("realtime_scoring", entities=50, modes=["direct", "remote"], server_url=server.url)
    assert report.match_rate == 1.0, report.to_df().head().to_string()
