from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from fsnb.notebook.demo import banking_store
from fsnb.notebook.profiler import profile
from fsnb.notebook.report import STAGES, LatencyReport
from fsnb.notebook.sampling import entity_pool, resolve_target, sample_keys
from fsnb.store import Store

pytestmark = pytest.mark.redis

CUSTOMERS = 300


@pytest.fixture(scope="module")
def store(redis_server, tmp_path_factory) -> Iterator[Store]:
    import redis

    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    s = banking_store(tmp_path_factory.mktemp("bank") / "repo", customers=CUSTOMERS, online_store=redis_server.url)
    yield s
    s.close()


def test_profiles_every_in_process_mode_and_reports_server_modes_as_skipped(store, monkeypatch) -> None:
    monkeypatch.delenv("FSNB_SERVER_URL", raising=False)
    report = profile(store, "realtime_scoring", batch_sizes=[1, 10], warmup=3, iterations=20, duration_s=0,
                     progress=False)
    df = report.to_df()
    assert len(df) == 5 * 2  # every mode x batch has a row, measured or not
    ok = df[df["status"] == "ok"]
    assert set(ok["mode"]) == {"direct", "async", "precomputed"}, df[["mode", "status", "reason"]]
    assert (ok["n"] == 20).all()
    assert (ok["p50"] > 0).all() and (ok["p50"] <= ok["p99"]).all()
    skipped = report.skipped()
    assert set(skipped) == {"rest", "remote"}
    assert all("no feature server configured" in r for r in skipped.values())


def test_stage_breakdown_accounts_for_the_measured_total(store) -> None:
    report = profile(store, "realtime_scoring", modes=["direct", "async", "precomputed"], batch_sizes=[1, 100],
                     warmup=10, iterations=60, duration_s=0, progress=False)
    for case in report.cases:
        assert case.status == "ok", case.reason
        assert set(case.stages_ns) >= {"round_trip", "decode", "frame"}, (case.mode, list(case.stages_ns))
        assert set(case.stages_ns) <= set(STAGES)
        # stage means add up to within 10% of the mean measured call-in-to-DataFrame-out time
        assert 0.9 <= case.stage_coverage <= 1.0 + 1e-9, (case.mode, case.batch, case.stage_breakdown())


def test_throughput_phase_counts_successful_requests(store) -> None:
    report = profile(store, "realtime_scoring", modes=["direct", "async"], batch_sizes=[1], warmup=1,
                     iterations=5, concurrency=4, duration_s=0.5, progress=False)
    assert [t.mode for t in report.throughput] == ["direct", "async"]
    for t in report.throughput:
        assert t.requests > 0 and t.errors == 0, t.first_error
        assert t.concurrency == 4
    assert report.to_df()["rps"].notna().all()


def test_entities_are_drawn_from_what_was_materialized(store) -> None:
    target = resolve_target(store, "realtime_scoring")
    pool = entity_pool(store, target)
    ids = {k[0] for k in pool}
    assert ids and ids <= set(range(1, CUSTOMERS + 1))
    a = sample_keys(pool, 10, random.Random(3))
    assert a == sample_keys(pool, 10, random.Random(3))  # a fixed seed draws the same entities
    assert len(set(a)) == 10  # no duplicates inside one batch when the pool is big enough
    from fsnb.examples.banking import special_ids

    stale = set(special_ids("outside_ttl", CUSTOMERS, view="customer_demographics"))
    assert stale and not stale & ids  # older than the materialized window: never loaded, never sampled


def test_a_service_whose_vectors_were_never_built_is_skipped_with_the_fix(store) -> None:
    import fsnb

    view = store.get_feature_view("transaction_stats")
    store.apply([fsnb.FeatureService("zz_unbuilt", [view[["txn_count_7d"]]], precompute_online=True)])
    report = profile(store, "zz_unbuilt", modes=["direct", "precomputed"], batch_sizes=[1], warmup=1,
                     iterations=3, duration_s=0.2, progress=False)
    assert report.case("direct", 1).status == "ok"
    skipped = report.case("precomputed", 1)
    assert skipped.status == "skipped" and "build_vectors('zz_unbuilt')" in skipped.reason
    assert [t.mode for t in report.throughput] == ["direct"]


def test_entity_source_and_feature_refs(store) -> None:
    report = profile(store, ["transaction_stats:txn_count_7d", "customer_demographics:age"], modes=["direct",
                     "precomputed"], batch_sizes=[2], warmup=1, iterations=5, duration_s=0, entity_source=[1, 2, 3],
                     output="dict", progress=False)
    assert report.case("direct", 2).status == "ok"
    assert report.case("precomputed", 2).status == "skipped"  # refs have no vectors; says so
    assert "FeatureService" in report.case("precomputed", 2).reason
    assert report.meta["entities_in_pool"] == 3


def test_failed_calls_are_reported_not_raised(store) -> None:
    report = profile(store, "realtime_scoring", modes=["direct"], batch_sizes=[1], warmup=1, iterations=2,
                     duration_s=0, entity_source=[{"customer_id": "not-an-int"}], progress=False)
    case = report.case("direct", 1)
    assert case.status == "error" and "Error" in case.reason


def test_progress_callback_sees_every_case(store) -> None:
    seen: list[tuple[int, int, str]] = []
    profile(store, "realtime_scoring", modes=["direct", "rest"], batch_sizes=[1, 5], warmup=1, iterations=2,
            duration_s=0, progress=lambda d, t, label: seen.append((d, t, label)))
    assert [d for d, _, _ in seen] == [1, 2, 3, 4] and {t for _, t, _ in seen} == {4}


def test_fsnb_bench_quick_prints_the_table_and_writes_json(store, tmp_path: Path, capsys) -> None:
    from fsnb.cli import main

    out = tmp_path / "bench.json"
    rc = main(["bench", "--repo", str(store.config.repo_path), "--online-store", store.config.online_store.url,
               "--features", "realtime_scoring", "--quick", "--modes", "direct", "precomputed",
               "--batch-sizes", "1", "10", "--duration", "0.2", "--no-progress", "--json", str(out), "--parity", "50"])
    printed = capsys.readouterr().out
    assert rc == 0, printed
    assert printed.splitlines()[0].split()[:4] == ["mode", "batch", "p50", "p95"]
    assert "precomputed" in printed and "direct" in printed
    assert "training-to-serving parity: 100.00% match over 50 entities (direct, precomputed)" in printed
    report = LatencyReport.from_json(out.read_text())
    assert {(c.mode, c.batch) for c in report.cases} == {("direct", 1), ("direct", 10), ("precomputed", 1),
                                                          ("precomputed", 10)}
    assert json.loads(out.read_text())["meta"]["features"] == "realtime_scoring"
