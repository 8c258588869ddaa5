"""Skew measured on served logs: each planted cause is found with its reason, and clean traffic is 100%."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

import fsnb
from fsnb.errors import ParityError
from fsnb.notebook.parity import MATERIALIZATION_LAG, NOT_FOUND_SERVED, SERVED_EXPIRED, VALUE_DIFFERS
from fsnb.types import Float64, Int64, String

USERS = list(range(1, 11))
NOW = datetime.now(UTC).replace(microsecond=0)


def _write(repo: Path, name: str, rows: list[dict[str, object]]) -> str:
    path = repo / "data" / f"{name}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(rows)
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    frame.to_parquet(path, index=False)
    return str(path)


def _views(repo: Path, *, short_ttl: timedelta = timedelta(days=10)) -> list[object]:
    user = fsnb.Entity("user", join_keys=["user_id"])
    key = fsnb.Field("user_id", Int64)

    def view(name: str, fields: list[fsnb.Field], ttl: timedelta, **kw: object) -> fsnb.FeatureView:
        source = fsnb.ParquetSource(name=f"{name}_source", path=str(repo / "data" / f"{name}.parquet"),
                                    timestamp_field="ts")
        return fsnb.FeatureView(name, entities=[user], schema=[key, *fields], source=source, ttl=ttl, **kw)

    views = [
        view("stats", [fsnb.Field("amount", Float64), fsnb.Field("city", String)], timedelta(days=30)),
        view("late", [fsnb.Field("score", Int64)], timedelta(days=30)),
        view("fixed", [fsnb.Field("fixed", Int64)], timedelta(days=30)),
        view("short", [fsnb.Field("short", Int64)], short_ttl),
        view("stable", [fsnb.Field("value", Int64)], timedelta(days=30),
             tags={"team": "risk"}),
        view("secret", [fsnb.Field("income", Float64)], timedelta(days=30), tags={"sensitive": "true"}),
    ]
    return [user, *views,
            fsnb.FeatureService("planted", [views[0], views[1], views[2], views[3]]),
            fsnb.FeatureService("clean", [views[4], views[5]])]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    day = timedelta(days=1)
    _write(repo, "stats", [{"user_id": u, "ts": NOW - 20 * day, "amount": u * 1.0, "city": "a"} for u in USERS]
           + [{"user_id": u, "ts": NOW - 2 * day, "amount": u * 2.0, "city": "b"} for u in USERS])
    _write(repo, "late", [{"user_id": u, "ts": NOW - 3 * day, "score": u} for u in USERS])
    _write(repo, "fixed", [{"user_id": u, "ts": NOW - 5 * day, "fixed": u} for u in USERS])
    _write(repo, "short", [{"user_id": u, "ts": NOW - 5 * day, "short": u} for u in USERS])
    _write(repo, "stable", [{"user_id": u, "ts": NOW - 5 * day, "value": u * 7} for u in USERS])
    _write(repo, "secret", [{"user_id": u, "ts": NOW - 5 * day, "income": u * 1000.0} for u in USERS])
    return repo


def test_planted_skew_is_found_with_its_reason_and_clean_traffic_is_full_parity(repo: Path) -> None:
    day = timedelta(days=1)
    with fsnb.Store(repo, log_served={"flush_interval": 0.1}) as store:
        store.apply(_views(repo))
        # stats materialized only up to 10 days ago (lag); late not at all; the others fully
        store.materialize(NOW - 40 * day, NOW - 10 * day, ["stats"], progress=False)
        store.materialize(NOW - 40 * day, NOW, ["fixed", "short", "stable", "secret"], progress=False)
        since = datetime.now(UTC)
        for u in USERS:
            store.get_online_features("planted", [{"user_id": u}], full_feature_names=True)
        store.get_online_features("clean", {"user_id": USERS})
    until = datetime.now(UTC)
    # after serving: a value corrected offline, and the short view's TTL cut to 2 days
    _write(repo, "fixed", [{"user_id": u, "ts": NOW - 5 * day, "fixed": u + 100} for u in USERS])
    with fsnb.Store(repo) as store:
        store.apply(_views(repo, short_ttl=timedelta(days=2)))
        logged = store.served_log("planted", since, until)
        assert len(logged) == len(USERS) and logged["request_id"].is_unique
        report = store.parity_check("planted", served=(since, until))
        by_feature = report.to_df().groupby("feature")["reason"].agg(set).to_dict()
        assert by_feature == {
            "stats__amount": {MATERIALIZATION_LAG},
            "stats__city": {MATERIALIZATION_LAG},
            "late__score": {NOT_FOUND_SERVED},
            "fixed__fixed": {VALUE_DIFFERS},
            "short__short": {SERVED_EXPIRED},
        }
        lags = report.to_df().query("reason == @MATERIALIZATION_LAG")["lag"]
        assert (lags >= timedelta(days=20)).all()  # the served row was 20 days old when served
        assert report.rows_compared == 5 * len(USERS) and report.match_rate == 0.0
        with pytest.raises(ParityError, match="stats"):
            report.assert_ok()
        assert MATERIALIZATION_LAG in report._repr_html_()

        clean = store.parity_check("clean", served=store.served_log("clean"))
        assert clean.match_rate == 1.0 and clean.rows_compared == len(USERS)
        clean.assert_ok()
        # the sensitive view's values were never written to the log, so they are not compared
        assert "secret__income" not in store.served_log("clean").columns
        assert "secret__income__status" in store.served_log("clean").columns
        assert clean.meta["not_compared"] == ["secret:income"]


def test_served_parity_needs_a_window_or_a_log(repo: Path) -> None:
    with fsnb.Store(repo) as store:
        store.apply(_views(repo))
        with pytest.raises(fsnb.errors.ConfigError, match="served must be"):
            store.parity_check("planted", served="yesterday")
        empty = store.parity_check("planted", served=(NOW - timedelta(days=1), NOW))
        with pytest.raises(ParityError, match="compared nothing"):
            empty.assert_ok()


def test_on_demand_features_are_checked_with_the_request_data_the_log_kept(repo: Path) -> None:
    payment = fsnb.RequestSource("payment", schema=[fsnb.Field("paid", Float64)])

    def build() -> list[object]:
        defs = _views(repo)
        stats = next(d for d in defs if getattr(d, "name", None) == "stats")

        @fsnb.on_demand_feature_view(sources=[stats[["amount"]], payment],
                                     schema=[fsnb.Field("paid_over_amount", Float64)], mode="python")
        def ratio(inputs):  # type: ignore[no-untyped-def]
            return {"paid_over_amount": [p / a for p, a in zip(inputs["paid"], inputs["amount"])]}

        return [*defs, ratio, fsnb.FeatureService("scored", [stats[["amount"]], ratio])]

    with fsnb.Store(repo, log_served=True) as store:
        store.apply(build())
        store.materialize(NOW - timedelta(days=40), NOW, ["stats"], progress=False)
        store.get_online_features("scored", [{"user_id": u, "paid": u * 10.0} for u in USERS[:5]])
        store.get_online_features("scored", pd.DataFrame({"user_id": USERS[5:], "paid": [3.0] * 5}))
    with fsnb.Store(repo) as store:
        logged = store.served_log("scored")
        assert logged["paid"].tolist() == [u * 10.0 for u in USERS[:5]] + [3.0] * 5
        assert logged["ratio__paid_over_amount"].tolist() == [5.0] * 5 + [3.0 / (u * 2.0) for u in USERS[5:]]
        report = store.parity_check("scored", served=logged)
        assert report.match_rate == 1.0 and report.rows_compared == 2 * len(USERS)
        assert {f.view for f in report.features} == {"stats", "ratio"} and report.meta["not_compared"] == []
        # without the request data (a log written before it was kept), the on-demand feature is set aside
        without = store.parity_check("scored", served=logged.drop(columns=["paid"]))
        assert without.meta["not_compared"] == ["ratio:paid_over_amount"]


def test_a_view_of_request_data_alone_is_logged_and_checked_from_its_log(repo: Path) -> None:
    payment = fsnb.RequestSource("payment", schema=[fsnb.Field("paid", Float64)])

    @fsnb.on_demand_feature_view(sources=[payment], schema=[fsnb.Field("cents", Int64)], mode="python")
    def in_cents(inputs):  # type: ignore[no-untyped-def]
        return {"cents": [None if p is None else round(p * 100) for p in inputs["paid"]]}

    with fsnb.Store(repo, log_served=True) as store:
        store.apply([*_views(repo), in_cents])
        store.get_online_features(["in_cents:cents"], {"paid": [1.0, 2.5, None]})
    with fsnb.Store(repo) as store:
        logged = store.served_log(["in_cents:cents"])
        assert logged["paid"].tolist()[:2] == [1.0, 2.5] and pd.isna(logged["paid"].iloc[2])
        assert logged["in_cents__cents"].tolist()[:2] == [100, 250]
        report = store.parity_check(["in_cents:cents"], served=logged)
        assert report.match_rate == 1.0 and report.rows_compared == 3
