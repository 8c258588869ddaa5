"""The notebooks in notebooks/ run headless (nbclient) against a real Redis and a real feature server, cleanly."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fsnb.notebook.demo import FeatureServerProcess, banking_store, start_feature_server
from fsnb.store import Store

pytestmark = [pytest.mark.redis, pytest.mark.server, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
CUSTOMERS = 1000


def _db(url: str, db: int) -> str:
    return url.rsplit("/", 1)[0] + f"/{db}"


@pytest.fixture(scope="module")
def served_repo(redis_server, tmp_path_factory) -> Iterator[tuple[Store, FeatureServerProcess]]:
    """A materialized banking repo on Redis db 1 and `fsnb serve` over it, for the notebooks that take one."""
    import redis

    r = redis.Redis.from_url(redis_server.url)
    r.flushall()
    r.close()
    store = banking_store(tmp_path_factory.mktemp("served") / "banking", customers=CUSTOMERS,
                          online_store=_db(redis_server.url, 1))
    server = start_feature_server(store)
    yield store, server
    server.stop()
    store.close()


def execute(name: str, env: dict[str, str], workdir: Path, *, store_widget_state: bool = False) -> Any:
    """Run notebook ``name`` in a fresh kernel with ``env`` set; raises on the first failing cell."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the kernel inherits this process's environment
    try:
        client = NotebookClient(nb, timeout=300, kernel_name="python3", store_widget_state=store_widget_state,
                                resources={"metadata": {"path": str(workdir)}})
        client.execute()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return nb


def _errors(nb: Any) -> list[str]:
    return [f"{o.get('ename')}: {o.get('evalue')}" for c in nb.cells if c.cell_type == "code"
            for o in c.get("outputs", []) if o.get("output_type") == "error"]


def _text(nb: Any) -> str:
    parts = []
    for c in nb.cells:
        for o in c.get("outputs", []) if c.cell_type == "code" else []:
            parts.append(o.get("text", ""))
            for v in o.get("data", {}).values():
                parts.append(v if isinstance(v, str) else "")
    return "\n".join(parts)


def test_notebooks_are_stored_without_outputs() -> None:
    import nbformat

    names = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
    assert names == ["01_quickstart.ipynb", "02_latency_explorer.ipynb", "03_training_serving_parity.ipynb",
                     "04_serving_skew_and_drift.ipynb"]
    for name in names:
        nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, f"{name} has outputs: strip them"


def test_quickstart_runs_every_mode_against_redis_and_its_own_server(redis_server, tmp_path: Path) -> None:
    env = {"FSNB_REDIS_URL": _db(redis_server.url, 2), "FSNB_NB_QUICK": "1", "FSNB_NB_CUSTOMERS": str(CUSTOMERS),
           "FSNB_SERVER_URL": ""}
    nb = execute("01_quickstart.ipynb", env, tmp_path)
    assert not _errors(nb)
    text = _text(nb)
    assert "LatencyReport" in text and "ParityReport" in text and "100.00% match" in text
    for mode in ("direct", "async", "precomputed", "rest", "remote"):
        assert f"<td>{mode}</td>" in text, mode  # measured, not skipped: every mode had a row of numbers
    assert "<i>skipped" not in text and "<i>error" not in text  # no mode failed or went unmeasured


def test_latency_explorer_notebook_runs_against_the_served_repo(served_repo, tmp_path: Path) -> None:
    store, server = served_repo
    env = {"FSNB_REDIS_URL": store.config.online_store.url, "FSNB_SERVER_URL": server.url,
           "FSNB_NB_REPO": str(store.config.repo_path), "FSNB_NB_QUICK": "1"}
    nb = execute("02_latency_explorer.ipynb", env, tmp_path, store_widget_state=True)
    assert not _errors(nb)
    assert "done: run 2" in _text(nb)
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    images = [m for m in state.values() if m["model_name"] == "ImageModel"]
    assert images, "the explorer's plot image is not in the saved widget state"


def test_parity_notebook_finds_the_planted_drift(redis_server, tmp_path: Path) -> None:
    env = {"FSNB_REDIS_URL": _db(redis_server.url, 3), "FSNB_NB_QUICK": "1", "FSNB_NB_CUSTOMERS": str(CUSTOMERS)}
    nb = execute("03_training_serving_parity.ipynb", env, tmp_path)
    assert not _errors(nb)
    text = _text(nb)
    assert "100.00% match" in text  # the clean materialization
    assert "precomputed vector disagrees with regular path" in text and "missing online" in text


def test_skew_and_drift_notebook_flags_the_shifted_traffic_only(redis_server, tmp_path: Path) -> None:
    env = {"FSNB_REDIS_URL": _db(redis_server.url, 4), "FSNB_NB_QUICK": "1", "FSNB_NB_CUSTOMERS": str(CUSTOMERS)}
    nb = execute("04_serving_skew_and_drift.ipynb", env, tmp_path)
    assert not _errors(nb)
    text = _text(nb)
    assert "100.00% match" in text  # clean traffic: what was served is the training row as of request time
    assert "0 of 20 features drifted" in text  # the normal mix against the training set
    assert "DriftReport" in text and "features drifted (realtime_scoring):" in text  # shifted, refused by assert_ok
    assert "<svg" in text  # the overlaid histograms
