from __future__ import annotations

import gc

from fsnb.notebook.profiler import _GcWatch
from fsnb.notebook.report import CaseResult, LatencyReport


def test_gc_pauses_during_timed_calls_are_counted_and_reported() -> None:
    case = CaseResult("direct", 1, samples_ns=[1_000_000] * 3)
    with _GcWatch(case):
        gc.collect()  # a full collection, as a long-lived process pays now and then
        gc.collect(0)
    assert case.gc_full == 1 and case.gc_pause_ns > 0
    gc.collect()  # outside the watch: not counted
    assert case.gc_full == 1
    row = LatencyReport([case]).to_df().iloc[0]
    assert row["gc_full"] == 1 and row["gc_ms"] > 0
    assert "1 full GC" in LatencyReport([case]).to_text()
    assert "(1 full)" in LatencyReport([case])._repr_html_()
