"""Fork safety for stores that hold connections: a forked child forgets what it inherited.

A store calls :func:`forget_after_fork` once when it opens; after ``os.fork()`` the child calls each live store's
``_forget_connections()`` (one hook per process, checked once per fork instead of a ``getpid()`` per call).
"""

from __future__ import annotations

import os
import weakref
from typing import Protocol

__all__ = ["forget_after_fork"]


class _HoldsConnections(Protocol):
    def _forget_connections(self) -> None: ...


_live: weakref.WeakSet[_HoldsConnections] = weakref.WeakSet()


def forget_after_fork(store: _HoldsConnections) -> None:
    """Have ``store._forget_connections()`` called in every child forked while ``store`` is alive."""
    _live.add(store)


def _after_fork_in_child() -> None:
    for store in list(_live):
        store._forget_connections()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
