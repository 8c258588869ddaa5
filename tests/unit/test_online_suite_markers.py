"""The online suite's gap markers: ``never`` skips, ``notimpl`` is a strict xfail, an unknown backend name fails."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from tests.online.backends import declared_gaps


class Request:
    """What ``declared_gaps`` reads of a pytest request: the node's markers, and where xfail marks go."""

    def __init__(self, *marks: Any) -> None:
        self.node = SimpleNamespace(nodeid="t::x", iter_markers=lambda: iter(marks))
        self.applied: list[Any] = []

    def applymarker(self, mark: Any) -> None:
        self.applied.append(mark)


def test_never_skips_only_the_named_backend() -> None:
    request = Request(pytest.mark.never(["remote"], reason="bytes only").mark)
    declared_gaps(request, "redis")  # type: ignore[arg-type]
    with pytest.raises(pytest.skip.Exception, match="never on remote: bytes only"):
        declared_gaps(request, "remote")  # type: ignore[arg-type]


def test_notimpl_is_a_strict_xfail() -> None:
    request = Request(pytest.mark.notimpl(["sqlite"], raises=NotImplementedError, reason="later").mark)
    declared_gaps(request, "sqlite")  # type: ignore[arg-type]
    [mark] = request.applied
    assert mark.name == "xfail" and mark.kwargs["strict"] and mark.kwargs["raises"] is NotImplementedError


def test_an_unknown_backend_name_is_an_error() -> None:
    request = Request(pytest.mark.never(["dynamo"]).mark)
    with pytest.raises(ValueError, match=r"unknown backend\(s\) \['dynamo'\]"):
        declared_gaps(request, "redis")  # type: ignore[arg-type]
