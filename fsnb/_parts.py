"""``StoreParts``: the parts of a store an operation may use (typing only).

Operations (reads, writes, materialization, push, apply) take this protocol instead of the whole
:class:`fsnb.Store`, so they depend on the parts and not on the facade above them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from fsnb.config import Config
    from fsnb.offline.base import OfflineEngine
    from fsnb.online.base import OnlineStore
    from fsnb.registry.registry import Registry
    from fsnb.registry.snapshot import RegistrySnapshot

__all__ = ["StoreParts"]


class StoreParts(Protocol):
    """Configuration, registry, online byte store, offline engine and the read-plan cache of one store."""

    config: Config

    @property
    def project(self) -> str: ...

    @property
    def registry(self) -> Registry: ...

    @property
    def online(self) -> OnlineStore: ...

    @property
    def offline(self) -> OfflineEngine: ...

    @property
    def plans(self) -> dict[Any, Any]: ...

    def snapshot(self) -> RegistrySnapshot: ...
