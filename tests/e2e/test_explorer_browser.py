"""The latency explorer in a real browser: the executed notebook, exported with its widget state, rendered by
headless Chromium. The page must show the explorer's controls and its result plot.

Needs Debian's chromium and the widget HTML manager (scripts/setup.d/chromium.sh installs both). Chromium runs
with DNS disabled and the page references local files only: no request leaves the machine.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from fsnb.notebook.demo import FeatureServerProcess, banking_store, start_feature_server
from fsnb.store import Store
from tests.e2e.test_notebooks import execute

pytestmark = [pytest.mark.redis, pytest.mark.server, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
ASSETS = Path(os.environ.get("FSNB_E2E_ASSETS") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
              / "fsnb" / "e2e-assets")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--hide-scrollbars", "--allow-file-access-from-files",
    "--host-resolver-rules=MAP * ~NOTFOUND", "--window-size=1280,2600", "--virtual-time-budget=20000",
]


@pytest.fixture(scope="module")
def chromium() -> str:
    binary = shutil.which("chromium")
    if binary is None or not (ASSETS / "embed-amd.js").is_file() or not (ASSETS / "require.js").is_file():
        subprocess.run(["bash", str(ROOT / "scripts" / "setup.d" / "chromium.sh")], check=False,
                       env={**os.environ, "FSNB_E2E_ASSETS": str(ASSETS)}, capture_output=True, timeout=600)
        binary = shutil.which("chromium")
    if binary is None or not (ASSETS / "embed-amd.js").is_file():
        pytest.fail("chromium or the widget HTML manager is missing: run scripts/setup.d/chromium.sh")
    return binary


@pytest.fixture(scope="module")
def served(redis_server, tmp_path_factory) -> Iterator[tuple[Store, FeatureServerProcess]]:
    url = redis_server.url.rsplit("/", 1)[0] + "/5"
    store = banking_store(tmp_path_factory.mktemp("browser") / "banking", customers=500, online_store=url)
    server = start_feature_server(store)
    yield store, server
    server.stop()
    store.close()


def _export(nb: object, path: Path) -> str:
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab")
    exporter.require_js_url = (ASSETS / "require.js").as_uri()
    exporter.widget_renderer_url = (ASSETS / "embed-amd.js").as_uri()
    exporter.mathjax_url = ""
    body, _ = exporter.from_notebook_node(nb)
    external = re.findall(r"""<(?:script|link|img)[^>]+(?:src|href)=["'](https?://[^"']+)""", body)
    assert not external, f"the exported page would load {external}"
    path.write_text(body)
    return body


def _chromium(binary: str, page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    shutil.rmtree(profile, ignore_errors=True)
    return subprocess.run([binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()],
                          capture_output=True, text=True, timeout=120)


def test_explorer_renders_controls_and_plot_in_headless_chromium(chromium: str, served, tmp_path: Path) -> None:
    store, server = served
    env = {"FSNB_REDIS_URL": store.config.online_store.url, "FSNB_SERVER_URL": server.url,
           "FSNB_NB_REPO": str(store.config.repo_path), "FSNB_NB_QUICK": "1"}
    nb = execute("02_latency_explorer.ipynb", env, tmp_path, store_widget_state=True)
    page = tmp_path / "explorer.html"
    _export(nb, page)

    dom = _chromium(chromium, page, tmp_path / "profile-dom", "--dump-dom").stdout
    explorer = dom[dom.index("fsnb-latency-explorer"):]
    # the controls: features picker, a checkbox per mode, batch sizes, iterations, concurrency, the Run button
    assert re.search(r'widget-button[^>]*title="Run"', explorer), "no Run button"
    assert explorer.count("widget-checkbox") >= 5
    for label in ("direct", "async", "precomputed", "rest", "remote", "batch sizes", "iterations", "concurrency"):
        assert f">{label}<" in explorer, label
    assert "widget-dropdown" in explorer and "widget-hprogress" in explorer
    # the results: the latency table and the plot, an image the widget manager made from the saved PNG
    assert "LatencyReport" in explorer and "done: run 2" in explorer
    assert re.search(r'<img[^>]*widget-image[^>]*src="(blob:|data:image/png)', explorer), "no plot image"

    shot = tmp_path / "explorer.png"
    _chromium(chromium, page, tmp_path / "profile-shot", f"--screenshot={shot}")
    from PIL import Image

    with Image.open(shot) as img:
        assert img.size == (1280, 2600)
        colors = img.convert("RGB").getcolors(maxcolors=1 << 20)
        assert colors is not None and len(colors) > 200, "the screenshot looks blank"
    keep = os.environ.get("FSNB_E2E_SCREENSHOTS")
    if keep:
        shutil.copy(shot, Path(keep) / "explorer.png")
