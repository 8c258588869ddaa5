"""What a request reads (service or feature refs → views), and entity keys drawn from what was materialized.

Shared by the profiler and the parity check: both need the views behind a request and a reproducible sample of
entities that exist offline (and, after materialization, online).
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fsnb.definitions import FeatureService, FeatureView, Field
from fsnb.errors import RequestError
from fsnb.on_demand import OnDemandFeatureView
from fsnb.requests import FeatureRequest

if TYPE_CHECKING:
    from fsnb.store import Store

__all__ = ["Target", "entity_pool", "request_data", "resolve_target", "sample_keys"]

#: At most this many distinct keys are read from a source to sample from.
POOL_LIMIT = 1_000_000
#: pool size of a request of request data alone (every row the same empty key).
REQUEST_ONLY_POOL = 100_000


@dataclass(frozen=True)
class Target:
    """The features of a request: the argument as given, the service (if any), ``view:feature`` refs, the stored
    views it names, its on-demand views, the stored views read in all (on-demand views' sources too) and the request
    data its on-demand views take."""

    features: Any
    service: FeatureService | None
    refs: tuple[str, ...]
    views: tuple[FeatureView, ...]
    on_demand: tuple[OnDemandFeatureView, ...] = ()
    read_views: tuple[FeatureView, ...] = ()
    request_fields: tuple[Field, ...] = ()

    @property
    def named_views(self) -> tuple[FeatureView | OnDemandFeatureView, ...]:
        """The views the request names, stored then on-demand."""
        return (*self.views, *self.on_demand)

    @property
    def join_keys(self) -> tuple[str, ...]:
        keys: dict[str, None] = {}
        for v in self.read_views or self.views:
            keys.update(dict.fromkeys(v.join_keys))
        return tuple(keys)

    @property
    def label(self) -> str:
        if self.service is not None:
            return self.service.name
        return ", ".join(self.refs) if len(self.refs) <= 4 else f"{len(self.refs)} features"

    def features_of(self, view: str) -> tuple[str, ...]:
        return tuple(r.split(":", 1)[1] for r in self.refs if r.split(":", 1)[0] == view)


def resolve_target(store: Store, features: Any) -> Target:
    """Resolve ``features`` (any form :mod:`fsnb.requests` takes) against the store's registry."""
    # full names: views may share a feature name (reads name their own output columns)
    request = FeatureRequest.resolve(store.snapshot(), features, full_feature_names=True)
    views = tuple(r.view for r in request.views)
    extra = (tuple(t.view for t in request.transforms), tuple(r.view for r in request.base.views),
             request.request_fields)
    if request.service is not None:
        return Target(request.service, request.service, request.refs, views, *extra)
    return Target(list(request.refs), None, request.refs, views, *extra)


def request_data(fields: Sequence[Field], n: int, rng: random.Random) -> dict[str, list[Any]]:
    """Generated request data for on-demand views: ``n`` values per field, of its dtype, drawn with ``rng``."""
    from fsnb.transforms import sample_value

    return {f.name: [sample_value(f.dtype, rng) for _ in range(n)] for f in fields}


def _key_view(target: Target) -> FeatureView:
    keys = set(target.join_keys)
    for v in target.read_views or target.views:
        if set(v.join_keys) == keys:
            return v
    raise RequestError(
        f"cannot sample entities for {target.label}: no single feature view carries all join keys "
        f"{sorted(keys)}; pass entity_source= (a DataFrame of join keys)"
    )


def entity_pool(store: Store, target: Target, *, until: datetime | None = None) -> list[tuple[Any, ...]]:
    """Distinct join-key tuples of the view carrying every join key, read from its offline source, sorted.

    Only rows inside the view's materialized time range count (from the earliest recorded interval start to
    ``until``, default the watermark), so the keys are ones materialization has loaded. A view never materialized
    gives every key of its source.
    """
    from fsnb.offline.base import ViewWindow

    if not target.join_keys:  # on-demand views of request data only: each row is its (generated) request data
        return [()] * REQUEST_ONLY_POOL
    view = _key_view(target)
    since: datetime | None = None
    try:
        intervals = store.registry.materialization_intervals(view.name)
        if intervals:
            since = min(start for start, _ in intervals)
        if until is None:
            until = store.registry.watermark(view.name)
    except Exception:  # a registry without interval history: sample from the whole source
        pass
    keys: list[tuple[Any, ...]] = []
    batches = store.offline.distinct_keys([ViewWindow(view, since, until)], limit=POOL_LIMIT)
    with contextlib.closing(batches):
        for batch in batches:
            keys.extend(zip(*(batch.column(k).to_pylist() for k in view.join_keys)))
    return sorted(keys)


def keys_from(entity_source: Any, join_keys: Sequence[str]) -> list[tuple[Any, ...]]:
    """Key tuples from a DataFrame of join keys, a list of dicts, or a list of scalars (one join key)."""
    if hasattr(entity_source, "columns") and hasattr(entity_source, "itertuples"):
        missing = [k for k in join_keys if k not in entity_source.columns]
        if missing:
            raise RequestError(f"entity_source lacks join key column(s) {missing}")
        frame = entity_source[list(join_keys)].drop_duplicates()
        return [tuple(_py(x) for x in row) for row in frame.itertuples(index=False, name=None)]
    out: list[tuple[Any, ...]] = []
    for item in entity_source:
        if isinstance(item, dict):
            out.append(tuple(item[k] for k in join_keys))
        elif isinstance(item, tuple):
            out.append(item)
        else:
            if len(join_keys) != 1:
                raise RequestError(f"entity_source items must be dicts with keys {list(join_keys)}")
            out.append((item,))
    return list(dict.fromkeys(out))


def sample_keys(pool: Sequence[tuple[Any, ...]], n: int, rng: random.Random) -> list[tuple[Any, ...]]:
    """``n`` keys drawn from ``pool``: without replacement when the pool is big enough, else with."""
    if not pool:
        raise RequestError("no entities to sample from: materialize first, or pass entity_source=")
    return rng.sample(pool, n) if len(pool) >= n else rng.choices(pool, k=n)  # no copy: called per timed call


def rows_of(
    keys: Sequence[tuple[Any, ...]], join_keys: Sequence[str], request: dict[str, list[Any]] | None = None
) -> dict[str, list[Any]]:
    """Entity rows as a dict of lists (the cheapest form a request takes), with ``request`` data next to the keys
    (its lists cycled to the number of rows)."""
    rows = {k: [t[i] for t in keys] for i, k in enumerate(join_keys)}
    for name, values in (request or {}).items():
        rows[name] = [values[i % len(values)] for i in range(len(keys))]
    return rows


def _py(x: Any) -> Any:
    return x.item() if hasattr(x, "item") else x
