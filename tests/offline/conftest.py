"""The offline conformance suite: every test here runs once per engine in ``ENGINES``.

``@pytest.mark.engines("duckdb")`` limits a test to some engines (for engine-specific sources or SQL); a name that
is not in ``ENGINES`` stops the run.
"""

from __future__ import annotations

import pytest

from tests.offline.engines import ENGINES, EngineTestConf, load


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "engines(*names): run this offline test only on these engines")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        for mark in item.iter_markers("engines"):
            unknown = sorted(set(mark.args) - set(ENGINES))
            if unknown:
                raise pytest.UsageError(f"{item.nodeid}: unknown offline engine(s) {unknown}; known: {ENGINES}")


@pytest.fixture(scope="module", params=ENGINES)
def engine_conf(request: pytest.FixtureRequest) -> EngineTestConf:
    return load(request.param)


@pytest.fixture(autouse=True)
def _only_on_marked_engines(request: pytest.FixtureRequest) -> None:
    mark = request.node.get_closest_marker("engines")
    if mark is not None and "engine_conf" in request.fixturenames:
        name = request.getfixturevalue("engine_conf").name
        if name not in mark.args:
            pytest.skip(f"not for the {name} offline engine")
