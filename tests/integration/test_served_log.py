"""The served-feature log of direct reads: bounded (drops and counts), sampled, flushed at close, retention kept,
sensitive values left out, config checked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

import fsnb
from fsnb.errors import ConfigError
from fsnb.types import Float64, Int64

USERS = list(range(1, 6))


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / "data").mkdir(parents=True)
    now = datetime.now(UTC)
    pd.DataFrame({"user_id": USERS, "score": [u * 1.5 for u in USERS], "income": [u * 1000.0 for u in USERS],
                  "ts": [now - timedelta(hours=1)] * len(USERS)}).to_parquet(repo / "data" / "users.parquet")
    user = fsnb.Entity("user", join_keys=["user_id"])
    source = fsnb.ParquetSource(str(repo / "data" / "users.parquet"), name="users", timestamp_field="ts")
    key = fsnb.Field("user_id", Int64)
    scores = fsnb.FeatureView("scores", entities=[user], schema=[key, fsnb.Field("score", Float64)], source=source)
    private = fsnb.FeatureView("private", entities=[user], schema=[key, fsnb.Field("income", Float64)],
                               source=source, tags={"sensitive": "true"})
    with fsnb.Store(repo) as store:
        store.apply([user, scores, private, fsnb.FeatureService("svc", [scores, private])])
        store.materialize(now - timedelta(days=1), now, progress=False)
    return repo


def test_a_full_queue_drops_and_counts_and_close_flushes_the_rest(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    with fsnb.Store(repo, log_served={"max_queue": 5, "flush_interval": 3600}) as store:
        for u in USERS * 4:
            store.get_online_features("svc", [{"user_id": u}])
        writer = store.serving.log  # type: ignore[attr-defined]
        assert writer.dropped == 15  # never blocked: the reads past the bound were answered, not logged
    # closing the store flushed the five queued records
    with fsnb.Store(repo) as store:
        logged = store.served_log("svc")
        assert len(logged) == 5 and logged["request_id"].is_unique
        assert logged["user_id"].tolist() == USERS and set(logged["mode"]) == {"direct"}
        assert logged["scores__score"].tolist() == [u * 1.5 for u in USERS]
        assert "private__income" not in logged.columns  # a sensitive view's values stay out of the log
        assert set(logged["private__income__status"]) == {"PRESENT"}


def test_sensitive_values_are_logged_only_when_enabled_and_sampling_zero_logs_nothing(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    with fsnb.Store(repo, log_served={"log_sensitive": True}) as store:
        store.get_online_features("svc", {"user_id": USERS})
    with fsnb.Store(repo, log_served={"sample_rate": 0.0}) as store:
        for _ in range(10):
            store.get_online_features("svc", {"user_id": USERS})
    with fsnb.Store(repo) as store:
        logged = store.served_log("svc")
        assert len(logged) == len(USERS)
        assert logged["private__income"].tolist() == [u * 1000.0 for u in USERS]


def test_retention_removes_old_days(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    old = repo / ".fsnb" / "served_log" / "service=svc" / "date=2000-01-01"
    old.mkdir(parents=True)
    (old / "part-1-x-1.parquet").write_bytes(b"")
    with fsnb.Store(repo, log_served={"retention_days": 30}) as store:
        store.get_online_features("svc", {"user_id": USERS})
    assert not old.exists()
    with fsnb.Store(repo) as store:
        assert len(store.served_log("svc")) == len(USERS)


def test_logging_settings_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="sample_rate"):
        fsnb.Store(tmp_path, log_served={"sample_rate": 2})
    with pytest.raises(ConfigError, match="unknown key"):
        fsnb.Store(tmp_path, feature_server={"logging": {"enable": True}})
    with pytest.raises(ConfigError, match="log_served must be"):
        fsnb.Store(tmp_path, log_served="yes")
    assert fsnb.Store(tmp_path, log_served=False).log_served is None
