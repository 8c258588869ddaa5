"""Feast in a virtualenv of its own, for the tests and benchmarks that compare fsnb with Feast.

``feast[redis]==FEAST_VERSION`` is installed with pip on first use under ``DEFAULT_VENV`` (``$FSNB_FEAST_VENV``
overrides) and reused after; it is never a dependency of fsnb. Code runs there as a subprocess of that venv's python.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

FEAST_VERSION = "0.67.0"
DEFAULT_VENV = os.environ.get("FSNB_FEAST_VENV", "/tmp/fsnb-feast-venv")


class FeastUnavailable(RuntimeError):
    """The Feast virtualenv is missing and could not be created (or holds the wrong Feast)."""


def feast_python(venv: str | Path = DEFAULT_VENV, install: bool = True) -> Path:
    """The venv's python with ``feast[redis]==FEAST_VERSION`` importable, installing it there if needed.

    Raises :class:`FeastUnavailable` with the reason when the venv cannot be created or Feast cannot be installed.
    """
    venv = Path(venv)
    python = venv / "bin" / "python"

    def installed() -> str | None:
        if not python.exists():
            return None
        done = subprocess.run([str(python), "-c", "import importlib.metadata as m; print(m.version('feast'))"],
                              capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else None

    version = installed()
    if version == FEAST_VERSION:
        return python
    if not install:
        raise FeastUnavailable(f"no feast=={FEAST_VERSION} in {venv} (found {version or 'none'}); "
                               "run without --no-install to create it")
    print(f"installing feast[redis]=={FEAST_VERSION} into {venv} (once) ...", file=sys.stderr, flush=True)
    steps = [] if python.exists() else [[sys.executable, "-m", "venv", str(venv)]]
    steps.append([str(venv / "bin" / "pip"), "install", "-q", f"feast[redis]=={FEAST_VERSION}"])
    for cmd in steps:
        try:
            done = subprocess.run(cmd, capture_output=True, text=True)
        except OSError as e:
            raise FeastUnavailable(f"could not run {cmd[0]}: {e}") from e
        if done.returncode != 0:
            tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
            raise FeastUnavailable(f"`{' '.join(cmd)}` failed (exit {done.returncode}):\n{tail}")
    version = installed()
    if version != FEAST_VERSION:
        raise FeastUnavailable(f"after pip install, {python} reports feast {version or 'not importable'}")
    return python
