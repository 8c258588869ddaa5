"""``OfflineEngine``: what fsnb asks of an offline engine, one method per operation.

Callers say *what* they need (a source's schema, a training set, the latest row per entity in a window, the
entities with rows in some windows, an append); how it is computed, and in which SQL dialect, is the engine's
business and lives in its own folder (``fsnb/offline/duckdb/``). Engines are chosen by
``config.offline_store.type`` through the table in :mod:`fsnb.offline._engines`, and every engine runs the shared
conformance suite (``tests/offline/``).

Times given to an engine are datetimes, naive meaning UTC; times it returns are aware UTC datetimes. Streams
(``latest_rows``, ``distinct_keys``) are generators: close them (``contextlib.closing``) when stopping early.
Library errors come out as :class:`fsnb.errors.OfflineStoreError`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import pyarrow as pa

    from fsnb.config import Config
    from fsnb.definitions import DataSource, FeatureView
    from fsnb.offline.training import EntityFrame, TrainingJob
    from fsnb.requests import FeatureRequest

__all__ = ["BATCH_ROWS", "OfflineEngine", "ViewWindow"]

#: default rows per streamed Arrow record batch.
BATCH_ROWS = 65_536


@dataclass(frozen=True)
class ViewWindow:
    """The rows of ``view`` with event time in ``[start, end]`` (both inclusive; ``None`` = unbounded)."""

    view: FeatureView
    start: datetime | None = None
    end: datetime | None = None


class OfflineEngine(ABC):
    """An offline engine over the project's sources, built from the store's :class:`~fsnb.config.Config`.

    Opening one is cheap: connections are made on first use, so ``schema`` (run by ``fsnb apply``) does not take
    locks a long-running process may hold.
    """

    #: the ``offline_store.type`` this engine answers to.
    name: ClassVar[str]

    def __init__(self, config: Config) -> None:
        self.config = config

    @abstractmethod
    def describe(self) -> str:
        """One line saying what this engine is and where its data lives (for reprs and ``fsnb doctor``)."""

    @abstractmethod
    def check(self) -> str:
        """Run a trivial query without taking locks; returns :meth:`describe` plus the engine version."""

    @abstractmethod
    def schema(self, source: DataSource) -> pa.Schema | None:
        """The Arrow schema of the rows ``source`` yields, read without loading data.

        ``None`` for a PushSource whose batch files do not exist yet (its first push creates them).
        """

    @abstractmethod
    def query(self, sql: str) -> pa.Table:
        """The result of a query in the engine's own dialect (``entity_df`` given as a query string)."""

    def training_set(
        self, entity_df: Any, request: FeatureRequest, *, timestamp_column: str | None = None
    ) -> TrainingJob:
        """A point-in-time-correct training set: every row of ``entity_df``, in order, then the features.

        ``entity_df`` is a pandas DataFrame, an Arrow table or a query (:meth:`query`); ``timestamp_column``
        defaults to ``event_timestamp`` or the frame's only timestamp column. Request errors are raised here,
        before any query; the join runs on the job's first ``to_df()`` / ``to_arrow()``.
        """
        from fsnb.offline.training import EntityFrame

        entity = self.query(entity_df) if isinstance(entity_df, str) else entity_df
        return self.point_in_time(EntityFrame.build(entity, request, timestamp_column), request)

    @abstractmethod
    def point_in_time(self, entity: EntityFrame, request: FeatureRequest) -> TrainingJob:
        """The training job for a checked entity frame (see :meth:`training_set` and ``docs`` of ``pit``).

        For each entity row at time T and each view: the row with the greatest event time ``<= T`` (ties: the
        greatest created timestamp, nulls lose), its features kept only if its event time is ``>= T - ttl``.
        """

    @abstractmethod
    def latest_rows(
        self, view: FeatureView, start: datetime | None, end: datetime | None, *, batch_size: int = BATCH_ROWS
    ) -> Generator[pa.RecordBatch, None, None]:
        """One row per entity of ``view``: its latest row with event time in ``[start, end]``, streamed.

        Columns: the join keys, the features, and the event time (timestamp, UTC) under the source's timestamp
        column name. Rows with a null join key are left out. Memory grows with the entities, not the rows.
        """

    @abstractmethod
    def min_event_time(self, view: FeatureView) -> datetime | None:
        """The earliest event time of ``view``'s rows (aware UTC), or ``None`` when it has none."""

    @abstractmethod
    def distinct_keys(
        self, windows: Sequence[ViewWindow], *, limit: int | None = None, batch_size: int = BATCH_ROWS
    ) -> Generator[pa.RecordBatch, None, None]:
        """The distinct join-key tuples with a row in any of ``windows`` (views sharing their join keys), streamed.

        Tuples with a null key are left out; ``limit`` caps how many come back (which ones is unspecified).
        """

    @abstractmethod
    def append(self, source: DataSource, table: pa.Table) -> str:
        """Append ``table`` (conformed to :meth:`schema`) where ``source``'s batch data lives; returns where."""

    @abstractmethod
    def close(self) -> None:
        """Release connections; the engine cannot be used afterwards."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.describe()})"
