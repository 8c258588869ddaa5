"""``LocalServing``: online requests answered in this process, over the store's byte-level online store."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from fsnb.serving import read as pipeline
from fsnb.serving.base import ServingBackend

if TYPE_CHECKING:
    from fsnb._parts import StoreParts
    from fsnb.serving.response import OnlineResponse

__all__ = ["LocalServing"]


class LocalServing(ServingBackend):
    """The read pipeline of :mod:`fsnb.serving.read` and direct writes, over ``parts.online``."""

    def __init__(self, parts: StoreParts, *, logged: bool = True) -> None:
        self.parts = parts
        #: the served-feature log of direct reads (``Store(log_served=...)``; not with ``logged=False``), or None
        self.log: Any = None
        self._logged_snapshot: Any = None
        logging = getattr(parts, "log_served", None) if logged else None
        if logging is not None:
            from fsnb.served_log.writer import open_writer

            self.log = open_writer(logging, parts)

    def read(
        self,
        features: Any,
        entity_rows: Any,
        *,
        full_feature_names: bool = False,
        precomputed: bool | None = None,
        trace: dict[str, int] | None = None,
    ) -> OnlineResponse:
        if self.log is not None:
            return self._logged(features, entity_rows, full_feature_names, precomputed, trace)
        if trace is None:
            return pipeline.read(self.parts, features, entity_rows, full_feature_names, precomputed)
        return pipeline.read_traced(self.parts, features, entity_rows, full_feature_names, precomputed, trace)

    def _logged(self, features: Any, entity_rows: Any, full: bool, precomputed: bool | None,
                trace: dict[str, int] | None) -> OnlineResponse:
        now_us, t0 = time.time_ns() // 1000, time.perf_counter_ns()
        if trace is None:
            response = pipeline.read(self.parts, features, entity_rows, full, precomputed)
        else:
            response = pipeline.read_traced(self.parts, features, entity_rows, full, precomputed, trace)
        self._log(features, full, response, now_us, t0, entity_rows, "direct")
        return response

    def _log(self, features: Any, full: bool, response: OnlineResponse, now_us: int, t0: int, entity_rows: Any,
             mode: str) -> None:
        snapshot = self.parts.snapshot()  # cached: the read just took it
        if snapshot is not self._logged_snapshot:  # the registry changed: request shapes may have too
            self._logged_snapshot = snapshot
            self.log.forget_layouts()
        self.log.record(features, full, response, now_us, (time.perf_counter_ns() - t0) // 1000,
                        self.log.next_request_id(), mode, entities=entity_rows)

    async def read_async(
        self,
        features: Any,
        entity_rows: Any,
        *,
        full_feature_names: bool = False,
        precomputed: bool | None = None,
        trace: dict[str, int] | None = None,
    ) -> OnlineResponse:
        if self.log is None:
            return await pipeline.read_async(self.parts, features, entity_rows, full_feature_names, precomputed, trace)
        now_us, t0 = time.time_ns() // 1000, time.perf_counter_ns()
        response = await pipeline.read_async(self.parts, features, entity_rows, full_feature_names, precomputed,
                                             trace)
        self._log(features, full_feature_names, response, now_us, t0, entity_rows, "async")
        return response

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

    def unlogged(self) -> LocalServing:
        return self if self.log is None else LocalServing(self.parts, logged=False)

    def describe(self) -> str:
        return self.parts.online.describe()

    def close(self) -> None:
        if self.log is not None:
            self.log.close()

