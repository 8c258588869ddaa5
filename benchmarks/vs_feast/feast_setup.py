"""Shared set-up of the side-by-side benchmarks against Feast 0.67.0 (``rest.py``, ``direct.py``).

Feast lives in its own virtualenv under /tmp (default ``/tmp/fsnb-feast-venv``), installed with pip on first use by
``tests/feast_venv.py``; it is never a dependency of fsnb. The Feast feature repo mirrors the banking template:
entity ``customer`` (``customer_id``), views ``customer_demographics`` (6 features, ttl 365 d),
``transaction_stats`` (8, 2 d), ``behavior_profile`` (6, 30 d) over the same Parquet files, and service
``realtime_scoring`` over all three.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.feast_venv import DEFAULT_VENV, FEAST_VERSION, FeastUnavailable, feast_python

__all__ = ["DEFAULT_VENV", "FEAST_VERSION", "FeastUnavailable", "build_feast_repo", "ensure_feast", "feast_python",
           "write_feast_repo"]

FEAST_DEFINITIONS = '''
from datetime import timedelta

from feast import Entity, FeatureService, FeatureView, Field, FileSource, ValueType
from feast.types import Array, Bool, Float32, Float64, Int32, Int64, String

customer = Entity(name="customer", join_keys=["customer_id"], value_type=ValueType.INT64)


def source(view):
    return FileSource(
        name=f"{view}_source",
        path="DATA/" + view + ".parquet",
        timestamp_field="event_timestamp",
        created_timestamp_column="created",
    )


customer_demographics = FeatureView(
    name="customer_demographics", entities=[customer], ttl=timedelta(days=365), source=source("customer_demographics"),
    schema=[Field(name="age", dtype=Int32), Field(name="annual_income", dtype=Float64),
            Field(name="credit_score", dtype=Int32), Field(name="segment", dtype=String),
            Field(name="region", dtype=String), Field(name="is_premium", dtype=Bool)],
)
transaction_stats = FeatureView(
    name="transaction_stats", entities=[customer], ttl=timedelta(days=2), source=source("transaction_stats"),
    schema=[Field(name="txn_count_24h", dtype=Int64), Field(name="txn_count_7d", dtype=Int64),
            Field(name="txn_amount_sum_24h", dtype=Float64), Field(name="txn_amount_avg_7d", dtype=Float64),
            Field(name="txn_amount_max_7d", dtype=Float64), Field(name="declined_ratio_7d", dtype=Float32),
            Field(name="foreign_txn_ratio_30d", dtype=Float32), Field(name="chargeback_count_90d", dtype=Int64)],
)
behavior_profile = FeatureView(
    name="behavior_profile", entities=[customer], ttl=timedelta(days=30), source=source("behavior_profile"),
    schema=[Field(name="login_count_30d", dtype=Int32), Field(name="avg_session_minutes", dtype=Float64),
            Field(name="mobile_share", dtype=Float32), Field(name="preferred_channel", dtype=String),
            Field(name="recent_txn_amounts", dtype=Array(Float64)), Field(name="top_categories", dtype=Array(String))],
)
realtime_scoring = FeatureService(
    name="realtime_scoring", features=[customer_demographics, transaction_stats, behavior_profile]
)
'''


def ensure_feast(venv: Path, install: bool) -> Path:
    """The venv's ``feast`` executable (see :func:`feast_python`); exits with the reason when unavailable."""
    try:
        feast_python(venv, install)
    except FeastUnavailable as e:
        raise SystemExit(f"error: Feast {FEAST_VERSION} is unavailable: {e}") from e
    return venv / "bin" / "feast"


def write_feast_repo(
    path: Path, data: Path, redis_port: int, db: int = 1, registry_cache_ttl: int | None = None
) -> None:
    """Write ``feature_store.yaml`` (redis online store on the private port, file offline store) and
    ``definitions.py`` (over the Parquet files in ``data``) into ``path``."""
    path.mkdir(parents=True, exist_ok=True)
    if registry_cache_ttl is None:
        registry = "registry: registry.db\n"
    else:
        registry = f"registry:\n  path: registry.db\n  cache_ttl_seconds: {registry_cache_ttl}\n"
    (path / "feature_store.yaml").write_text(
        "project: banking\n"
        f"{registry}"
        "provider: local\n"
        "online_store:\n"
        "  type: redis\n"
        f'  connection_string: "127.0.0.1:{redis_port},db={db}"\n'
        "offline_store:\n"
        "  type: file\n"
        "entity_key_serialization_version: 3\n"
    )
    (path / "definitions.py").write_text(FEAST_DEFINITIONS.replace("DATA/", f"{data}/"))


def build_feast_repo(path: Path, data: Path, redis_port: int, feast: Path) -> None:
    """Write the repo, then ``feast apply`` and ``feast materialize`` (everything, 800 days back) with the CLI."""
    write_feast_repo(path, data, redis_port)
    subprocess.run([str(feast), "apply"], cwd=path, check=True, stdout=subprocess.DEVNULL)
    end = datetime.now(UTC)
    start = end - timedelta(days=800)
    subprocess.run([str(feast), "materialize", start.strftime("%Y-%m-%dT%H:%M:%S"), end.strftime("%Y-%m-%dT%H:%M:%S")],
                   cwd=path, check=True, stdout=subprocess.DEVNULL)
