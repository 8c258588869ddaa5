"""What the notebook's first cell loads: ``import fsnb``, ``Store()`` and a first online read load neither DuckDB,
SQLAlchemy nor pandas (the SQLite registry is read with the standard library); ``to_df()`` loads pandas then."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import fsnb
from fsnb.examples.banking import init_repo
from fsnb.registry.repo import load_definitions

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("duckdb", "sqlalchemy", "pandas", "pyarrow", "fsnb.server", "fsnb.offline.duckdb", "ipywidgets")

CHILD = """
import json, sys
import fsnb
store = fsnb.Store(sys.argv[1])
loaded = {}
loaded["import"] = [m for m in sys.argv[2:] if m in sys.modules]
out = store.get_online_features("realtime_scoring", {"customer_id": [1, 2]}).to_dict()
loaded["read"] = [m for m in sys.argv[2:] if m in sys.modules]
df = store.get_online_features("realtime_scoring", {"customer_id": [1]}).to_df()
loaded["to_df"] = [m for m in sys.argv[2:] if m in sys.modules]
loaded["rows"] = len(out["customer_id"]) + len(df)
print(json.dumps(loaded))
"""


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = init_repo(tmp_path_factory.mktemp("first_read") / "banking", customers=50, force=True)
    with fsnb.Store(path) as store:  # the template's SQLite registry and SQLite online store
        store.apply(load_definitions(path))
        now = datetime.now(UTC)
        store.materialize(now - timedelta(days=800), now, progress=False)
    return path


def test_a_first_read_loads_no_duckdb_sqlalchemy_or_pandas(repo: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("FSNB_ONLINE_STORE", None)
    env.pop("FSNB_REGISTRY", None)
    done = subprocess.run([sys.executable, "-c", CHILD, str(repo), *HEAVY], capture_output=True, text=True,
                          env=env, cwd=str(repo), timeout=120)
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded["rows"] == 3
    assert loaded["import"] == [] and loaded["read"] == [], loaded
    assert "pandas" in loaded["to_df"] and "sqlalchemy" not in loaded["to_df"], loaded
