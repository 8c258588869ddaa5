"""Odd shapes of online requests: clear errors or the right rows, never a raw pandas error."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest

import fsnb
from fsnb.errors import RequestError
from tests.unit.test_online_support import ago, make_store


@pytest.fixture
def store() -> Iterator[fsnb.Store]:
    s = make_store("sqlite")
    s.write_to_online_store("profile", pd.DataFrame({"user_id": [7, 8], "age": [70, 80], "city": ["x", "y"],
                                                     "score": [1.0, 2.0], "event_timestamp": [ago(minutes=1)] * 2}))
    yield s
    s.close()


@pytest.mark.parametrize("index", [[5], [9, 3]])
def test_a_series_of_join_keys_is_read_by_position_whatever_its_index(store: fsnb.Store, index: list[int]) -> None:
    keys = [7, 8][: len(index)]
    r = store.get_online_features(["profile:age"], {"user_id": pd.Series(keys, index=index)})
    assert r.to_dict()["age"] == [70, 80][: len(index)]


def test_an_entity_frame_with_duplicate_columns_is_a_request_error(store: fsnb.Store) -> None:
    with pytest.raises(RequestError, match=r"duplicate column names \['user_id'\]"):
        store.get_online_features(["profile:age"], pd.DataFrame([[7, 7]], columns=["user_id", "user_id"]))


@pytest.mark.parametrize("features", [42, None, 3.5])
def test_features_of_the_wrong_type_say_what_features_may_be(store: fsnb.Store, features: object) -> None:
    with pytest.raises(RequestError, match=f"got {type(features).__name__}$"):
        store.get_online_features(features, [{"user_id": 7}])
