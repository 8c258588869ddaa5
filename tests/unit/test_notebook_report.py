from __future__ import annotations

import math
import random

import pytest

from fsnb.notebook.report import CaseResult, LatencyReport, Throughput
from fsnb.notebook.stats import percentile, summarize


def test_percentile_interpolates_like_numpy() -> None:
    np = pytest.importorskip("numpy")
    rng = random.Random(1)
    for n in (1, 2, 3, 10, 199, 200):
        data = sorted(rng.randint(1, 10_000_000) for _ in range(n))
        for q in (0, 50, 95, 99, 100):
            assert percentile(data, q) == pytest.approx(float(np.percentile(data, q)))


def test_percentile_rejects_out_of_range_and_empty_is_nan() -> None:
    with pytest.raises(ValueError):
        percentile([1, 2], 101)
    assert math.isnan(percentile([], 50))


def test_summarize_reports_milliseconds() -> None:
    s = summarize([1_000_000, 2_000_000, 3_000_000, 4_000_000])
    assert s.count == 4
    assert s.p50 == pytest.approx(2.5)
    assert s.mean == pytest.approx(2.5)
    assert s.max == pytest.approx(4.0)
    assert s.min == pytest.approx(1.0)
    assert summarize([]).count == 0 and math.isnan(summarize([]).p99)


def _report() -> LatencyReport:
    rng = random.Random(0)
    cases = []
    for mode, base in (("direct", 300_000), ("precomputed", 150_000)):
        for batch in (1, 10):
            samples = [base * batch + rng.randint(0, 50_000) for _ in range(200)]
            stages = {
                "round_trip": [s // 2 for s in samples],
                "decode": [s // 4 for s in samples],
                "frame": [s // 5 for s in samples],
            }
            cases.append(CaseResult(mode, batch, samples, stages))
    cases.append(CaseResult("rest", 1, status="skipped", reason="no feature server configured"))
    tp = [Throughput("direct", 1, 10, 2.0, 5000, 3, "threads", 1.5)]
    return LatencyReport(cases, tp, {"features": "realtime_scoring", "iterations": 200, "warmup": 30})


def test_to_df_has_one_row_per_case_with_skips_kept() -> None:
    df = _report().to_df()
    assert list(df.columns[:9]) == ["mode", "batch", "status", "p50", "p95", "p99", "mean", "max", "rps"]
    assert len(df) == 5
    rest = df[df["mode"] == "rest"].iloc[0]
    assert rest["status"] == "skipped" and "feature server" in rest["reason"]
    direct1 = df[(df["mode"] == "direct") & (df["batch"] == 1)].iloc[0]
    assert direct1["rps"] == pytest.approx(2500.0)
    assert direct1["errors"] == 3
    assert direct1["p50"] <= direct1["p95"] <= direct1["p99"] <= direct1["max"]


def test_stage_breakdown_adds_up_to_the_mean_total() -> None:
    case = _report().case("direct", 10)
    b = case.stage_breakdown()
    assert list(b) == ["round_trip", "decode", "frame", "other"]
    assert sum(b.values()) == pytest.approx(case.summary.mean)
    assert case.stage_coverage == pytest.approx(0.95, abs=0.01)
    stages = _report().stages_df()
    assert set(stages["stage"]) == {"round_trip", "decode", "frame", "other"}


def test_json_round_trip_keeps_everything(tmp_path) -> None:
    r = _report()
    back = LatencyReport.from_json(r.to_json())
    assert back.to_df().equals(r.to_df())
    assert back.case("direct", 1).stages_ns == r.case("direct", 1).stages_ns
    assert back.meta == r.meta
    path = tmp_path / "r.json"
    r.to_json(str(path))
    assert LatencyReport.from_json(str(path)).skipped() == {"rest": "no feature server configured"}


def test_compare_gives_ratios_against_the_baseline() -> None:
    before = _report()
    after = LatencyReport.from_json(before.to_json())
    for c in after.cases:
        c.samples_ns = [s // 2 for s in c.samples_ns]
    cmp = after.compare(before)
    assert len(cmp) == 4  # skipped cases are not compared
    assert cmp["p50_ratio"].tolist() == pytest.approx([0.5] * 4, rel=1e-3)


def test_html_and_text_reprs_show_cases_and_skip_reasons() -> None:
    r = _report()
    page = r._repr_html_()
    assert "no feature server configured" in page and "realtime_scoring" in page
    text = r.to_text()
    assert "skipped: no feature server configured" in text
    assert text.splitlines()[0].split()[:3] == ["mode", "batch", "p50"]


def test_plot_draws_distribution_and_percentiles() -> None:
    pytest.importorskip("matplotlib")
    fig = _report().plot()
    dist, by_batch = fig.axes
    assert [t.get_text() for t in dist.get_xticklabels()] == ["direct", "precomputed"]
    assert len(by_batch.get_lines()) == 4  # p50 and p99 per measured mode
    assert fig._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"  # shows inline without pyplot or %matplotlib
