"""The shell quickstart on embedded defaults: init, apply, materialize, then `fsnb bench` with a server and parity."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.server, pytest.mark.slow]


def fsnb(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("FSNB_ONLINE_STORE", "FSNB_REGISTRY", "FSNB_SERVER_URL")}
    return subprocess.run([sys.executable, "-m", "fsnb.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def test_bench_on_embedded_defaults_prints_every_mode_then_parity(tmp_path: Path) -> None:
    assert fsnb("init", "bank", "--customers", "1000", cwd=tmp_path).returncode == 0
    repo = tmp_path / "bank"
    for step in (["apply"], ["materialize-incremental", "now", "--no-progress"]):
        done = fsnb(*step, cwd=repo)
        assert done.returncode == 0, done.stderr
    done = fsnb("bench", "--quick", "--serve", "--parity", "100", "--no-progress", "--batch-sizes", "1", "10",
                cwd=repo)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split()[:3] == ["mode", "batch", "p50"]
    measured = {line.split()[0] for line in lines[2:] if line.split()[1:2] in (["1"], ["10"])}
    assert measured == {"direct", "async", "precomputed", "rest", "remote"}, done.stdout
    assert "error" not in done.stdout and "skipped" not in done.stdout
    assert "server CPU" in done.stdout
    assert "training-to-serving parity: 100.00% match over 100 entities (direct, precomputed)" in done.stdout
