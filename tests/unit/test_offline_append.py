"""Offline pushes to file sources: concurrent writers in several processes never lose or damage rows."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

_DEFS = """
import fsnb
customer = fsnb.Entity("customer", join_keys={"customer_id": fsnb.Int64})
batch = fsnb.%s("data/txn.%s", name="txn_batch")
push = fsnb.PushSource("txn_push", batch_source=batch)
txn = fsnb.FeatureView("txn", entities=[customer], source=push, schema=[fsnb.Field("count", fsnb.Int64)])
"""

_PUSHER = """
import sys, pandas as pd, fsnb
store = fsnb.Store(sys.argv[1])
base = int(sys.argv[2])
for i in range(int(sys.argv[3])):
    df = pd.DataFrame({"customer_id": [base + i], "count": [i], "event_timestamp": [pd.Timestamp.now(tz="UTC")]})
    store.push("txn_push", df, to="offline")
"""


def _repo(tmp_path: Path, kind: str, ext: str) -> Path:
    (tmp_path / "data").mkdir()
    start = pd.DataFrame({"customer_id": list(range(50)), "count": [1] * 50,
                          "event_timestamp": [datetime(2024, 1, 1, tzinfo=UTC)] * 50})
    if ext == "parquet":
        start.to_parquet(tmp_path / "data" / "txn.parquet", index=False)
    else:
        start.to_csv(tmp_path / "data" / "txn.csv", index=False)
    (tmp_path / "definitions.py").write_text(_DEFS % (kind, ext))
    (tmp_path / "fsnb.yaml").write_text("project: race\nregistry: registry.db\nonline_store: online.db\n")
    subprocess.run([sys.executable, "-m", "fsnb.cli", "--repo", str(tmp_path), "apply"], check=True,
                   capture_output=True)
    return tmp_path


@pytest.mark.parametrize(("kind", "ext"), [("ParquetSource", "parquet"), ("CsvSource", "csv")])
def test_concurrent_offline_pushes_from_several_processes_keep_every_row(tmp_path: Path, kind: str, ext: str) -> None:
    repo = _repo(tmp_path, kind, ext)
    procs = [
        subprocess.Popen([sys.executable, "-c", _PUSHER, str(repo), str(base), "8"], stderr=subprocess.PIPE)
        for base in (1000, 2000, 3000)
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()[-2000:]
    path = repo / "data" / f"txn.{ext}"
    ids = (pq.read_table(path) if ext == "parquet" else pcsv.read_csv(path)).column("customer_id").to_pylist()
    expected = [*range(50), *(b + i for b in (1000, 2000, 3000) for i in range(8))]
    assert sorted(ids) == expected
    assert [p.name for p in (repo / "data").iterdir() if p.name.endswith(".tmp")] == []

