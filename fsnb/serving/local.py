"""``LocalServing``: online requests answered in this process, over the store's byte-level online store."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fsnb.serving import read as pipeline
from fsnb.serving.base import ServingBackend

if TYPE_CHECKING:
    from fsnb._parts import StoreParts
    from fsnb.serving.response import OnlineResponse

__all__ = ["LocalServing"]


class LocalServing(ServingBackend):
    """The read pipeline of :mod:`fsnb.serving.read` and direct writes, over ``parts.online``."""

    def __init__(self, parts: StoreParts) -> None:
        self.parts = parts

    def read(
        self,
        features: Any,
        entity_rows: Any,
        *,
        full_feature_names: bool = False,
        precomputed: bool | None = None,
        trace: dict[str, int] | None = None,
    ) -> OnlineResponse:
        if trace is None:
            return pipeline.read(self.parts, features, entity_rows, full_feature_names, precomputed)
        return pipeline.read_traced(self.parts, features, entity_rows, full_feature_names, precomputed, trace)

    async def read_async(
        self,
        features: Any,
        entity_rows: Any,
        *,
        full_feature_names: bool = False,
        precomputed: bool | None = None,
        trace: dict[str, int] | None = None,
    ) -> OnlineResponse:
        return await pipeline.read_async(self.parts, features, entity_rows, full_feature_names, precomputed, trace)

    def write(self, view: Any, df: Any) -> int:
        from fsnb.online.vectors import refresh_vectors
        from fsnb.online.writes import WriteResult, table_from, write_view

        if isinstance(view, str):
            view = self.parts.snapshot().get_feature_view(view)
        done = write_view(self.parts, view, table_from(df), timestamp_column=view.source.timestamp_field, fresh=True)
        refresh_vectors(self.parts, done.keys, views=[view.name])
        return WriteResult(len(done.keys), done.written, done.ignored)

    def push(self, source: Any, df: Any, *, to: str = "online") -> int:
        from fsnb.push import push

        return push(self.parts, source, df, to=to)

    def describe(self) -> str:
        return self.parts.online.describe()
