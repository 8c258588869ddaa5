"""OnlineResponse exits and rebuilding from columns (embedded SQLite store, no servers)."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest

import fsnb
from fsnb.online.writes import write_view_table
from fsnb.serving.response import OnlineResponse
from tests.unit.test_online_support import ALL_TYPES_ROWS, ago, all_types, all_types_table, make_store

REFS = ["profile:age", "profile:city", "all_types:i32", "all_types:ts", "all_types:addr", "all_types:flag"]


@pytest.fixture
def store() -> Iterator[fsnb.Store]:
    s = make_store("sqlite")
    s.write_to_online_store(
        "profile",
        pd.DataFrame({"user_id": [1, 2, 3], "age": pd.array([30, None, 5], dtype="Int64"),
                      "city": ["Porto", "Faro", None], "score": [1.0, 2.0, 3.0],
                      "event_timestamp": [ago(minutes=1), ago(minutes=1), ago(hours=5)]}),
    )
    table = all_types_table(ALL_TYPES_ROWS(), ago(minutes=2))
    write_view_table(s, all_types, table, timestamp_column="event_timestamp")
    yield s
    s.close()


def test_from_columns_rebuilds_an_equal_response(store: fsnb.Store) -> None:
    got = store.get_online_features(REFS, {"user_id": [1, 2, 3, 4, 1]})
    cols = list(got.iter_columns())
    assert [c[0] for c in cols] == got.feature_names
    assert cols[1] == ("age", [30, None, None, None, 30],
                       ["PRESENT", "NULL_VALUE", "OUTSIDE_MAX_AGE", "NOT_FOUND", "PRESENT"],
                       got.event_timestamps["age"])
    back = OnlineResponse.from_columns(cols, dtypes=got.dtypes, join_keys=["user_id"])
    assert back.to_dict() == got.to_dict()
    assert back.statuses == got.statuses
    assert back.event_timestamps == got.event_timestamps
    pd.testing.assert_frame_equal(back.to_df(), got.to_df())
    assert back.to_arrow().equals(got.to_arrow())


def test_to_df_keeps_declared_dtypes_and_order(store: fsnb.Store) -> None:
    got = store.get_online_features(REFS, [{"user_id": 2}])
    df = got.to_df()
    assert list(df.columns) == ["user_id", "age", "city", "i32", "ts", "addr", "flag"]
    assert [str(t) for t in df.dtypes] == ["Int64", "Int64", "string", "Int32", "datetime64[us, UTC]", "object",
                                           "boolean"]
    assert df["age"].iloc[0] is pd.NA and df["city"].iloc[0] == "Faro" and df["i32"].iloc[0] is pd.NA


def test_html_repr_shows_values_and_statuses(store: fsnb.Store) -> None:
    html = store.get_online_features(REFS, {"user_id": [1, 4]})._repr_html_()
    assert "OnlineResponse" in html and "Porto" in html and "NOT_FOUND" in html
