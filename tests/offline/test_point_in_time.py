"""Point-in-time training sets on hand-made data, with hand-computed expectations, on every offline engine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

import fsnb
from fsnb.errors import FeatureNotFoundError, JoinKeyTypeError, MissingJoinKeyError, OfflineStoreError, RequestError
from tests.offline.engines import EngineTestConf


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


customer = fsnb.Entity("customer", join_keys={"customer_id": fsnb.Int64})
merchant = fsnb.Entity("merchant", join_keys={"merchant_id": fsnb.Int64})


@pytest.fixture
def store(tmp_path: Path, engine_conf: EngineTestConf):
    data = tmp_path / "data"
    data.mkdir()
    # customer 1: rows at 10:00 (score 1) and 12:00 (score 2, created 12:05) plus a correction with the same
    # event time created 12:30 (score 3), written *before* the row it corrects; a late-arriving row with event
    # 11:00 created 13:00 (score 9).
    pd.DataFrame({
        "customer_id": [1, 1, 1, 1, 2],
        "score": [3, 1, 2, 9, 20],
        "label": ["c", "a", "b", "late", "x"],
        "event_timestamp": [ts("2024-01-01T12:00"), ts("2024-01-01T10:00"), ts("2024-01-01T12:00"),
                            ts("2024-01-01T11:00"), ts("2024-01-01T08:00")],
        "created": [ts("2024-01-01T12:30"), ts("2024-01-01T10:01"), ts("2024-01-01T12:05"),
                    ts("2024-01-01T13:00"), ts("2024-01-01T08:00")],
    }).to_parquet(data / "scores.parquet")
    # a view without ttl, naive timestamps in the file (naive = UTC)
    pd.DataFrame({
        "customer_id": [1, 2],
        "segment": ["gold", "silver"],
        "event_timestamp": [datetime(2023, 6, 1), datetime(2023, 6, 1)],
    }).to_parquet(data / "profile.parquet")
    pd.DataFrame({
        "merchant_id": [7, 7],
        "risk": [0.5, 0.9],
        "event_timestamp": [ts("2024-01-01T09:00"), ts("2024-01-01T11:30")],
    }).to_parquet(data / "merchants.parquet")
    scores_src = fsnb.ParquetSource("data/scores.parquet", name="scores_src", created_timestamp_column="created")
    scores = fsnb.FeatureView(
        "scores", entities=[customer], source=scores_src, ttl=timedelta(hours=2),
        schema=[fsnb.Field("score", fsnb.Int64), fsnb.Field("label", fsnb.String)],
    )
    profile_src = fsnb.ParquetSource("data/profile.parquet", name="profile_src")
    profile = fsnb.FeatureView(
        "profile", entities=[customer], source=profile_src, schema=[fsnb.Field("segment", fsnb.String)]
    )
    merchants_src = fsnb.ParquetSource("data/merchants.parquet", name="merchants_src")
    merchants = fsnb.FeatureView(
        "merchants", entities=[merchant], source=merchants_src, ttl=timedelta(hours=1),
        schema=[fsnb.Field("risk", fsnb.Float64)],
    )
    service = fsnb.FeatureService("scoring", [scores[["score"]], profile])
    s = fsnb.Store(config=engine_conf.config(tmp_path, project="pit"))
    s.apply([customer, merchant, scores_src, profile_src, merchants_src, scores, profile, merchants, service])
    yield s
    s.close()


def entities(*rows: tuple[int, datetime]) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": [r[0] for r in rows], "event_timestamp": [r[1] for r in rows]})


def scores_at(store: fsnb.Store, *times: str, customer_id: int = 1) -> list[object]:
    df = store.get_historical_features(entities(*((customer_id, ts(t)) for t in times)), ["scores:score"]).to_df()
    return [None if pd.isna(v) else int(v) for v in df["score"]]


def test_exact_timestamp_match_is_included(store):
    assert scores_at(store, "2024-01-01T10:00") == [1]


def test_nothing_from_the_future(store):
    assert scores_at(store, "2024-01-01T09:59:59.999999") == [None]


def test_created_timestamp_breaks_ties_whatever_the_file_order(store):
    # two rows at 12:00: score 2 (created 12:05) and score 3 (created 12:30) → 3
    assert scores_at(store, "2024-01-01T12:00", "2024-01-01T12:45") == [3, 3]


def test_late_arriving_row_wins_only_by_event_time(store):
    # event 11:00 created 13:00: latest as of 11:30, but not after 12:00 (event time decides, not arrival)
    assert scores_at(store, "2024-01-01T11:30", "2024-01-01T13:30") == [9, 3]


def test_ttl_edges_are_inclusive(store):
    # latest row at 12:00, ttl 2 h: 14:00 is just inside, one microsecond later is outside
    assert scores_at(store, "2024-01-01T14:00", "2024-01-01T14:00:00.000001") == [3, None]


def test_outside_ttl_does_not_fall_back_to_an_older_row(store):
    # customer 2's only row is at 08:00; at 10:00:01 it is older than 2 h
    assert scores_at(store, "2024-01-01T10:00", "2024-01-01T10:00:01", customer_id=2) == [20, None]


def test_entity_without_data_gets_nulls_and_every_row_comes_back_in_order(store):
    edf = pd.DataFrame({
        "customer_id": [3, 1, 1, 2, 1],
        "event_timestamp": [ts("2024-01-01T12:00"), ts("2024-01-01T12:00"), ts("2024-01-01T10:30"),
                            ts("2024-01-01T09:00"), ts("2024-01-01T12:00")],
        "y": [0.1, 0.2, 0.3, 0.4, 0.5],
    }, index=[50, 40, 30, 20, 10])
    df = store.get_historical_features(edf, ["scores:score", "scores:label", "profile:segment"]).to_df()
    assert list(df.index) == [50, 40, 30, 20, 10]
    assert list(df.columns) == ["customer_id", "event_timestamp", "y", "score", "label", "segment"]
    assert df["y"].tolist() == [0.1, 0.2, 0.3, 0.4, 0.5]
    assert df["score"].tolist()[1:] == [3, 1, 20, 3] and pd.isna(df["score"].iloc[0])
    assert df["label"].tolist()[1:] == ["c", "a", "x", "c"]
    assert df["segment"].tolist()[1:] == ["gold", "gold", "silver", "gold"] and pd.isna(df["segment"].iloc[0])


def test_declared_dtypes(store):
    df = store.get_historical_features(
        entities((1, ts("2024-01-01T12:00")), (3, ts("2024-01-01T12:00"))), ["scores:score", "scores:label"]
    ).to_df()
    assert df["score"].dtype == pd.Int64Dtype()
    assert isinstance(df["label"].dtype, pd.StringDtype)
    table = store.get_historical_features(
        entities((1, ts("2024-01-01T12:00"))), ["scores:score", "scores:label"]
    ).to_arrow()
    assert table.schema.field("score").type == pa.int64()
    assert table.schema.field("label").type == pa.string()


def test_two_entity_types_in_one_request(store):
    edf = pd.DataFrame({
        "customer_id": [1, 1],
        "merchant_id": [7, 7],
        "event_timestamp": [ts("2024-01-01T10:00"), ts("2024-01-01T12:00")],
    })
    df = store.get_historical_features(edf, ["scores:score", "merchants:risk"]).to_df()
    assert df["score"].tolist() == [1, 3]
    assert df["risk"].tolist() == [0.5, 0.9]


def test_time_zones_naive_and_aware_agree(store):
    naive = entities((1, datetime(2024, 1, 1, 14, 0)), (1, datetime(2024, 1, 1, 14, 0, 0, 1)))
    paris = naive.copy()
    paris["event_timestamp"] = paris["event_timestamp"].dt.tz_localize("UTC").dt.tz_convert("Europe/Paris")
    a = store.get_historical_features(naive, ["scores:score"]).to_df()["score"]
    b = store.get_historical_features(paris, ["scores:score"]).to_df()["score"]
    assert a.tolist()[0] == 3 and pd.isna(a.iloc[1])
    assert b.tolist()[0] == 3 and pd.isna(b.iloc[1])
    # naive source timestamps (profile) compare as UTC too
    edge = entities((1, datetime(2023, 6, 1)), (1, datetime(2023, 5, 31, 23, 59, 59)))
    assert store.get_historical_features(edge, ["profile:segment"]).to_df()["segment"].isna().tolist() == [
        False, True]


def test_service_and_service_name_and_full_feature_names(store):
    edf = entities((1, ts("2024-01-01T12:00")))
    by_name = store.get_historical_features(edf, "scoring").to_df()
    assert list(by_name.columns) == ["customer_id", "event_timestamp", "score", "segment"]
    full = store.get_historical_features(edf, store.get_feature_service("scoring"), full_feature_names=True)
    assert full.feature_names == ["scores__score", "profile__segment"]
    assert full.to_df()["scores__score"].tolist() == [3]


@pytest.mark.engines("duckdb")
def test_sql_entity_query_and_other_timestamp_column_name(store):
    job = store.get_historical_features(
        "SELECT 1::BIGINT AS customer_id, TIMESTAMPTZ '2024-01-01 12:00:00+00' AS ts", ["scores:score"]
    )
    assert "ASOF LEFT JOIN" in job.sql
    assert job.to_df()["score"].tolist() == [3]
    assert "TrainingJob" in job._repr_html_()


def test_request_errors_before_any_query(store):
    edf = entities((1, ts("2024-01-01T12:00")))
    with pytest.raises(MissingJoinKeyError, match="merchant_id"):
        store.get_historical_features(edf, ["merchants:risk"])
    with pytest.raises(JoinKeyTypeError, match="customer_id"):
        store.get_historical_features(edf.astype({"customer_id": str}), ["scores:score"])
    with pytest.raises(FeatureNotFoundError, match="nope"):
        store.get_historical_features(edf, ["scores:nope"])
    with pytest.raises(RequestError, match="full_feature_names"):
        store.get_historical_features(edf.assign(score=1), ["scores:score"])
    with pytest.raises(MissingJoinKeyError, match="event_timestamp"):
        store.get_historical_features(edf[["customer_id"]], ["scores:score"])


@pytest.mark.engines("duckdb")
def test_duckdb_table_and_csv_sources(store, tmp_path):
    import duckdb

    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute(
            "CREATE TABLE balances AS SELECT * FROM (VALUES (1::BIGINT, 5.0, TIMESTAMP '2024-01-01 09:00'), "
            "(1, 6.0, TIMESTAMP '2024-01-01 11:00')) t(customer_id, balance, event_timestamp)"
        )
    (tmp_path / "data" / "flags.csv").write_text(
        "customer_id,flag,event_timestamp\n1,true,2024-01-01T09:00:00Z\n1,false,2024-01-01T11:00:00Z\n"
    )
    bal_src = fsnb.DuckDBSource(table="balances", database="warehouse.duckdb", name="balances_src")
    flags_src = fsnb.CsvSource("data/flags.csv", name="flags_src")
    balances = fsnb.FeatureView("balances", entities=[customer], source=bal_src,
                                schema=[fsnb.Field("balance", fsnb.Float64)])
    flags = fsnb.FeatureView("flags", entities=[customer], source=flags_src, schema=[fsnb.Field("flag", fsnb.Bool)])
    store.apply([customer, bal_src, flags_src, balances, flags])
    df = store.get_historical_features(
        entities((1, ts("2024-01-01T10:00")), (1, ts("2024-01-01T11:00"))), ["balances:balance", "flags:flag"]
    ).to_df()
    assert df["balance"].tolist() == [5.0, 6.0]
    assert df["flag"].tolist() == [True, False]


def test_missing_source_column_names_the_view(store, tmp_path):
    pd.DataFrame({"customer_id": [1], "event_timestamp": [ts("2024-01-01T00:00")]}).to_parquet(
        tmp_path / "data" / "scores.parquet"
    )
    with pytest.raises(OfflineStoreError, match="scores"):
        store.get_historical_features(entities((1, ts("2024-01-01T12:00"))), ["scores:score"])


def test_source_in_another_time_zone_and_epoch_seconds(store, tmp_path):
    tokyo = pd.read_parquet(tmp_path / "data" / "scores.parquet")
    for col in ("event_timestamp", "created"):
        tokyo[col] = tokyo[col].dt.tz_convert("Asia/Tokyo")
    tokyo.to_parquet(tmp_path / "data" / "scores_tokyo.parquet")
    epoch = tokyo.copy()
    epoch["event_timestamp"] = epoch["event_timestamp"].map(lambda t: int(t.timestamp()))
    epoch.drop(columns=["created"]).to_parquet(tmp_path / "data" / "scores_epoch.parquet")
    objects: list[object] = [customer]
    for name, created in (("tokyo", "created"), ("epoch", None)):
        src = fsnb.ParquetSource(f"data/scores_{name}.parquet", name=f"{name}_src", created_timestamp_column=created)
        objects += [src, fsnb.FeatureView(name, entities=[customer], source=src, ttl=timedelta(hours=2),
                                          schema=[fsnb.Field("score", fsnb.Int64)])]
    store.apply(objects)
    times = ["2024-01-01T10:00", "2024-01-01T11:30", "2024-01-01T14:00", "2024-01-01T14:00:01"]
    edf = entities(*((1, ts(t)) for t in times))
    df = store.get_historical_features(edf, ["tokyo:score", "epoch:score"], full_feature_names=True).to_df()
    assert df["tokyo__score"].tolist()[:3] == [1, 9, 3] and pd.isna(df["tokyo__score"].iloc[3])
    # without a created column the 12:00 tie is unresolved (2 or 3); the rest is the same
    assert df["epoch__score"].tolist()[:2] == [1, 9] and df["epoch__score"].iloc[2] in (2, 3)
    assert pd.isna(df["epoch__score"].iloc[3])
