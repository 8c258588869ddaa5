"""The offline engine contract, method by method: what materialization, sampling, push and apply rely on."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

import fsnb
from fsnb.errors import ConfigError, OfflineStoreError
from fsnb.offline import open_engine
from fsnb.offline._engines import ENGINES as ENGINE_TABLE
from fsnb.offline._engines import engine_class
from fsnb.offline.base import OfflineEngine, ViewWindow
from tests.offline.engines import ENGINES, EngineTestConf

customer = fsnb.Entity("customer", join_keys={"customer_id": fsnb.Int64})


def ts(hour: int, minute: int = 0) -> datetime:
    return datetime(2024, 1, 1, hour, minute, tzinfo=UTC)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    pd.DataFrame({
        "customer_id": pd.array([1, 1, 1, 2, 3, None], dtype="Int64"),
        "score": [1, 2, 3, 20, 30, 99],
        "event_timestamp": [ts(10), ts(12), ts(12), ts(8), ts(14), ts(9)],
        "created": [ts(10), ts(12, 30), ts(12, 5), ts(8), ts(14), ts(9)],
    }).to_parquet(tmp_path / "data" / "scores.parquet")
    pd.DataFrame({
        "customer_id": [4, 1],
        "flag": [True, False],
        "event_timestamp": [ts(9), ts(9)],
    }).to_parquet(tmp_path / "data" / "flags.parquet")
    return tmp_path


@pytest.fixture
def engine(repo: Path, engine_conf: EngineTestConf):
    e = open_engine(engine_conf.config(repo))
    yield e
    e.close()


src = fsnb.ParquetSource("data/scores.parquet", name="scores_src", created_timestamp_column="created")
scores = fsnb.FeatureView("scores", entities=[customer], source=src, schema=[fsnb.Field("score", fsnb.Int64)])
flags_src = fsnb.ParquetSource("data/flags.parquet", name="flags_src")
flags = fsnb.FeatureView("flags", entities=[customer], source=flags_src, schema=[fsnb.Field("flag", fsnb.Bool)])
push_src = fsnb.PushSource("pushed", batch_source=fsnb.ParquetSource("data/pushed/", name="pushed_batch"))
pushed = fsnb.FeatureView("pushed", entities=[customer], source=push_src, schema=[fsnb.Field("score", fsnb.Int64)])


def rows(batches) -> list[dict]:
    with contextlib.closing(batches):
        found = [r for b in batches for r in b.to_pylist()]
    return sorted(found, key=lambda r: r["customer_id"])


def test_every_engine_in_the_table_runs_the_suite_and_unknown_types_are_config_errors():
    assert sorted(ENGINE_TABLE) == sorted(ENGINES)
    for name in ENGINE_TABLE:
        assert issubclass(engine_class(name), OfflineEngine) and engine_class(name).name == name
    with pytest.raises(ConfigError, match="known engines"):
        engine_class("spark-but-misspelled")


def test_latest_rows_per_entity_in_the_window(engine):
    got = rows(engine.latest_rows(scores, ts(9), ts(13)))
    # customer 1: 12:00 rows tie on event time, the later created one (12:30, score 2) wins; 2 is before the
    # window, 3 after it; the null key is left out
    assert [(r["customer_id"], r["score"]) for r in got] == [(1, 2)]
    assert got[0]["event_timestamp"] == ts(12)
    everything = rows(engine.latest_rows(scores, None, None))
    assert [(r["customer_id"], r["score"]) for r in everything] == [(1, 2), (2, 20), (3, 30)]
    assert rows(engine.latest_rows(scores, ts(10), ts(10))) == [{"customer_id": 1, "score": 1,
                                                                 "event_timestamp": ts(10)}]  # bounds inclusive


def test_naive_bounds_mean_utc(engine):
    naive = rows(engine.latest_rows(scores, datetime(2024, 1, 1, 13), datetime(2024, 1, 1, 14)))
    assert [r["customer_id"] for r in naive] == [3]


def test_min_event_time(engine):
    assert engine.min_event_time(scores) == ts(8)
    assert engine.min_event_time(pushed) is None  # a push source before its first push has no rows


def test_distinct_keys_over_windows_and_a_limit(engine):
    def keys(windows, **kw) -> list[int]:
        batches = engine.distinct_keys(windows, **kw)
        with contextlib.closing(batches):
            return sorted(k for b in batches for k in b.column("customer_id").to_pylist())

    assert keys([ViewWindow(scores)]) == [1, 2, 3]
    assert keys([ViewWindow(scores, ts(9), ts(13)), ViewWindow(flags)]) == [1, 4]
    assert len(keys([ViewWindow(scores)], limit=2)) == 2


def test_schema_of_sources(engine):
    schema = engine.schema(src)
    assert schema is not None and {"customer_id", "score", "event_timestamp", "created"} <= set(schema.names)
    assert engine.schema(push_src) is None  # no batch files yet: checked on the first push
    with pytest.raises(OfflineStoreError, match="nope"):
        engine.schema(fsnb.ParquetSource("data/nope.parquet", name="nope"))


def test_append_then_read_back(engine, repo):
    table = pa.table({
        "customer_id": pa.array([5], pa.int64()),
        "score": pa.array([50], pa.int64()),
        "event_timestamp": pa.array([ts(11)], pa.timestamp("us", tz="UTC")),
    })
    where = engine.append(push_src, table)
    assert Path(where).parent == repo / "data" / "pushed"
    assert engine.schema(push_src) is not None
    assert rows(engine.latest_rows(pushed, None, None)) == [{"customer_id": 5, "score": 50,
                                                            "event_timestamp": ts(11)}]
    assert engine.min_event_time(pushed) == ts(11)


def test_training_set_columns_follow_the_request(engine, repo):
    from fsnb.registry.registry import Registry
    from fsnb.requests import FeatureRequest

    reg = Registry(f"sqlite:///{repo}/reg.db", project="p")
    reg.apply_objects([customer, src, flags_src, scores, flags], prune=False)
    edf = pd.DataFrame({"event_timestamp": [ts(13)], "other": ["x"], "customer_id": [1]})
    request = FeatureRequest.resolve(reg.snapshot(), ["flags:flag", "scores:score"])
    df = engine.training_set(edf, request).to_df()
    assert list(df.columns) == ["event_timestamp", "other", "customer_id", "flag", "score"]
    assert df[["flag", "score"]].values.tolist() == [[False, 2]]
    reg.close()


def test_a_closed_engine_says_so(engine):
    engine.close()
    with pytest.raises(OfflineStoreError, match="closed"):
        rows(engine.latest_rows(scores, None, ts(23) + timedelta(hours=1)))
