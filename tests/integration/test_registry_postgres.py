"""The registry against a real PostgreSQL server: apply / plan / prune, and two processes applying at once."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import pytest

import fsnb
from fsnb.errors import SchemaMismatchError
from fsnb.registry.registry import Registry
from tests.unit.test_registry import StatementCounter, all_of, definitions, make_store, write_transactions

pytestmark = pytest.mark.postgres


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    write_transactions(tmp_path / "data" / "transactions.parquet")
    return tmp_path


def test_apply_plan_prune_on_postgres(repo: Path, postgres_url: str) -> None:
    store = make_store(repo, postgres_url)
    d = definitions()
    assert store.apply(all_of(d)).version_after == 1
    assert not store.apply(all_of(d)).has_changes
    assert store.registry.version() == 1
    plan = store.plan(all_of(definitions(count_dtype=fsnb.Float64)))
    assert plan.changed[0].changes == ("feature txn_count_7d dtype int64 -> float64",)
    store.apply([d["customer"], d["view"]], prune=True)
    assert store.registry.version() == 2
    reader = Registry(postgres_url, project="bank")
    assert set(reader.snapshot().feature_views) == {"transaction_stats"}
    assert reader.snapshot().feature_services == {}
    reader.close()
    store.close()


def test_failed_apply_writes_nothing_on_postgres(repo: Path, postgres_url: str) -> None:
    store = make_store(repo, postgres_url)
    store.apply(all_of(definitions()))
    before = store.refresh_registry()
    with pytest.raises(SchemaMismatchError, match="txn_count_7d"):
        store.apply(all_of(definitions(count_dtype=fsnb.String)))
    after = store.refresh_registry()
    assert after.version == before.version == 1 and after.objects() == before.objects()
    store.close()


def test_ttl_check_is_one_query_on_postgres(repo: Path, postgres_url: str) -> None:
    store = make_store(repo, postgres_url)
    store.apply(all_of(definitions()))
    reader = Registry(postgres_url, project="bank", cache_ttl_seconds=3600)
    snap = reader.snapshot()
    counter = StatementCounter(reader.engine)
    reader._checked_at -= 7200
    assert reader.snapshot() is snap
    assert counter.count("SELECT") == 1
    counter.close()
    reader.close()
    store.close()


def test_reads_survive_the_server_dropping_connections(repo: Path, postgres_url: str) -> None:
    import psycopg

    store = make_store(repo, postgres_url)
    store.apply(all_of(definitions()))
    reg = Registry(postgres_url, project="bank", cache_ttl_seconds=0)
    assert reg.version() == 1  # a pooled connection now exists
    dbname = postgres_url.rsplit("/", 1)[1]
    with psycopg.connect(postgres_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (dbname,))
    assert reg.version() == 1  # the dropped connection is replaced, no error
    assert reg.snapshot().get_feature_view("transaction_stats") == definitions()["view"]
    with psycopg.connect(postgres_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (dbname,))
    assert store.apply(all_of(definitions(ttl_days=4))).version_after == 2  # applies retry too
    reg.close()
    store.close()


def test_projects_are_isolated(repo: Path, postgres_url: str) -> None:
    a = make_store(repo, postgres_url, project="a")
    b = make_store(repo, postgres_url, project="b")
    a.apply(all_of(definitions()))
    assert b.registry.version() == 0 and b.snapshot().objects() == []
    b.apply([definitions()["customer"]])
    assert set(a.refresh_registry().feature_views) == {"transaction_stats"}
    a.close()
    b.close()


def test_cli_pointed_at_postgres_with_fsnb_registry(tmp_path: Path, postgres_url: str) -> None:
    import os
    import subprocess
    import sys

    from tests.unit.test_cli import write_repo

    repo = write_repo(tmp_path / "repo")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("FSNB_")}, "FSNB_REGISTRY": postgres_url}
    cmd = [sys.executable, "-m", "fsnb.cli", "apply"]
    done = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert not (repo / ".fsnb" / "registry.db").exists()
    snap = Registry(postgres_url, project="clitest").refresh()
    assert set(snap.feature_views) == {"transaction_stats"} and snap.version == 1


# ------------------------------------------------------------------------------------------------ concurrency

ROUNDS = 12


def _apply_many(url: str, repo: str, who: str, start: Any, results: Any) -> None:
    """One process: apply its own view (a new description every round) plus a shared entity, ROUNDS times."""
    import fsnb as f

    store = make_store(Path(repo), url, project="race")
    shared = f.Entity("customer", join_keys={"customer_id": f.Int64})
    changed = 0
    start.wait(30)
    try:
        for i in range(ROUNDS):
            d = definitions(view_name=f"view_{who}", description=f"{who} round {i}")
            objs = [shared, d["view"], f.FeatureService(f"svc_{who}", [d["view"]])]
            plan = store.apply(objs)
            changed += int(plan.has_changes)
        results.put((who, changed, None))
    except Exception as e:  # reported to the parent, which fails the test
        results.put((who, changed, f"{type(e).__name__}: {e}"))
    finally:
        store.close()


def test_two_processes_applying_at_once_end_consistent(repo: Path, postgres_url: str) -> None:
    race(repo, postgres_url)


def test_two_processes_applying_at_once_to_sqlite(repo: Path) -> None:
    race(repo, f"sqlite:///{repo / 'race.db'}")


def race(repo: Path, url: str) -> None:
    """Two spawned processes apply ROUNDS times each, at once; no apply is lost and the version counts them."""
    postgres_url = url
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    results = ctx.Queue()
    procs = [ctx.Process(target=_apply_many, args=(postgres_url, str(repo), who, start, results)) for who in "ab"]
    for p in procs:
        p.start()
    start.set()
    outcomes = [results.get(timeout=240) for _ in procs]
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    errors = [err for _, _, err in outcomes if err]
    assert not errors, errors
    total_changes = sum(n for _, n, _ in outcomes)
    assert total_changes == 2 * ROUNDS  # every round of each process changed its own view

    reader = Registry(postgres_url, project="race")
    snap = reader.refresh()
    assert snap.version == total_changes  # one bump per apply with changes, none lost
    assert set(snap.entities) == {"customer"}
    assert set(snap.feature_views) == {"view_a", "view_b"}
    assert set(snap.feature_services) == {"svc_a", "svc_b"}
    for who in "ab":
        assert snap.get_feature_view(f"view_{who}").description == f"{who} round {ROUNDS - 1}"
        assert snap.get_feature_service(f"svc_{who}").projections[0].name == f"view_{who}"
    reader.close()
