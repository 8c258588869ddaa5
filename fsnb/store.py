"""The ``Store`` facade: one object for definitions, training sets, materialization and online reads.

It holds the configuration and lazily opens the parts (registry, online store, offline store); every method
delegates to the module that owns the work.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fsnb.config import Config, load_config
from fsnb.definitions import DataSource, Entity, FeatureService, FeatureView, FeatureViewProjection
from fsnb.on_demand import OnDemandFeatureView

if TYPE_CHECKING:
    import pandas as pd

    from fsnb.offline.base import OfflineEngine
    from fsnb.online.base import OnlineStore
    from fsnb.registry.registry import ApplyPlan, Registry
    from fsnb.registry.snapshot import RegistrySnapshot
    from fsnb.serving.base import ServingBackend
    from fsnb.serving.response import OnlineResponse

__all__ = ["Store"]

Definition = Entity | DataSource | FeatureView | FeatureService | OnDemandFeatureView
Features = (
    str | Sequence[str | FeatureView | FeatureViewProjection] | FeatureView | FeatureViewProjection | FeatureService
)


class Store:
    """A feature store: ``fsnb.Store()`` runs on embedded defaults in the current folder.

    Parameters
    ----------
    path:
        The feature repo folder (holding ``fsnb.yaml``) or the YAML file itself. Defaults to the current folder.
    project, registry, online_store, offline_store, feature_server:
        Override the file's sections; ``online_store`` and ``registry`` also take a URL string
        (``"redis://127.0.0.1:6379/0"``, ``"postgresql://..."``).
    spark:
        An existing ``SparkSession`` for the Spark offline engine (implies ``offline_store.type: spark``).
    log_served:
        Log this store's direct reads to the served-feature log: ``True`` (the ``feature_server.logging``
        settings) or a mapping of those keys (``{"sample_rate": 0.1}``).

    >>> store = fsnb.Store("examples/banking", online_store="redis://127.0.0.1:6379/0")
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        config: Config | None = None,
        spark: Any = None,
        log_served: Any = None,
        **overrides: Any,
    ) -> None:
        self.config: Config = config if config is not None else load_config(path, **overrides)
        if spark is not None and self.config.offline_store.type != "spark":
            import dataclasses

            offline = dataclasses.replace(self.config.offline_store, type="spark")
            self.config = dataclasses.replace(self.config, offline_store=offline)
        self._spark = spark
        self._lock = threading.RLock()
        self._registry: Registry | None = None
        self._online: OnlineStore | None = None
        self._offline: OfflineEngine | None = None
        self._serving: ServingBackend | None = None
        self._plans: dict[Any, Any] = {}
        from fsnb.served_log.layout import logging_config

        #: served-feature logging of this store's direct reads (``log_served=``: True, a mapping or None).
        self.log_served = logging_config(log_served, self.config)

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str], **overrides: Any) -> Store:
        """A store from a ``fsnb.yaml`` file (or the folder holding it)."""
        return cls(path, **overrides)

    @property
    def project(self) -> str:
        return self.config.project

    # ------------------------------------------------------------------------------------------------ parts

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            with self._lock:
                if self._registry is None:
                    from fsnb.registry.registry import Registry

                    self._registry = Registry(
                        self.config.registry.url,
                        project=self.project,
                        cache_ttl_seconds=self.config.registry.cache_ttl_seconds,
                    )
        return self._registry

    @property
    def online(self) -> OnlineStore:
        """The byte-level online store (what materialize, vector builds and the server write to and read from).

        Raises :class:`fsnb.errors.ConfigError` when the configured online store is a remote feature server.
        """
        if self._online is None:
            with self._lock:
                if self._online is None:
                    from fsnb.online.factory import open_online_store

                    self._online = open_online_store(self.config)
        return self._online

    @property
    def serving(self) -> ServingBackend:
        """The backend that answers online requests: local (over :attr:`online`) or a remote feature server."""
        return self._serving or self._open_serving()

    def _open_serving(self) -> ServingBackend:
        with self._lock:
            if self._serving is None:
                from fsnb.online._backends import online_backend

                backend = online_backend(self.config.online_store.type)
                if backend.serves_requests:
                    self._serving = backend.load()(self.config.online_store)
                else:
                    from fsnb.serving.local import LocalServing

                    self._serving = LocalServing(self)
            return self._serving

    @property
    def plans(self) -> dict[Any, Any]:
        """Compiled read plans of this store, by request shape and registry version."""
        return self._plans

    @property
    def offline(self) -> OfflineEngine:
        """The offline engine ``offline_store.type`` names (connections open on first use)."""
        if self._offline is None:
            with self._lock:
                if self._offline is None:
                    from fsnb.offline import open_engine
                    from fsnb.offline._engines import engine_class

                    if self._spark is None:
                        self._offline = open_engine(self.config)
                    else:  # the engine runs on the session the caller gave
                        self._offline = engine_class("spark")(self.config, spark=self._spark)  # type: ignore[call-arg]
        return self._offline

    def snapshot(self) -> RegistrySnapshot:
        """The current registry snapshot (cached; refreshed after ``registry.cache_ttl_seconds``)."""
        return self.registry.snapshot()

    def refresh_registry(self) -> RegistrySnapshot:
        """Reload the registry now, ignoring the cache TTL."""
        return self.registry.refresh()

    # ------------------------------------------------------------------------------------------ definitions

    def apply(self, objects: Definition | Sequence[Definition], *, prune: bool = False) -> ApplyPlan:
        """Validate ``objects`` (references and real source schemas) and write them in one transaction.

        With ``prune=True`` objects of the project that are not in ``objects`` are deleted.
        """
        from fsnb.registry.apply import apply

        return apply(self, objects, prune=prune)

    def plan(self, objects: Definition | Sequence[Definition], *, prune: bool = False) -> ApplyPlan:
        """What :meth:`apply` would add, change and remove, without writing anything."""
        from fsnb.registry.apply import plan

        return plan(self, objects, prune=prune)

    def list_entities(self) -> list[Entity]:
        return list(self.snapshot().entities.values())

    def list_data_sources(self) -> list[DataSource]:
        return list(self.snapshot().data_sources.values())

    def list_feature_views(self) -> list[FeatureView]:
        return list(self.snapshot().feature_views.values())

    def list_feature_services(self) -> list[FeatureService]:
        return list(self.snapshot().feature_services.values())

    def get_entity(self, name: str) -> Entity:
        return self.snapshot().get_entity(name)

    def get_feature_view(self, name: str) -> FeatureView:
        return self.snapshot().get_feature_view(name)

    def get_feature_service(self, name: str) -> FeatureService:
        return self.snapshot().get_feature_service(name)

    def get_data_source(self, name: str) -> DataSource:
        return self.snapshot().get_data_source(name)

    # ------------------------------------------------------------------------------------------ online reads

    def get_online_features(
        self,
        features: Features,
        entity_rows: Any,
        *,
        full_feature_names: bool = False,
        precomputed: bool | None = None,
        trace: dict[str, int] | None = None,
    ) -> OnlineResponse:
        """Read the latest feature values for ``entity_rows`` in one round trip.

        ``features`` is a ``"view:feature"`` reference or a list of them (feature views and ``view[["a"]]``
        projections too), a FeatureService or a service name; ``entity_rows`` a list of dicts, a dict of lists or
        a DataFrame of join keys. A service with ``precompute_online=True`` is read from its vectors unless
        ``precomputed=False``. ``trace``, when a dict, receives the nanoseconds of each stage (``plan``,
        ``encode_keys``, ``round_trip``, ``decode``, ``assemble``).
        """
        return (self._serving or self._open_serving()).read(
            features, entity_rows, full_feature_names=full_feature_names, precomputed=precomputed, trace=trace
        )

    async def get_online_features_async(
        self,
        features: Features,
        entity_rows: Any,
        *,
        full_feature_names: bool = False,
        precomputed: bool | None = None,
        trace: dict[str, int] | None = None,
    ) -> OnlineResponse:
        """:meth:`get_online_features` on the event loop (redis.asyncio; no thread hop)."""
        return await (self._serving or self._open_serving()).read_async(
            features, entity_rows, full_feature_names=full_feature_names, precomputed=precomputed, trace=trace
        )

    def write_to_online_store(self, view: FeatureView | str, df: pd.DataFrame) -> int:
        """Write rows of ``view`` (join keys, features, the source's timestamp column) straight to the online store.

        Rows older than what is stored are ignored; precomputed vectors of affected services are refreshed.
        """
        return self.serving.write(view, df)

    def build_vectors(self, service: FeatureService | str, *, progress: bool = True) -> int:
        """(Re)build the precomputed vectors of ``service`` for every entity with rows online."""
        from fsnb.online.vectors import build_vectors

        return build_vectors(self, service, progress=progress)

    # ------------------------------------------------------------------------------------- offline, writes

    def get_historical_features(
        self, entity_df: Any, features: Features, *, full_feature_names: bool = False
    ) -> Any:
        """A point-in-time-correct training set for ``entity_df`` (join keys + an event timestamp column).

        ``entity_df`` is a pandas DataFrame, an Arrow table or a query the offline engine runs; ``features`` takes
        every form ``get_online_features`` takes and names the same columns. Returns a ``TrainingJob``
        (``to_df()``, ``to_arrow()``): the entity frame's columns, then the features in request order.

        >>> store.get_historical_features(orders_df, "realtime_scoring").to_df()
        """
        from fsnb.offline.training import training_set
        from fsnb.requests import FeatureRequest

        request = FeatureRequest.resolve(self.snapshot(), features, full_feature_names=full_feature_names)
        return training_set(self.offline, entity_df, request)

    def materialize(
        self,
        start: datetime | str,
        end: datetime | str,
        views: Sequence[str] | None = None,
        *,
        progress: bool = True,
    ) -> pd.DataFrame:
        """Load the latest value per entity with event time in [start, end] into the online store."""
        from fsnb.materialize import materialize

        return materialize(self, start, end, views, progress=progress)

    def materialize_incremental(
        self, end: datetime | str, views: Sequence[str] | None = None, *, progress: bool = True
    ) -> pd.DataFrame:
        """Materialize each view from its watermark (or its TTL before ``end``) up to ``end``."""
        from fsnb.materialize import materialize_incremental

        return materialize_incremental(self, end, views, progress=progress)

    def push(self, source: str | DataSource, df: pd.DataFrame, *, to: str = "online") -> int:
        """Push rows to the views fed by ``source``: ``to`` is "online", "offline" or "online_and_offline"."""
        return self.serving.push(source, df, to=to)

    # ------------------------------------------------------------------------------------------- notebook

    def profile(self, features: Features, **options: Any) -> Any:
        """Measure online-read latency across access modes and batch sizes; returns a ``LatencyReport``."""
        from fsnb.notebook.profiler import profile

        return profile(self, features, **options)

    def latency_explorer(self, **options: Any) -> Any:
        """An ipywidgets UI that runs the profiler and plots the results (``options`` preset its controls)."""
        from fsnb.notebook.explorer import latency_explorer

        return latency_explorer(self, **options)

    def parity_check(self, features: Features, **options: Any) -> Any:
        """Compare training-set values with online values per feature; returns a ``ParityReport``.

        ``served=(since, until)`` or a served-log DataFrame compares what was served with the training row as of
        each logged request time instead.
        """
        from fsnb.notebook.parity import parity_check

        return parity_check(self, features, **options)

    def served_log(self, features: Features, since: Any = None, until: Any = None) -> pd.DataFrame:
        """What reads of ``features`` served (the served-feature log), one row per entity row, oldest first."""
        from fsnb.served_log.reader import served_log

        return served_log(self, features, since, until)

    def drift_report(self, features: Features, *, reference: Any, current: Any, **options: Any) -> Any:
        """Per-feature drift (PSI, KS, category shift, null and NOT_FOUND rates) between ``reference`` (a
        training set, a served-log DataFrame or a ``(since, until)`` window of the log) and ``current``."""
        from fsnb.notebook.drift import drift_report

        return drift_report(self, features, reference=reference, current=current, **options)

    # ------------------------------------------------------------------------------------------- lifecycle

    def close(self) -> None:
        """Close connections to the registry and the stores."""
        for part in (self._serving, self._online, self._offline, self._registry):
            if part is not None:
                part.close()
        self._serving = None
        self._online = self._offline = self._registry = None
        self._plans.clear()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        from fsnb.config import redact_url

        return (
            f"Store(project={self.project!r}, registry={redact_url(self.config.registry.url)!r}, "
            f"online_store={self.config.online_store.describe()!r})"
        )

    def _repr_html_(self) -> str:
        from fsnb.notebook.reprs import store_html

        return store_html(self)
