from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fsnb.errors import ParityError
from fsnb.notebook.parity import (
    DTYPE_DIFFERS,
    EXPIRED_BY_TTL,
    MISSING_ONLINE,
    ONLINE_NEWER,
    VALUE_DIFFERS,
    VECTOR_DISAGREES,
    FeatureParity,
    ParityReport,
    classify,
    values_equal,
)

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)


def test_equal_values_match_within_tolerance_and_across_representations() -> None:
    np = pytest.importorskip("numpy")
    assert classify(1.0, 1.0 + 1e-12) is None
    assert classify(float("nan"), float("nan")) is None
    assert classify(None, None, status="NOT_FOUND") is None  # absent on both sides is parity
    assert classify([1.0, 2.0], np.array([1.0, 2.0])) is None
    assert classify(np.int64(3), 3) is None
    assert classify(datetime(2026, 1, 1), datetime(2026, 1, 1, tzinfo=UTC)) is None  # naive means UTC
    assert classify({"a": 1.0}, {"a": 1.0}) is None


def test_each_reason_is_told_apart() -> None:
    assert classify(5, 6) == VALUE_DIFFERS
    assert classify(5, None, status="NOT_FOUND") == MISSING_ONLINE
    assert classify(5, None, status="OUTSIDE_MAX_AGE") == EXPIRED_BY_TTL
    assert classify(5, 7, online_ts=AS_OF + timedelta(seconds=1), as_of=AS_OF) == ONLINE_NEWER
    assert classify(5, 7, online_ts=AS_OF, as_of=AS_OF) == VALUE_DIFFERS  # at the cutoff is inside the window
    assert classify(5, 5.0) == DTYPE_DIFFERS
    assert classify("5", 5) == DTYPE_DIFFERS
    assert classify(True, 1) == DTYPE_DIFFERS
    assert classify(1.0, 1.1, tolerance=1e-9) == VALUE_DIFFERS
    assert classify(1.0, 1.1, tolerance=0.2) is None


def test_values_equal_compares_lists_elementwise() -> None:
    assert values_equal([1.0, None], [1.0, None])
    assert not values_equal([1.0], [1.0, 2.0])
    assert not values_equal(["a"], ["b"])


def _report(mismatches: int) -> ParityReport:
    feats = [
        FeatureParity("age", "customer_demographics", "direct", 10, 10, {}),
        FeatureParity("txn_count_7d", "transaction_stats", "direct", 10, 10 - mismatches,
                      {VALUE_DIFFERS: mismatches} if mismatches else {}),
    ]
    rows = [
        {"entity": i, "feature": "transaction_stats__txn_count_7d", "mode": "direct", "offline_value": 1,
         "online_value": 2, "reason": VALUE_DIFFERS, "online_status": "PRESENT", "online_event_timestamp": None,
         "as_of": AS_OF}
        for i in range(mismatches)
    ]
    return ParityReport(feats, rows, {"entities": 10, "modes": ["direct"], "as_of": {}})


def test_clean_report_passes_assert_ok() -> None:
    r = _report(0)
    assert r.match_rate == 1.0 and r.ok
    r.assert_ok()
    assert "100.00% match" in r._repr_html_() and "all 2 features match in every mode" in r._repr_html_()


def test_report_puts_worst_features_first_and_assert_ok_fails() -> None:
    r = _report(3)
    assert r.match_rate == pytest.approx(17 / 20)
    by = r.by_feature()
    assert by.iloc[0]["feature"] == "txn_count_7d" and by.iloc[0]["match_rate"] == pytest.approx(0.7)
    assert len(r.to_df()) == 3 and set(r.to_df()["reason"]) == {VALUE_DIFFERS}
    with pytest.raises(ParityError, match="txn_count_7d"):
        r.assert_ok()
    with pytest.raises(AssertionError):  # ParityError is an AssertionError too
        r.assert_ok(min_match_rate=0.9)
    r.assert_ok(min_match_rate=0.8)
    text = r.to_text()
    assert text.startswith("training-to-serving parity: 85.00% match over 10 entities (direct)")
    assert "transaction_stats:txn_count_7d [direct]  value differs (3)" in text
    page = r._repr_html_()
    assert "transaction_stats:txn_count_7d" in page and "70.0%" in page
    assert "customer_demographics:age" not in page and "the other 1 feature/mode pairs match 100%" in page
    assert VECTOR_DISAGREES not in page
