"""A feature server told not to run registry code (``feature_server.allow_functions: false``) refuses a registry
holding on-demand views' functions, says why on /health and on every read, and never runs one."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import requests

from fsnb.notebook import banking_store
from tests.servers import free_port


def test_a_server_that_refuses_functions_refuses_a_registry_with_on_demand_views(tmp_path: Path) -> None:
    store = banking_store(tmp_path / "bank", customers=50)
    repo = store.config.repo_path
    store.close()
    with open(repo / "fsnb.yaml", "a") as f:
        f.write("\nfeature_server:\n  allow_functions: false\n")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FSNB_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "fsnb.cli", "serve", "--repo", str(repo), "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        health = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                health = requests.get(f"{url}/health", timeout=5)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        assert health is not None, "the server did not start"
        assert health.status_code == 503
        assert "RegistryError" in health.text
        stored = requests.post(f"{url}/get-online-features", timeout=10, json={
            "features": ["transaction_stats:txn_count_7d"], "entities": {"customer_id": [1]}})
        assert stored.status_code == 503
        assert "refuses to run registry code (feature_server.allow_functions: false)" in stored.json()["detail"]
        assert "amount_vs_history" in stored.json()["detail"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
