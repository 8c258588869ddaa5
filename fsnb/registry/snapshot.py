"""An immutable, versioned view of one project's definitions: what readers hold between registry refreshes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TypeVar

from fsnb.definitions import DataSource, Entity, FeatureService, FeatureView
from fsnb.errors import (
    EntityNotFoundError,
    FeatureServiceNotFoundError,
    FeatureViewNotFoundError,
    ObjectNotFoundError,
)
from fsnb.on_demand import OnDemandFeatureView

__all__ = ["RegistrySnapshot"]

T = TypeVar("T")


def _frozen(items: Iterable[T]) -> Mapping[str, T]:
    return MappingProxyType({i.name: i for i in items})  # type: ignore[attr-defined]


@dataclass(frozen=True, eq=False)
class RegistrySnapshot:
    """Everything applied to ``project`` as of registry ``version``. Never mutated; a refresh makes a new one."""

    project: str
    version: int
    entities: Mapping[str, Entity] = field(default_factory=lambda: MappingProxyType({}))
    data_sources: Mapping[str, DataSource] = field(default_factory=lambda: MappingProxyType({}))
    feature_views: Mapping[str, FeatureView] = field(default_factory=lambda: MappingProxyType({}))
    feature_services: Mapping[str, FeatureService] = field(default_factory=lambda: MappingProxyType({}))
    on_demand_feature_views: Mapping[str, OnDemandFeatureView] = field(default_factory=lambda: MappingProxyType({}))
    #: the stored twins of the on-demand views with ``write_to_online_store=True`` (see ``stored_view``)
    written_views: Mapping[str, FeatureView] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def build(
        cls,
        project: str,
        version: int,
        objects: Iterable[Entity | DataSource | FeatureView | FeatureService | OnDemandFeatureView],
    ) -> RegistrySnapshot:
        objs = list(objects)
        views = {o.name: o for o in objs if isinstance(o, FeatureView)}
        written = [
            o.stored_view(views[o.sources[0].name]) for o in objs
            if isinstance(o, OnDemandFeatureView) and o.write_to_online_store and o.sources[0].name in views
        ]
        return cls(
            project=project,
            version=version,
            entities=_frozen(o for o in objs if isinstance(o, Entity)),
            data_sources=_frozen(o for o in objs if isinstance(o, DataSource)),
            feature_views=_frozen(o for o in objs if isinstance(o, FeatureView)),
            feature_services=_frozen(o for o in objs if isinstance(o, FeatureService)),
            on_demand_feature_views=_frozen(o for o in objs if isinstance(o, OnDemandFeatureView)),
            written_views=_frozen(written),
        )

    def _get(self, table: Mapping[str, T], name: str, kind: str, err: type[ObjectNotFoundError]) -> T:
        try:
            return table[name]
        except KeyError:
            known = ", ".join(sorted(table)) or "none"
            raise err(
                f"no {kind} named {name!r} in project {self.project!r} (known: {known}); "
                "did you run `fsnb apply`?"
            ) from None

    def get_entity(self, name: str) -> Entity:
        return self._get(self.entities, name, "entity", EntityNotFoundError)

    def get_feature_view(self, name: str) -> FeatureView:
        if name not in self.feature_views and name in self.on_demand_feature_views:
            raise FeatureViewNotFoundError(
                f"{name!r} is an on-demand feature view of project {self.project!r}, not a stored one: it has no "
                "rows to materialize, push or write"
            )
        return self._get(self.feature_views, name, "feature view", FeatureViewNotFoundError)

    def get_on_demand_feature_view(self, name: str) -> OnDemandFeatureView:
        return self._get(self.on_demand_feature_views, name, "on-demand feature view", FeatureViewNotFoundError)

    def stored_view(self, name: str) -> FeatureView:
        """The view whose rows are online under ``name``: a feature view, or a written on-demand view's twin."""
        view = self.written_views.get(name)
        return view if view is not None else self.get_feature_view(name)

    def written_from(self, view: str) -> list[OnDemandFeatureView]:
        """The ``write_to_online_store`` on-demand views computed from ``view``'s rows."""
        return [o for o in self.on_demand_feature_views.values()
                if o.write_to_online_store and o.sources[0].name == view]

    def any_view(self, name: str) -> FeatureView | OnDemandFeatureView:
        """The stored or on-demand view called ``name``."""
        view = self.feature_views.get(name) or self.on_demand_feature_views.get(name)
        if view is None:
            known = ", ".join(sorted([*self.feature_views, *self.on_demand_feature_views])) or "none"
            raise FeatureViewNotFoundError(
                f"no feature view named {name!r} in project {self.project!r} (known: {known}); "
                "did you run `fsnb apply`?"
            )
        return view

    def get_feature_service(self, name: str) -> FeatureService:
        return self._get(self.feature_services, name, "feature service", FeatureServiceNotFoundError)

    def get_data_source(self, name: str) -> DataSource:
        return self._get(self.data_sources, name, "data source", ObjectNotFoundError)

    def objects(self) -> list[Entity | DataSource | FeatureView | FeatureService | OnDemandFeatureView]:
        return [
            *self.entities.values(),
            *self.data_sources.values(),
            *self.feature_views.values(),
            *self.on_demand_feature_views.values(),
            *self.feature_services.values(),
        ]
