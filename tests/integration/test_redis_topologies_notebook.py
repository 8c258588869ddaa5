"""The notebook tools on Redis Cluster and Sentinel: parity holds and the profiler measures, as on single Redis."""

from __future__ import annotations

from pathlib import Path

import pytest

from fsnb.notebook import banking_store

pytestmark = pytest.mark.redis


@pytest.mark.parametrize("topology", ["redis_cluster_url", "redis_sentinel_url"])
def test_parity_and_profile_on_a_topology(topology: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue(topology)
    with banking_store(tmp_path / "repo", customers=150, online_store=url) as store:
        report = store.parity_check("realtime_scoring", entities=40, modes=("direct", "precomputed"))
        report.assert_ok()
        profile = store.profile("realtime_scoring", modes=["direct", "async", "precomputed"], batch_sizes=[1, 10],
                                iterations=10, warmup=2, duration_s=0.5, progress=False)
        frame = profile.to_df()
        assert set(frame["mode"]) == {"direct", "async", "precomputed"}
        assert (frame["status"] == "ok").all() and (frame["p50"] > 0).all()
