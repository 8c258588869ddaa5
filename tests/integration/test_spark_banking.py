"""The Spark engine on the banking example gives DuckDB's results: the same training sets row for row, and a
materialization (written from the executors) that leaves Redis key-for-key equal to DuckDB's; a materialization
whose executor is killed mid-write moves no watermark, and a rerun converges to the state of one clean run."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import redis

import fsnb
import fsnb.errors
from fsnb.errors import MaterializationError
from fsnb.examples.banking import generate, special_ids, template_dir
from fsnb.registry.repo import load_definitions
from tests.offline.engines.spark import SPARK_CONF

pytest.importorskip("pyspark")

NOW = datetime(2025, 6, 1, tzinfo=UTC)
CUSTOMERS = 1_500
START, MID, END = NOW - timedelta(days=400), NOW - timedelta(days=20), NOW
SPARK = {"type": "spark", "master": "local[2]", "conf": SPARK_CONF}


def open_store(repo: Path, name: str, online: str | dict, offline: dict) -> fsnb.Store:
    store = fsnb.Store(repo, registry=f"sqlite:///{repo}/{name}.db", online_store=online, offline_store=offline)
    store.apply(load_definitions(repo))
    return store


def db_url(server_url: str, db: int) -> str:
    url = server_url.rsplit("/", 1)[0] + f"/{db}"
    redis.Redis.from_url(url).flushdb()
    return url


def dump(url: str) -> dict[bytes, object]:
    """Every key of a Redis database with its value (hashes as dicts; a vector build marker without its time)."""
    client = redis.Redis.from_url(url)
    out: dict[bytes, object] = {}
    for key in client.scan_iter(count=1000):
        kind = client.type(key)
        out[key] = client.hgetall(key) if kind == b"hash" else client.get(key)
        if b":vm:" in key:  # fingerprint:built-at-µs
            out[key] = out[key].split(b":")[0]  # type: ignore[union-attr]
    client.close()
    return out


def materialize_both_windows(store: fsnb.Store) -> None:
    store.materialize(START, MID, progress=False)
    store.materialize(MID, END, progress=False)  # vectors exist now: refreshed for the window's entities only


@pytest.fixture(scope="module")
def banking(tmp_path_factory: pytest.TempPathFactory, redis_server):
    repo = tmp_path_factory.mktemp("spark_banking")
    for f in template_dir().iterdir():
        if f.is_file():
            (repo / f.name).write_bytes(f.read_bytes())
    generate(repo, customers=CUSTOMERS, now=NOW)
    duck_url, spark_url = db_url(redis_server.url, 1), db_url(redis_server.url, 2)
    duck = open_store(repo, "reg_duck", duck_url, {"type": "duckdb"})
    spark = open_store(repo, "reg_spark", spark_url, SPARK)
    materialize_both_windows(duck)
    yield repo, duck, spark, duck_url, spark_url
    duck.close()
    spark.close()


def entity_rows() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    ids = np.concatenate([
        rng.integers(1, CUSTOMERS + 1, 3_000),
        special_ids("late_arrival", CUSTOMERS), special_ids("created_tie", CUSTOMERS), [CUSTOMERS + 5],
    ])
    times = pd.Timestamp(NOW) - pd.to_timedelta(rng.integers(0, 120 * 86400, len(ids)), unit="s")
    return pd.DataFrame({
        "customer_id": ids,
        "merchant_id": rng.integers(1, 50, len(ids)),
        "event_timestamp": times.tz_convert("Europe/Paris"),
        "label": rng.random(len(ids)),
    }, index=rng.permutation(len(ids)) + 1000)


def test_training_set_equals_duckdb_row_for_row(banking, tmp_path):
    _, duck, spark, *_ = banking
    edf = entity_rows()
    views = duck.list_feature_views()
    features = [f"{v.name}:{f}" for v in views for f in v.feature_names]
    want = duck.get_historical_features(edf, features).to_df()
    job = spark.get_historical_features(edf, features)
    got = job.to_df()
    pd.testing.assert_frame_equal(got, want)
    assert got[features[0].split(":")[1]].notna().any()
    # the exits that keep the rows in the cluster hold the same training set
    from_spark = job.to_spark().toPandas()
    written = pd.read_parquet(job.to_parquet(str(tmp_path / "training")))
    for frame in (from_spark, written):
        frame = frame.sort_values("label", kind="stable").reset_index(drop=True)
        expected = want.sort_values("label", kind="stable").reset_index(drop=True)
        assert frame["customer_id"].tolist() == expected["customer_id"].tolist()
        for name in ("age", "txn_count_7d", "preferred_channel"):
            assert frame[name].astype(object).where(frame[name].notna(), None).tolist() == expected[name].astype(
                object).where(expected[name].notna(), None).tolist()


def test_entity_rows_in_spark_stay_there_and_give_the_same_training_set(banking, tmp_path):
    _, duck, spark, *_ = banking
    edf = entity_rows().reset_index(drop=True)
    edf["event_timestamp"] = edf["event_timestamp"].dt.tz_convert("UTC")
    features = ["customer_demographics:age", "transaction_stats:txn_count_7d", "merchant_stats:category"]
    want = duck.get_historical_features(edf, features).to_df()
    edf.to_parquet(tmp_path / "entities.parquet")
    session = spark.offline.spark  # type: ignore[attr-defined]
    frame = session.read.parquet(str(tmp_path / "entities.parquet"))
    job = spark.get_historical_features(frame, features)
    got = pd.read_parquet(job.to_parquet(str(tmp_path / "training")))  # written by the executors, in order
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    pd.testing.assert_frame_equal(job.to_df(), want, check_dtype=False)
    with pytest.raises(fsnb.errors.MissingJoinKeyError, match="merchant_id"):
        spark.get_historical_features(frame.drop("merchant_id"), features)


def test_materialization_leaves_redis_key_for_key_equal_to_duckdb(banking):
    _, duck, spark, duck_url, spark_url = banking
    materialize_both_windows(spark)
    want = dump(duck_url)
    assert len(want) > CUSTOMERS  # rows and precomputed vectors
    got = dump(spark_url)
    assert got.keys() == want.keys()
    assert [k for k in want if got[k] != want[k]] == []
    for view in duck.list_feature_views():
        if view.online:
            assert spark.registry.watermark(view.name) == duck.registry.watermark(view.name)


def python_workers_writing_to(port: int) -> list:
    """The Spark Python workers (processes under this test's JVM) with a connection to ``port``."""
    import psutil

    found = []
    for proc in psutil.Process().children(recursive=True):
        try:
            if "python" in proc.name() and any(c.raddr and c.raddr.port == port for c in proc.net_connections("tcp")):
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def test_an_executor_killed_mid_materialization_then_a_rerun_gives_one_clean_run(banking, own_redis):
    import psutil

    repo, _, _, duck_url, _ = banking
    online = {"type": "redis", "url": own_redis.url, "timeouts": {"read": 300}}
    store = open_store(repo, "reg_killed", online, SPARK)
    try:
        store.materialize(START, MID, progress=False)
        before = {v: store.registry.watermark(v) for v in ("customer_demographics", "transaction_stats")}
        store.online.read_values([b"warm-up"])  # the driver's own connection is open before Redis stops
        own_redis.pause()  # writes block: the executors are caught inside the second run
        failure: list[BaseException] = []

        def run() -> None:
            try:
                store.materialize(MID, END, progress=False)
            except BaseException as e:  # handed to the test thread
                failure.append(e)

        thread = threading.Thread(target=run)
        thread.start()
        workers: list = []
        deadline = datetime.now() + timedelta(minutes=3)
        while not workers and datetime.now() < deadline and thread.is_alive():
            workers = python_workers_writing_to(own_redis.port)
        assert workers, "no Spark Python worker ever wrote to Redis"
        for proc in workers:  # an executor dies mid-write
            proc.kill()
        psutil.wait_procs(workers, timeout=30)
        own_redis.resume()
        thread.join(timeout=300)
        assert not thread.is_alive()
        assert failure and isinstance(failure[0], MaterializationError), failure
        assert {v: store.registry.watermark(v) for v in before} == before  # nothing recorded past the failure
        store.materialize(MID, END, progress=False)  # the rerun
        got, want = dump(own_redis.url), dump(duck_url)
        assert got.keys() == want.keys()
        assert [k for k in want if got[k] != want[k]] == []
    finally:
        if own_redis.proc is not None:
            own_redis.resume()
        store.close()
