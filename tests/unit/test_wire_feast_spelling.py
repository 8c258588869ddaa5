"""The JSON wire format spells timestamps and Json values the way Feast's feature server does.

Feast's clients parse every ``event_timestamps`` entry as a string and read a ``Json`` feature as JSON text; fsnb's
own remote client must still rebuild exactly the response a direct read gives.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from fsnb import wire
from fsnb.serving.response import OnlineResponse

T = datetime(2024, 5, 1, 12, 30, 15, tzinfo=UTC)


def _response() -> OnlineResponse:
    ts = [T, None, T]
    return OnlineResponse.from_columns(
        [
            ("merchant_id", [1, 2, 3], ["PRESENT"] * 3, [None, None, None]),
            ("category", ["food", None, None], ["PRESENT", "NOT_FOUND", "NULL_VALUE"], ts),
            ("attributes", [{"k": [1, 2], "s": "x"}, None, None], ["PRESENT", "NOT_FOUND", "NULL_VALUE"], ts),
        ],
        dtypes=["int64", "string", "json"],
        join_keys=1,
    )


def test_cells_without_event_time_carry_the_epoch_not_null() -> None:
    doc = orjson.loads(wire.encode_json(_response()))
    assert doc["results"][0]["event_timestamps"] == ["1970-01-01T00:00:00Z"] * 3  # join key column
    assert doc["results"][1]["event_timestamps"] == ["2024-05-01T12:30:15Z", "1970-01-01T00:00:00Z",
                                                     "2024-05-01T12:30:15Z"]
    assert all(isinstance(t, str) for r in doc["results"] for t in r["event_timestamps"])


def test_json_features_travel_as_json_text() -> None:
    doc = orjson.loads(wire.encode_json(_response()))
    values = doc["results"][2]["values"]
    assert isinstance(values[0], str) and json.loads(values[0]) == {"k": [1, 2], "s": "x"}
    assert values[1:] == [None, None]


def test_decode_gives_back_the_direct_response() -> None:
    response = _response()
    columns, keys = wire.decode_json(wire.encode_json(response))
    assert keys == 1
    assert columns == wire.response_columns(response)
    rebuilt = OnlineResponse.from_columns([(c[0], c[2], c[3], c[4]) for c in columns],
                                          dtypes=[c[1] for c in columns], join_keys=keys)
    assert rebuilt.to_dict() == response.to_dict()
    assert rebuilt.to_dict()["attributes"][0] == {"k": [1, 2], "s": "x"}


def test_decode_accepts_null_timestamps_from_older_servers() -> None:
    body = {"metadata": {"feature_names": ["id", "x"], "dtypes": ["int64", "int64"], "join_keys": 1},
            "results": [{"values": [1], "statuses": ["PRESENT"], "event_timestamps": [None]},
                        {"values": [None], "statuses": ["NOT_FOUND"], "event_timestamps": [None]}]}
    columns, _ = wire.decode_json(orjson.dumps(body))
    assert [c[4] for c in columns] == [[None], [None]]


@pytest.mark.parametrize(
    "when",
    [
        T,
        T.replace(microsecond=123000),
        T.replace(microsecond=120000),
        T.replace(microsecond=1000),
        T.replace(microsecond=123456),
        T.replace(microsecond=1),
        datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2030, 1, 2, 3, 4, 5, 600000),  # naive means UTC
        datetime(2024, 5, 1, 14, 30, 15, 5000, tzinfo=timezone(timedelta(hours=2))),
    ],
)
def test_timestamp_text_equals_protobufs(when: datetime) -> None:
    # Feast's server prints a protobuf Timestamp: no fraction when zero, else 3 or 6 (or 9) digits.
    aware = when if when.tzinfo else when.replace(tzinfo=UTC)
    proto = Timestamp()
    proto.FromDatetime(aware.astimezone(UTC).replace(tzinfo=None))
    expected = proto.ToJsonString()
    assert wire.event_time_texts([when]) == [expected]
    assert wire.decode_json(
        {"metadata": {"feature_names": ["x"], "dtypes": ["int64"]},
         "results": [{"values": [1], "statuses": ["PRESENT"], "event_timestamps": [expected]}]}
    )[0][0][4] == [aware]


def test_the_encoder_spells_event_times_as_event_time_texts() -> None:
    """``encode_json`` formats a view's times in one orjson call; it must agree with :func:`event_time_texts`."""
    base = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    times = [base.replace(microsecond=us) for us in (0, 1000, 100_000, 123_000, 123_456, 999_999, 1)] + [None]
    response = OnlineResponse.from_columns(
        [("k", list(range(8)), ["PRESENT"] * 8, [None] * 8),
         ("f", list(range(8)), ["PRESENT"] * 7 + ["NOT_FOUND"], times)],
        dtypes=["int64", "int64"], join_keys=["k"],
    )
    doc = orjson.loads(wire.encode_json(response))
    assert doc["results"][1]["event_timestamps"] == wire.event_time_texts(times)
    assert doc["results"][0]["event_timestamps"] == [wire.EPOCH_TEXT] * 8
