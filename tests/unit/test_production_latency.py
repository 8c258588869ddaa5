"""Production latency from served logs: per-request percentiles by mode and rows per request, and how a
LatencyReport shows, plots and saves them beside the lab cases."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from fsnb.errors import ConfigError
from fsnb.notebook.production_latency import SERVED_COLUMNS, served_latency
from fsnb.notebook.report import CaseResult, LatencyReport

T0 = pd.Timestamp("2026-12-04 10:00", tz="UTC")


def _log(requests: list[tuple[str, str, int, int]]) -> pd.DataFrame:
    """A served log as store.served_log returns it: (request_id, mode, rows, duration_us) → one line per row."""
    lines = []
    for i, (rid, mode, rows, dur) in enumerate(requests):
        for r in range(rows):
            lines.append({"request_id": rid, "request_time": T0 + pd.Timedelta(seconds=i), "duration_us": dur,
                          "mode": mode, "worker": 1, "row": r, "user_id": r, "scores__score": 1.0,
                          "scores__score__status": "PRESENT"})
    columns = ["request_id", "request_time", "duration_us", "mode", "worker", "row", "user_id", "scores__score",
               "scores__score__status"]
    return pd.DataFrame(lines, columns=columns).astype({"duration_us": "int64"})


def test_percentiles_count_each_request_once_not_each_row() -> None:
    # one slow 10-row request and nine fast 10-row ones: per row, the slow one would be 10% of the samples
    log = _log([("slow", "direct", 10, 9_000)] + [(f"r{i}", "direct", 10, 1_000) for i in range(9)])
    out = served_latency(log)
    assert list(out.columns) == list(SERVED_COLUMNS)
    assert len(out) == 1
    r = out.iloc[0]
    assert (r["mode"], r["rows"], r["requests"]) == ("direct", 10, 10)
    assert r["p50_ms"] == pytest.approx(1.0)
    assert r["mean_ms"] == pytest.approx((9 + 9 * 1) / 10)
    assert r["max_ms"] == pytest.approx(9.0)
    assert r["p95_ms"] == pytest.approx(1.0 + (9.0 - 1.0) * 0.55)  # interpolated like the profiler's percentiles
    assert r["since"] == T0 and r["until"] == T0 + pd.Timedelta(seconds=9)


def test_groups_by_mode_then_rows_per_request_sorted() -> None:
    log = _log([("a", "rest", 5, 4_000), ("b", "direct", 1, 500), ("c", "rest", 1, 2_000), ("d", "direct", 1, 700),
                ("e", "async", 5, 3_000), ("f", "rest", 5, 6_000)])
    out = served_latency(log)
    assert list(zip(out["mode"], out["rows"], out["requests"], strict=True)) == [
        ("async", 5, 1), ("direct", 1, 2), ("rest", 1, 1), ("rest", 5, 2)]
    rest5 = out[(out["mode"] == "rest") & (out["rows"] == 5)].iloc[0]
    assert rest5["p50_ms"] == pytest.approx(5.0)
    assert out["requests"].dtype == "int64" and out["rows"].dtype == "int64"


def test_a_frame_that_is_not_a_served_log_is_refused_with_the_fix() -> None:
    with pytest.raises(ConfigError, match=r"lacks column\(s\) \['duration_us'\].*store\.served_log"):
        served_latency(pd.DataFrame({"request_id": ["a"], "user_id": [1]}))
    with pytest.raises(ConfigError, match="request_id"):
        served_latency(pd.DataFrame({"user_id": [1], "score": [0.5]}))


def test_an_empty_log_gives_an_empty_frame_with_the_columns() -> None:
    for empty in (pd.DataFrame(), _log([])):
        out = served_latency(empty)
        assert out.empty and list(out.columns) == list(SERVED_COLUMNS)


# ---------------------------------------------------------------------------------------- in the report


def _report(served: pd.DataFrame | None) -> LatencyReport:
    cases = [CaseResult("direct", b, [300_000 * b + i * 1_000 for i in range(50)]) for b in (1, 5)]
    meta = {"features": "svc", "iterations": 50, "warmup": 5}
    if served is not None:
        meta["served"] = "served log 2026-12-04 09:00:00 UTC … 2026-12-04 10:00:00 UTC"
    return LatencyReport(cases, [], meta, served=served)


def _production() -> pd.DataFrame:
    return served_latency(_log([("a", "direct", 1, 800), ("b", "direct", 1, 1_200), ("c", "rest", 5, 4_000)]))


def test_to_df_adds_served_rows_beside_the_lab_cases() -> None:
    df = _report(_production()).to_df()
    lab, prod = df[~df["mode"].str.startswith("served:")], df[df["mode"].str.startswith("served:")]
    assert len(lab) == 2
    assert list(zip(prod["mode"], prod["batch"], prod["n"], strict=True)) == [("served:direct", 1, 2),
                                                                           ("served:rest", 5, 1)]
    direct = prod.iloc[0]
    assert direct["status"] == "ok" and direct["p50"] == pytest.approx(1.0) and direct["max"] == pytest.approx(1.2)
    assert math.isnan(direct["rps"])
    assert _report(None).to_df()["mode"].tolist() == ["direct", "direct"]


def test_text_and_html_have_a_production_section() -> None:
    r = _report(_production())
    text = r.to_text()
    section = text.split("production (served log 2026-12-04 09:00:00 UTC", 1)[1]
    assert "served:direct" in section and "served:rest" in section
    assert text.splitlines()[0].split()[:3] == ["mode", "batch", "p50"]  # the lab table still comes first
    page = r._repr_html_()
    assert "<b>production</b>" in page and "served:rest" in page
    plain = _report(None)
    assert "production" not in plain.to_text() and "production" not in plain._repr_html_()


def test_an_empty_served_log_is_reported_not_raised() -> None:
    r = _report(served_latency(pd.DataFrame()))
    assert "no reads were logged" in r.to_text()
    assert "no reads were logged" in r._repr_html_()
    assert len(r.to_df()) == 2
    pytest.importorskip("matplotlib")
    fig = r.plot()
    assert fig._supxlabel is not None and "no reads were logged" in fig._supxlabel.get_text()


def test_plot_draws_production_p50_and_p99_beside_the_lab_modes() -> None:
    pytest.importorskip("matplotlib")
    fig = _report(_production()).plot()
    _, by_batch = fig.axes
    labels = [line.get_label() for line in by_batch.get_lines()]
    assert labels == ["direct p50", "direct p99", "served:direct p50", "served:direct p99", "served:rest p50",
                      "served:rest p99"]
    assert fig._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"


def test_json_round_trip_keeps_the_served_latency(tmp_path) -> None:
    r = _report(_production())
    back = LatencyReport.from_json(r.to_json())
    assert back.served is not None
    pd.testing.assert_frame_equal(back.served, r.served, check_dtype=False)
    assert back.to_df().equals(r.to_df())
    assert back.meta["served"] == r.meta["served"]
    empty = LatencyReport.from_json(_report(served_latency(pd.DataFrame())).to_json())
    assert empty.served is not None and empty.served.empty and "no reads were logged" in empty.to_text()
    assert LatencyReport.from_json(_report(None).to_json()).served is None
