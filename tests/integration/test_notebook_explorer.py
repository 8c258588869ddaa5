from __future__ import annotations

from collections.abc import Iterator

import pytest

from fsnb.notebook.demo import banking_store
from fsnb.notebook.explorer import LatencyExplorer, latency_explorer
from fsnb.store import Store

pytestmark = pytest.mark.redis


@pytest.fixture(scope="module")
def store(redis_server, tmp_path_factory) -> Iterator[Store]:
    s = banking_store(tmp_path_factory.mktemp("explorer") / "repo", customers=200,
                      online_store=redis_server.url.rsplit("/", 1)[0] + "/4")
    yield s
    s.close()


def _quick(ex: LatencyExplorer, *modes: str) -> None:
    for name, box in ex.modes.items():
        box.value = name in modes
    ex.batch_sizes.value = "1, 10"
    ex.iterations.value = 10
    ex.warmup.value = 2
    ex.duration.value = 0.2
    ex.concurrency.value = 2


def test_run_button_profiles_and_updates_table_plot_and_progress(store, monkeypatch) -> None:
    monkeypatch.delenv("FSNB_SERVER_URL", raising=False)
    ex = latency_explorer(store)
    assert ex.features.value == "realtime_scoring"  # precomputed services first
    _quick(ex, "direct", "precomputed", "rest")
    ex.run_button.click()  # what a user does
    assert len(ex.runs) == 1, ex.status.value
    report = ex.runs[0][1]
    assert {c.mode for c in report.cases if c.status == "ok"} == {"direct", "precomputed"}
    assert "no feature server configured" in ex.table.value  # rest: skipped, and the table says why
    assert ex.plot.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert ex.progress.value == ex.progress.max == 3 * 3  # (2 batch sizes + throughput) per mode
    assert ex.status.value.startswith("done: run 1")
    assert not ex.run_button.disabled


def test_runs_are_kept_and_compared(store) -> None:
    ex = latency_explorer(store)
    _quick(ex, "direct")
    ex.run()
    ex.features.value = "(feature views…)"
    ex.views.value = ("transaction_stats",)
    assert not ex.views.disabled
    assert all(r.startswith("transaction_stats:") for r in ex.selected_features())
    ex.run()
    assert [label.split(":")[0] for label, _ in ex.runs] == ["run 1", "run 2"]
    assert ex.baseline.value == ex.runs[0][0]
    assert "p50 before" in ex.comparison.value and "direct" in ex.comparison.value


def test_a_bad_setting_shows_an_error_instead_of_raising(store) -> None:
    ex = latency_explorer(store)
    _quick(ex, "direct")
    ex.batch_sizes.value = "one, two"
    assert ex.run() is None
    assert ex.status.value.startswith("failed: ValueError")
    assert ex.runs == [] and not ex.run_button.disabled


def test_the_explorer_displays_as_a_widget(store) -> None:
    ex = latency_explorer(store)
    bundle = ex._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
