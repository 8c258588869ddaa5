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

    @classmethod
    def build(
        cls,
        project: str,
        version: int,
        objects: Iterable[Entity | DataSource | FeatureView | FeatureService],
    ) -> RegistrySnapshot:
        objs = list(objects)
        return cls(
            project=project,
            version=version,
            entities=_frozen(o for o in objs if isinstance(o, Entity)),
            data_sources=_frozen(o for o in objs if isinstance(o, DataSource)),
            feature_views=_frozen(o for o in objs if isinstance(o, FeatureView)),
            feature_services=_frozen(o for o in objs if isinstance(o, FeatureService)),
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
        return self._get(self.feature_views, name, "feature view", FeatureViewNotFoundError)

    def get_feature_service(self, name: str) -> FeatureService:
        return self._get(self.feature_services, name, "feature service", FeatureServiceNotFoundError)

    def get_data_source(self, name: str) -> DataSource:
        return self._get(self.data_sources, name, "data source", ObjectNotFoundError)

    def objects(self) -> list[Entity | DataSource | FeatureView | FeatureService]:
        return [
            *self.entities.values(),
            *self.data_sources.values(),
            *self.feature_views.values(),
            *self.feature_services.values(),
        ]
