"""Online reads through a real registry (``store.apply``): plans follow registry versions, schema changes are honest."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

import fsnb
from fsnb import errors


def definitions(path: Path, extra: bool = False) -> list[object]:
    user = fsnb.Entity("user", join_keys={"user_id": fsnb.Int64})
    src = fsnb.ParquetSource(str(path), name="profile_src")
    fields = [fsnb.Field("age", fsnb.Int64), fsnb.Field("city", fsnb.String)]
    if extra:
        fields.append(fsnb.Field("score", fsnb.Float64))
    profile = fsnb.FeatureView("profile", entities=[user], schema=fields, source=src, ttl=timedelta(days=1))
    service = fsnb.FeatureService("scoring", [profile], precompute_online=True)
    return [user, src, profile, service]


@pytest.mark.parametrize("kind", ["redis", "sqlite"])
def test_reads_follow_apply(tmp_path: Path, kind: str, request: pytest.FixtureRequest) -> None:
    now = pd.Timestamp.now(tz="UTC").floor("s")
    data = pd.DataFrame(
        {"user_id": [1, 2], "age": [30, 40], "city": ["Porto", "Faro"], "score": [1.5, 2.5],
         "event_timestamp": [now, now]}
    )
    parquet = tmp_path / "profile.parquet"
    data.to_parquet(parquet)
    online = request.getfixturevalue("redis_url") if kind == "redis" else f"sqlite:///{tmp_path / 'online.db'}"
    store = fsnb.Store(tmp_path, online_store=online, registry={"url": str(tmp_path / "registry.db"),
                                                                "cache_ttl_seconds": 0})
    store.apply(definitions(parquet))
    store.write_to_online_store("profile", data.drop(columns=["score"]))
    got = store.get_online_features(["profile:age", "profile:city"], {"user_id": [2, 1, 3]})
    assert got.to_dict() == {"user_id": [2, 1, 3], "age": [40, 30, None], "city": ["Faro", "Porto", None]}
    with pytest.raises(errors.VectorsNotBuiltError, match="scoring"):
        store.get_online_features("scoring", {"user_id": [1]})
    store.build_vectors("scoring", progress=False)
    assert store.get_online_features("scoring", {"user_id": [1]}).to_dict()["city"] == ["Porto"]

    # a new feature: a new registry version, a new plan; old rows are of another schema and old vectors are stale
    store.apply(definitions(parquet, extra=True))
    reg = store.get_online_features(["profile:age", "profile:score"], {"user_id": [1]})
    assert reg.statuses == {"user_id": ["PRESENT"], "age": ["NOT_FOUND"], "score": ["NOT_FOUND"]}
    with pytest.raises(errors.VectorsNotBuiltError, match="another version"):
        store.get_online_features("scoring", {"user_id": [1]})
    store.write_to_online_store("profile", data)
    store.build_vectors("scoring", progress=False)
    pre = store.get_online_features("scoring", {"user_id": [1, 2]})
    assert pre.to_dict() == {"user_id": [1, 2], "age": [30, 40], "city": ["Porto", "Faro"], "score": [1.5, 2.5]}
    assert pre.to_dict() == store.get_online_features("scoring", {"user_id": [1, 2]}, precomputed=False).to_dict()
    store.close()
