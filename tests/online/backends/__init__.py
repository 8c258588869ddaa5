"""Per-backend test configuration for the online conformance suite: one module per backend, each with a
``TestConf`` (an :class:`OnlineStoreTest`). A new backend adds ``tests/online/backends/<name>.py``; the suite
(``tests/integration/test_online_conformance.py``) runs over every module found here.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, ClassVar

import pytest

import fsnb
from fsnb.config import Config, OnlineStoreConfig
from tests.unit.test_online_support import PROJECT, snapshot, use_snapshot

#: every backend the suite runs against: the modules of this folder.
BACKENDS = sorted(p.stem for p in Path(__file__).parent.glob("*.py") if not p.stem.startswith("_"))


class OnlineStoreTest:
    """How the suite opens a store over one backend: subclasses set ``name`` and ``online_store``."""

    name: ClassVar[str]

    def online_store(self, request: pytest.FixtureRequest) -> OnlineStoreConfig:
        """The backend's config for one test (``request`` gives access to fixtures such as ``redis_url``)."""
        raise NotImplementedError

    def make_store(self, request: pytest.FixtureRequest, objects: list[Any] | None = None) -> fsnb.Store:
        """A store over this backend reading the shared test definitions."""
        store = fsnb.Store(config=Config(project=PROJECT, online_store=self.online_store(request)))
        use_snapshot(store, snapshot(objects))
        return store


def declared_gaps(request: pytest.FixtureRequest, kind: str) -> None:
    """Apply the test's ``never`` / ``notimpl`` markers for backend ``kind``; a name no backend has is an error.

    ``@pytest.mark.never(["remote"], reason=...)``: the behaviour does not apply to that backend (skipped).
    ``@pytest.mark.notimpl(["sqlite"], raises=Error, reason=...)``: not there yet (a strict xfail).
    """
    for mark in request.node.iter_markers():
        if mark.name not in ("never", "notimpl"):
            continue
        names = list(mark.args[0]) if mark.args else []
        unknown = sorted(set(names) - set(BACKENDS))
        if unknown:
            raise ValueError(
                f"{request.node.nodeid}: @{mark.name} names unknown backend(s) {unknown}; known: {BACKENDS}"
            )
        if kind not in names:
            continue
        reason = mark.kwargs.get("reason", "")
        if mark.name == "never":
            pytest.skip(f"never on {kind}: {reason}")
        request.applymarker(pytest.mark.xfail(raises=mark.kwargs.get("raises"), strict=True, reason=reason))


def load(name: str) -> OnlineStoreTest:
    """The ``TestConf`` of backend ``name``; unknown names are an error, not a silent skip."""
    if name not in BACKENDS:
        raise ValueError(f"unknown online backend {name!r} in the online suite; known: {BACKENDS}")
    conf = importlib.import_module(f"{__name__}.{name}").TestConf()
    assert isinstance(conf, OnlineStoreTest) and conf.name == name, f"{name}.TestConf must be named {name!r}"
    return conf
