"""Shared definitions and helpers for the online-store tests (no tests here).

Stores get their registry snapshot from :func:`use_snapshot`, so these tests do not depend on the registry part.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import fsnb
from fsnb.config import Config, OnlineStoreConfig
from fsnb.registry.snapshot import RegistrySnapshot

PROJECT = "t"

user = fsnb.Entity("user", join_keys={"user_id": fsnb.Int64})
account = fsnb.Entity("account", join_keys={"tenant": fsnb.String, "account_no": fsnb.Int64})
merchant = fsnb.Entity("merchant", join_keys={"merchant_id": fsnb.String})
source = fsnb.ParquetSource("unused.parquet", name="src")

ADDRESS = fsnb.Struct({"city": fsnb.String, "zip": fsnb.Int32})

all_types = fsnb.FeatureView(
    "all_types",
    entities=[user],
    schema=[
        fsnb.Field("i32", fsnb.Int32),
        fsnb.Field("i64", fsnb.Int64),
        fsnb.Field("f32", fsnb.Float32),
        fsnb.Field("f64", fsnb.Float64),
        fsnb.Field("s", fsnb.String),
        fsnb.Field("b", fsnb.Bytes),
        fsnb.Field("flag", fsnb.Bool),
        fsnb.Field("ts", fsnb.UnixTimestamp),
        fsnb.Field("ints", fsnb.Array(fsnb.Int64)),
        fsnb.Field("strs", fsnb.Array(fsnb.String)),
        fsnb.Field("m", fsnb.Map(fsnb.Float64)),
        fsnb.Field("addr", ADDRESS),
        fsnb.Field("js", fsnb.Json),
    ],
    source=source,
)
profile = fsnb.FeatureView(
    "profile",
    entities=[user],
    schema=[fsnb.Field("age", fsnb.Int64), fsnb.Field("city", fsnb.String), fsnb.Field("score", fsnb.Float64)],
    source=source,
    ttl=timedelta(hours=1),
)
activity = fsnb.FeatureView(
    "activity",
    entities=[user],
    schema=[
        fsnb.Field("clicks", fsnb.Int32),
        fsnb.Field("active", fsnb.Bool),
        fsnb.Field("tags", fsnb.Array(fsnb.String)),
        fsnb.Field("ratio", fsnb.Float32),
    ],
    source=source,
)
balances = fsnb.FeatureView(
    "balances",
    entities=[account],
    schema=[fsnb.Field("balance", fsnb.Float64), fsnb.Field("currency", fsnb.String)],
    source=source,
)
shops = fsnb.FeatureView(
    "shops", entities=[merchant], schema=[fsnb.Field("rating", fsnb.Float64)], source=source
)
user_service = fsnb.FeatureService("user_service", [profile, activity, all_types], precompute_online=True)
slim_service = fsnb.FeatureService(
    "slim_service", [activity[["ratio", "clicks"]], profile[["score"]]], precompute_online=True
)
plain_service = fsnb.FeatureService("plain_service", [profile, activity])

OBJECTS: list[Any] = [
    user, account, merchant, source, all_types, profile, activity, balances, shops,
    user_service, slim_service, plain_service,
]


def snapshot(objects: list[Any] | None = None, version: int = 1) -> RegistrySnapshot:
    return RegistrySnapshot.build(PROJECT, version, OBJECTS if objects is None else objects)


def use_snapshot(store: fsnb.Store, snap: RegistrySnapshot) -> None:
    """Make ``store`` read ``snap`` as its registry (stands in for ``fsnb apply``)."""
    store.snapshot = lambda: snap  # type: ignore[method-assign]


def make_store(kind: str, url: str | None = None, objects: list[Any] | None = None, **online: Any) -> fsnb.Store:
    if kind == "redis":
        cfg = OnlineStoreConfig(type="redis", url=url or "", **online)
    else:
        cfg = OnlineStoreConfig(type="sqlite", path=":memory:", **online)
    store = fsnb.Store(config=Config(project=PROJECT, online_store=cfg))
    use_snapshot(store, snapshot(objects))
    return store


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def ago(**kw: float) -> datetime:
    return now() - timedelta(**kw)


def ALL_TYPES_ROWS() -> list[dict[str, Any]]:
    t = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    return [
        {
            "user_id": 1, "i32": -7, "i64": 2**40, "f32": 1.5, "f64": -2.25, "s": "héllo", "b": b"\x00\xff",
            "flag": True, "ts": t, "ints": [1, -2, 3], "strs": ["a", "", "ü"], "m": {"x": 1.0, "y": -0.5},
            "addr": {"city": "Lisbon", "zip": 1000}, "js": {"k": [1, "two", None], "n": 3.5},
        },
        {
            "user_id": 2, "i32": None, "i64": None, "f32": None, "f64": None, "s": None, "b": None,
            "flag": None, "ts": None, "ints": None, "strs": None, "m": None, "addr": None, "js": None,
        },
        {
            "user_id": 3, "i32": 2**31 - 1, "i64": -(2**63), "f32": 0.0, "f64": 1e300, "s": "", "b": b"",
            "flag": False, "ts": datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC), "ints": [], "strs": [],
            "m": {}, "addr": {"city": "", "zip": None}, "js": [1, 2],
        },
    ]


def all_types_table(rows: list[dict[str, Any]], ts: datetime) -> Any:
    import pyarrow as pa

    schema = pa.schema(
        [("user_id", pa.int64())]
        + [(f.name, f.dtype.to_arrow()) for f in all_types.features if f.name != "js"]
        + [("js", pa.string()), ("event_timestamp", pa.timestamp("us", tz="UTC"))]
    )
    import json

    data = {name: [r[name] for r in rows] for name in schema.names if name not in ("event_timestamp", "js", "m")}
    data["js"] = [None if r["js"] is None else json.dumps(r["js"]) for r in rows]
    data["m"] = [None if r["m"] is None else list(r["m"].items()) for r in rows]
    data["event_timestamp"] = [ts] * len(rows)
    return pa.table(data, schema=schema)
