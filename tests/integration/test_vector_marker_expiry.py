"""With ``key_ttl_seconds``, vectors expire like rows but the build marker never does."""

from __future__ import annotations

import pandas as pd
import redis

from fsnb.online.keys import marker_key
from tests.unit.test_online_support import PROJECT, ago, make_store


def test_the_vector_build_marker_outlives_key_expiry(redis_url: str) -> None:
    s = make_store("redis", redis_url, key_ttl_seconds=100)
    s.write_to_online_store(
        "profile", pd.DataFrame({"user_id": [1], "age": [1], "city": ["x"], "score": [1.0],
                                 "event_timestamp": [ago(minutes=1)]})
    )
    s.build_vectors("user_service")
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.ttl(marker_key(PROJECT, "user_service")) == -1  # -1: no expiry (it expired with the keys)
        vectors = client.keys(f"fsnb:{PROJECT}:v:user_service:*".encode())
        assert vectors and all(0 < client.ttl(k) <= 100 for k in vectors)
        r = s.get_online_features("user_service", {"user_id": [1, 2]}, precomputed=True)
        assert r.statuses["age"] == ["PRESENT", "NOT_FOUND"]
        assert s.online.key_ttl_seconds == 100  # the store's own writes still expire
    finally:
        client.close()
        s.close()
