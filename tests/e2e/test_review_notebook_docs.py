"""Review fixes (notebook-docs area) that need a feature-server process."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fsnb.notebook.demo import banking_store, start_feature_server

pytestmark = [pytest.mark.server]


def test_stopping_a_demo_feature_server_removes_its_log_file(tmp_path: Path) -> None:
    store = banking_store(tmp_path / "banking", customers=100)
    try:
        server = start_feature_server(store)
        assert os.path.exists(server.log)
        server.stop()
        assert server.proc.poll() is not None
        assert not os.path.exists(server.log)  # `fsnb bench --serve` left one in /tmp per run
        server.stop()  # idempotent
    finally:
        store.close()


def test_quickstart_notebook_serves_its_own_repo_whatever_the_environment() -> None:
    """01 builds a repo of its own: a server from $FSNB_SERVER_URL would serve another registry and other data."""
    import nbformat

    nb = nbformat.read(Path(__file__).resolve().parents[2] / "notebooks" / "01_quickstart.ipynb", as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "FSNB_SERVER_URL" not in code
    assert "server = start_feature_server(store)" in code
