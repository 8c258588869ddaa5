"""Review fixes (online-server area): request validation of dict-of-lists entity rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fsnb.errors import RequestError
from fsnb.serving.entities import entity_columns


@pytest.mark.parametrize("value", ["C1001", b"C1001", 1001, np.int64(1001), np.array(1001)])
def test_a_single_value_instead_of_a_list_is_a_request_error(value: object) -> None:
    # a string used to be read as one entity row per character; a scalar raised a bare TypeError
    with pytest.raises(RequestError, match=r"entity_rows\['customer_id'\] must be a list.*\[value\]"):
        entity_columns({"customer_id": value})


def test_lists_tuples_arrays_and_series_are_columns() -> None:
    assert entity_columns({"k": [1, 2]}) == (("k",), [[1, 2]], 2)
    assert entity_columns({"k": (1, 2)}) == (("k",), [[1, 2]], 2)
    arr = np.array([1, 2])
    assert entity_columns({"k": arr})[1][0] is arr
    assert entity_columns({"k": pd.Series(["a", "b"])})[2] == 2


def test_a_list_column_is_copied() -> None:
    keys = [1, 2]
    _, cols, _ = entity_columns({"k": keys})
    assert cols[0] == keys and cols[0] is not keys


def test_nanosecond_event_timestamps_are_written_truncated_to_microseconds() -> None:
    # pandas timestamps carry ns; the cast to the online format's µs used to raise a bare ArrowInvalid
    from tests.unit.test_online_support import make_store, now

    ts = pd.Timestamp(now()) - pd.Timedelta(minutes=1) + pd.Timedelta(nanoseconds=1_234)
    rows = pd.DataFrame({"user_id": [1], "age": [30], "city": ["Porto"], "score": [1.0], "event_timestamp": [ts]})
    assert rows["event_timestamp"].dtype.unit == "ns"
    store = make_store("sqlite")
    try:
        store.write_to_online_store("profile", rows)
        response = store.get_online_features(["profile:age"], {"user_id": [1]})
        assert response.to_dict() == {"user_id": [1], "age": [30]}
        [(_, _, statuses, stamps)] = [c for c in response.iter_columns() if c[0] == "age"]
        assert statuses == ["PRESENT"]
        assert stamps == [(ts - pd.Timedelta(nanoseconds=234)).to_pydatetime()]
    finally:
        store.close()
