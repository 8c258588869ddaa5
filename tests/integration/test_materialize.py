"""Materialization into a real Redis: latest values, windows, watermarks, an interrupted run completed by a rerun."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import redis

import fsnb
from fsnb.config import Config, OnlineStoreConfig, RegistryConfig
from fsnb.errors import FeatureViewNotFoundError, MaterializationError

pytestmark = pytest.mark.redis

PROJECT = "mat"
#: the latest snapshot time; near now, so that online reads (TTL checked against the clock) see the values.
T0 = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=30)
customer = fsnb.Entity("customer", join_keys={"customer_id": fsnb.Int64})


def make_store(repo: Path, redis_url: str, write_batch_size: int = 2000) -> fsnb.Store:
    cfg = Config(
        project=PROJECT,
        repo_path=repo,
        registry=RegistryConfig(url=f"sqlite:///{repo}/registry.db", cache_ttl_seconds=0),
        online_store=OnlineStoreConfig(type="redis", url=redis_url, write_batch_size=write_batch_size),
    )
    return fsnb.Store(config=cfg)


def definitions(ttl: timedelta | None = timedelta(days=7)) -> list[object]:
    stats_src = fsnb.ParquetSource("data/stats", name="stats_src", created_timestamp_column="created")
    stats = fsnb.FeatureView(
        "stats", entities=[customer], source=stats_src, ttl=ttl,
        schema=[fsnb.Field("count", fsnb.Int64), fsnb.Field("amount", fsnb.Float64), fsnb.Field("tag", fsnb.String)],
    )
    profile_src = fsnb.ParquetSource("data/profile.parquet", name="profile_src")
    profile = fsnb.FeatureView(
        "profile", entities=[customer], source=profile_src, schema=[fsnb.Field("age", fsnb.Int32)]
    )
    return [customer, stats_src, profile_src, stats, profile]


def write_data(repo: Path, n: int) -> None:
    """Three snapshots per customer in ``stats`` (at T0-2h, T0-1h, T0), and one ``profile`` row each."""
    (repo / "data" / "stats").mkdir(parents=True, exist_ok=True)
    ids = np.arange(1, n + 1)
    frames = []
    for step, hours in enumerate((2, 1, 0)):
        when = T0 - timedelta(hours=hours)
        frames.append(pd.DataFrame({
            "customer_id": ids,
            "count": ids * 10 + step,
            "amount": ids + step / 10,
            "tag": [f"s{step}"] * n,
            "event_timestamp": when,
            "created": when + timedelta(minutes=1),
        }))
    pd.concat(frames).to_parquet(repo / "data" / "stats" / "part-0.parquet")
    pd.DataFrame({"customer_id": ids, "age": (ids % 80 + 18).astype("int32"), "event_timestamp": T0}).to_parquet(
        repo / "data" / "profile.parquet"
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    write_data(tmp_path, 50)
    return tmp_path


def read(store: fsnb.Store, features: list[str], ids: list[int]) -> dict[str, list[object]]:
    return store.get_online_features(features, [{"customer_id": i} for i in ids]).to_dict()


def test_materialize_loads_the_latest_row_per_entity(repo, redis_url):
    # customer 1 gets a correction at T0 with a later created time, written before the row it corrects
    pd.DataFrame({
        "customer_id": [1], "count": [999], "amount": [9.5], "tag": ["fix"],
        "event_timestamp": [T0], "created": [T0 + timedelta(minutes=5)],
    }).to_parquet(repo / "data" / "stats" / "part-00-fix.parquet")
    with make_store(repo, redis_url) as store:
        store.apply(definitions(ttl=None))
        summary = store.materialize(T0 - timedelta(days=1), T0, progress=False)
        assert list(summary.columns) == ["view", "start", "end", "rows", "seconds", "rows_per_s"]
        assert dict(zip(summary["view"], summary["rows"])) == {"stats": 50, "profile": 50}
        got = read(store, ["stats:count", "stats:amount", "stats:tag", "profile:age"], [1, 2, 50, 51])
    assert got["count"] == [999, 22, 502, None]
    assert got["amount"] == [9.5, 2.2, 50.2, None]
    assert got["tag"] == ["fix", "s2", "s2", None]
    assert got["age"] == [19, 20, 68, None]


def test_window_bounds_and_newer_wins(repo, redis_url):
    with make_store(repo, redis_url) as store:
        store.apply(definitions(ttl=None))
        # [T0-2h, T0-1h] inclusive: the latest row inside is the T0-1h one; the T0 row is outside
        store.materialize(T0 - timedelta(hours=2), T0 - timedelta(hours=1), ["stats"], progress=False)
        assert read(store, ["stats:count"], [3])["count"] == [31]
        store.materialize(T0, T0, ["stats"], progress=False)
        assert read(store, ["stats:count"], [3])["count"] == [32]
        # materializing an older window afterwards never overwrites newer values
        store.materialize((T0 - timedelta(days=30)).isoformat(), (T0 - timedelta(hours=2)).isoformat(), ["stats"],
                          progress=False)
        assert read(store, ["stats:count"], [3])["count"] == [32]
        assert read(store, ["profile:age"], [3])["age"] == [None]  # profile was never materialized


def test_materialize_incremental_follows_the_watermark(repo, redis_url):
    with make_store(repo, redis_url) as store:
        store.apply(definitions(ttl=timedelta(hours=1, minutes=30)))
        first = store.materialize_incremental(T0 - timedelta(hours=1), progress=False)
        # stats starts at end - ttl (T0-2h30) and sees the T0-1h row; profile has no ttl: from its first row
        assert dict(zip(first["view"], first["rows"])) == {"stats": 50, "profile": 0}
        assert store.registry.watermark("stats") == T0 - timedelta(hours=1)
        assert store.registry.watermark("profile") == T0 - timedelta(hours=1)
        # new data lands in the source's folder; the next run starts at the watermark
        pd.DataFrame({
            "customer_id": [7], "count": [7000], "amount": [0.0], "tag": ["new"],
            "event_timestamp": [T0 + timedelta(hours=1)], "created": [T0 + timedelta(hours=1)],
        }).to_parquet(repo / "data" / "stats" / "part-1.parquet")
        second = store.materialize_incremental(T0 + timedelta(hours=1), progress=False)
        assert dict(zip(second["view"], second["rows"])) == {"stats": 50, "profile": 50}
        assert second["start"].tolist() == [T0 - timedelta(hours=1)] * 2
        assert read(store, ["stats:count", "profile:age"], [7, 8]) == {
            "customer_id": [7, 8], "count": [7000, 82], "age": [25, 26]
        }
        intervals = store.registry.materialization_intervals("stats")
        assert intervals[-1] == (T0 - timedelta(hours=1), T0 + timedelta(hours=1))
        # nothing new: an up-to-date view is skipped
        assert store.materialize_incremental(T0 + timedelta(hours=1) - timedelta(seconds=1), progress=False).empty


def test_progress_bars_can_be_turned_off(repo, redis_url, capsys):
    with make_store(repo, redis_url) as store:
        store.apply(definitions())
        store.materialize(T0 - timedelta(days=1), T0, ["profile"], progress=False)
        assert capsys.readouterr().err == ""
        store.materialize(T0 - timedelta(days=1), T0, ["profile"], progress=True)
        err = capsys.readouterr().err
        assert "profile" in err and "rows" in err


def test_bad_requests(repo, redis_url):
    with make_store(repo, redis_url) as store:
        objs = definitions()
        offline_only = fsnb.FeatureView(
            "archive", entities=[customer], source=objs[2], online=False,  # type: ignore[arg-type]
            schema=[fsnb.Field("age", fsnb.Int32)],
        )
        store.apply([*objs, offline_only])
        with pytest.raises(FeatureViewNotFoundError):
            store.materialize(T0 - timedelta(days=1), T0, ["nope"], progress=False)
        with pytest.raises(MaterializationError, match="online=False"):
            store.materialize(T0 - timedelta(days=1), T0, ["archive"], progress=False)
        with pytest.raises(fsnb.errors.RequestError, match="after"):
            store.materialize(T0, T0 - timedelta(days=1), progress=False)
        assert set(store.materialize(T0 - timedelta(days=1), T0, progress=False)["view"]) == {"stats", "profile"}


# ------------------------------------------------------------------------------------- interrupted run


def redis_state(url: str) -> dict[bytes, dict[bytes, bytes]]:
    client = redis.Redis.from_url(url)
    keys = sorted(client.scan_iter(count=10_000))
    state = {}
    for i in range(0, len(keys), 5000):
        chunk = keys[i : i + 5000]
        pipe = client.pipeline(transaction=False)
        for k in chunk:
            pipe.hgetall(k)
        state.update(zip(chunk, pipe.execute()))
    client.close()
    return state


def fsnb_cli(repo: Path, *args: str) -> subprocess.Popen[bytes]:
    paths = [str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    return subprocess.Popen(
        [sys.executable, "-m", "fsnb.cli", "--repo", str(repo), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )


@pytest.mark.slow
def test_interrupted_materialization_then_rerun_equals_one_clean_run(tmp_path, own_redis):
    n = 60_000
    write_data(tmp_path, n)
    (tmp_path / "fsnb.yaml").write_text(
        f"project: {PROJECT}\nregistry: registry.db\n"
        f"online_store:\n  type: redis\n  url: {own_redis.url}\n  write_batch_size: 100\n"
    )
    with make_store(tmp_path, own_redis.url) as store:
        store.apply(definitions())
    start, end = (T0 - timedelta(days=1)).isoformat(), T0.isoformat()
    client = redis.Redis.from_url(own_redis.url)

    proc = fsnb_cli(tmp_path, "materialize", start, end, "--no-progress")
    deadline = time.monotonic() + 60
    while client.dbsize() < 5_000 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert proc.poll() is None, f"materialize finished before it could be killed: {proc.communicate()}"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert client.dbsize() > 0
    with make_store(tmp_path, own_redis.url) as store:
        marks = {v: store.registry.watermark(v) for v in ("stats", "profile")}
    assert None in marks.values(), "the interrupted view's interval must not be recorded"

    rerun = fsnb_cli(tmp_path, "materialize", start, end, "--no-progress")
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err.decode()
    assert b"stats" in out and b"profile" in out
    after_rerun = redis_state(own_redis.url)

    client.flushall()
    clean = fsnb_cli(tmp_path, "materialize", start, end, "--no-progress")
    _, err = clean.communicate(timeout=120)
    assert clean.returncode == 0, err.decode()
    after_clean = redis_state(own_redis.url)
    client.close()

    assert len(after_clean) == n
    assert after_rerun == after_clean
    with make_store(tmp_path, own_redis.url) as store:
        assert store.registry.watermark("stats") == T0


def test_materialize_builds_precomputed_vectors_then_refreshes_them(repo, redis_url):
    objs = definitions(ttl=None)
    service = fsnb.FeatureService("scoring", [objs[3], objs[4]], precompute_online=True)  # type: ignore[list-item]
    ids = [1, 2, 3, 50, 51]
    with make_store(repo, redis_url) as store:
        store.apply([*objs, service])
        first = store.materialize(T0 - timedelta(hours=1), T0 - timedelta(hours=1), progress=False)
        assert "vectors: scoring (full build)" in set(first["view"])  # never built: built whole
        pre = store.get_online_features("scoring", [{"customer_id": i} for i in ids]).to_dict()
        assert pre == store.get_online_features(
            "scoring", [{"customer_id": i} for i in ids], precomputed=False
        ).to_dict()
        assert pre["count"] == [11, 21, 31, 501, None]
        assert pre["age"] == [None] * 5  # profile's row is at T0, outside the window
        second = store.materialize(T0, T0, ["stats"], progress=False)
        assert dict(zip(second["view"], second["rows"])) == {"stats": 50, "vectors: scoring": 50}
        pre = store.get_online_features("scoring", [{"customer_id": i} for i in ids]).to_dict()
        assert pre["count"] == [12, 22, 32, 502, None]
        assert pre == store.get_online_features(
            "scoring", [{"customer_id": i} for i in ids], precomputed=False
        ).to_dict()
