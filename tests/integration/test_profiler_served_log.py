"""Production latency beside the lab profile: reads logged by a Store(log_served=True), then profiled with
``served=`` (the last hour, a window, or a served-log DataFrame), in the report and in the latency explorer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import fsnb
from fsnb.errors import ConfigError
from fsnb.notebook.profiler import profile
from fsnb.notebook.report import LatencyReport
from tests.integration.test_served_log import USERS, _repo

QUICK = {"modes": ["direct"], "batch_sizes": [1, 5], "warmup": 1, "iterations": 5, "duration_s": 0,
         "progress": False}


@pytest.fixture
def logged_repo(tmp_path: Path) -> Path:
    """The served-log test repo (SQLite online store) after 5 one-row reads and 3 five-row reads, logged."""
    repo = _repo(tmp_path)
    with fsnb.Store(repo, log_served=True) as store:
        for u in USERS:
            store.get_online_features("svc", [{"user_id": u}])
        for _ in range(3):
            store.get_online_features("svc", {"user_id": USERS})
    return repo  # closing the store flushed the log


def test_served_true_reports_the_last_hour_of_logged_reads_beside_the_lab(logged_repo: Path) -> None:
    with fsnb.Store(logged_repo) as store:
        report = profile(store, "svc", served=True, **QUICK)
    served = report.served
    assert served is not None
    assert list(zip(served["mode"], served["rows"], served["requests"], strict=True)) == [("direct", 1, 5),
                                                                                         ("direct", 5, 3)]
    assert (served["p50_ms"] > 0).all() and (served["p50_ms"] <= served["p99_ms"]).all()
    df = report.to_df()
    assert set(df["mode"]) == {"direct", "served:direct"}
    assert (df["status"] == "ok").all()
    assert df[df["mode"] == "served:direct"]["n"].tolist() == [5, 3]
    assert "production (served log" in report.to_text() and "served:direct" in report._repr_html_()
    back = LatencyReport.from_json(report.to_json())
    assert back.to_df().equals(df)


def test_a_window_or_a_log_frame_picks_the_requests(logged_repo: Path) -> None:
    now = datetime.now(UTC)
    with fsnb.Store(logged_repo) as store:
        log = store.served_log("svc")
        one_row = log[log.groupby("request_id")["row"].transform("size") == 1]
        from_frame = profile(store, "svc", served=one_row, **QUICK)
        earlier = profile(store, "svc", served=(now - timedelta(days=2), now - timedelta(days=1)), **QUICK)
    assert from_frame.served is not None
    assert from_frame.served[["rows", "requests"]].values.tolist() == [[1, 5]]
    # nothing was logged in that window: the report says so, the lab profile is there as usual
    assert earlier.served is not None and earlier.served.empty
    assert "no reads were logged" in earlier.to_text()
    assert earlier.case("direct", 1).status == "ok"


def test_a_bad_served_argument_is_refused(logged_repo: Path) -> None:
    with fsnb.Store(logged_repo) as store, pytest.raises(ConfigError, match="served must be"):
        profile(store, "svc", served="yesterday", **QUICK)


def test_the_latency_explorer_shows_production_latency_when_asked(logged_repo: Path) -> None:
    pytest.importorskip("ipywidgets")
    from fsnb.notebook.explorer import latency_explorer

    with fsnb.Store(logged_repo) as store:
        ex = latency_explorer(store, features="svc", modes=["direct"], batch_sizes=[1], iterations=3, warmup=1,
                              duration_s=0)
        assert not ex.served.value  # off unless asked
        ex.served.value = True  # what a user does: tick "served log (last hour)"
        report = ex.run()
    assert report is not None, ex.status.value
    assert report.served is not None and report.served["requests"].sum() == len(USERS) + 3
    assert "<b>production</b>" in ex.table.value and "served:direct" in ex.table.value


def test_the_profilers_and_paritys_own_reads_are_not_logged_as_production_traffic(logged_repo: Path) -> None:
    with fsnb.Store(logged_repo, log_served=True) as store:
        profile(store, "svc", modes=["direct", "async"], batch_sizes=[1], warmup=1, iterations=5, duration_s=0,
                progress=False)
        store.parity_check("svc", entities=5)
        store.get_online_features("svc", [{"user_id": 1}])  # a production read: logged
    with fsnb.Store(logged_repo) as store:
        assert store.served_log("svc")["request_id"].nunique() == 5 + 3 + 1
