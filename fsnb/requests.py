"""One feature-request model: every way of naming features means the same thing offline, online and remote.

``features`` may be

- a FeatureService, or a service name (a string without ``:``);
- a ``"view:feature"`` reference (a string with one ``:``);
- a FeatureView (all of its features) or a projection ``view[["a", "b"]]``;
- a list mixing references, views and projections.

:func:`feature_refs` reads that argument without a registry (the remote client sends its result as is);
:meth:`FeatureRequest.resolve` checks it against a registry snapshot. Output columns keep request order (service
order for a service); names are ``feature`` or, with ``full_feature_names``, ``view__feature``, and a name that
would appear twice is an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fsnb.definitions import FeatureService, FeatureView, FeatureViewProjection, Field
from fsnb.errors import EmptyRequestError, FeatureNotFoundError, RequestError

if TYPE_CHECKING:
    from fsnb.registry.snapshot import RegistrySnapshot

__all__ = ["FeatureRequest", "ViewRequest", "feature_refs", "output_name"]


def output_name(view: str, feature: str, full_feature_names: bool) -> str:
    """The output column of ``view:feature``."""
    return f"{view}__{feature}" if full_feature_names else feature


def feature_refs(features: Any) -> FeatureService | str | tuple[str, ...]:
    """``features`` without a registry: a FeatureService, a service name, or ``view:feature`` refs in request order.

    Raises :class:`fsnb.errors.RequestError` for a malformed or repeated reference and
    :class:`fsnb.errors.EmptyRequestError` for an empty request.
    """
    if isinstance(features, FeatureService):
        return features
    if isinstance(features, str):
        if ":" not in features:
            if not features:
                raise EmptyRequestError("no features requested: pass 'view:feature' references or a FeatureService")
            return features
        features = [features]
    elif isinstance(features, (FeatureView, FeatureViewProjection)):
        features = [features]
    if not isinstance(features, Sequence) or isinstance(features, (bytes, bytearray)):
        raise RequestError(
            "features must be a FeatureService or its name, 'view:feature' references, feature views or "
            f"projections (view[['a', 'b']]), got {type(features).__name__}"
        )
    refs: list[str] = []
    for item in features:
        if isinstance(item, str):
            if item.count(":") != 1 or item.startswith(":") or item.endswith(":"):
                raise RequestError(f"feature reference {item!r} must have the form 'view:feature'")
            refs.append(item)
        elif isinstance(item, (FeatureView, FeatureViewProjection)):
            refs.extend(f"{item.name}:{f.name}" for f in item.features)
        else:
            raise RequestError(
                f"feature reference {item!r} must be a 'view:feature' string, a FeatureView or a projection"
            )
    if not refs:
        raise EmptyRequestError("no features requested: pass 'view:feature' references or a FeatureService")
    if len(set(refs)) != len(refs):
        twice = sorted({r for r in refs if refs.count(r) > 1})
        raise RequestError(f"feature(s) {twice} requested twice")
    return tuple(refs)


@dataclass(frozen=True)
class ViewRequest:
    """The features wanted from one view, with the output column name of each."""

    view: FeatureView
    fields: tuple[Field, ...]
    output_names: tuple[str, ...]


@dataclass(frozen=True)
class FeatureRequest:
    """A request resolved against a registry snapshot.

    ``views`` holds one :class:`ViewRequest` per view, in first-seen order; ``columns`` gives the output order as
    (index in ``views``, index in that view's fields).
    """

    views: tuple[ViewRequest, ...]
    columns: tuple[tuple[int, int], ...]
    service: FeatureService | None
    full_feature_names: bool

    @classmethod
    def resolve(
        cls, snapshot: RegistrySnapshot, features: Any, *, full_feature_names: bool = False
    ) -> FeatureRequest:
        """Check ``features`` against ``snapshot`` (views, features, output names); raises before any I/O."""
        spec = feature_refs(features)
        service: FeatureService | None = None
        if isinstance(spec, str):
            spec = snapshot.get_feature_service(spec)
        if isinstance(spec, FeatureService):
            service = spec
            pairs = [(p.name, f.name) for p in spec.projections for f in p.features]
        else:
            pairs = [tuple(r.split(":")) for r in spec]  # type: ignore[misc]
        index: dict[str, int] = {}
        wanted: list[tuple[FeatureView, list[Field]]] = []
        columns: list[tuple[int, int]] = []
        seen: dict[str, str] = {}
        for vname, fname in pairs:
            if vname not in index:
                index[vname] = len(wanted)
                wanted.append((snapshot.get_feature_view(vname), []))
            view, fields = wanted[index[vname]]
            field = next((f for f in view.features if f.name == fname), None)
            if field is None:
                where = f"feature service {service.name!r} uses {vname}:{fname}, but " if service else ""
                raise FeatureNotFoundError(
                    f"{where}feature view {vname!r} has no feature {fname!r} (it has {list(view.feature_names)})"
                    + ("; update the service and run `fsnb apply`" if service else "")
                )
            out = output_name(vname, fname, full_feature_names)
            if out in seen:
                raise RequestError(
                    f"output column {out!r} would come from both {seen[out]!r} and {vname!r}: "
                    "pass full_feature_names=True to get 'view__feature' names"
                )
            seen[out] = vname
            columns.append((index[vname], len(fields)))
            fields.append(field)
        views = tuple(
            ViewRequest(view, tuple(fields), tuple(output_name(view.name, f.name, full_feature_names) for f in fields))
            for view, fields in wanted
        )
        return cls(views, tuple(columns), service, bool(full_feature_names))

    @property
    def output_names(self) -> tuple[str, ...]:
        """Output column names of the features, in output order."""
        return tuple(self.views[v].output_names[i] for v, i in self.columns)

    @property
    def refs(self) -> tuple[str, ...]:
        """``view:feature`` references, in output order."""
        return tuple(f"{self.views[v].view.name}:{self.views[v].fields[i].name}" for v, i in self.columns)

    @property
    def join_keys(self) -> tuple[Field, ...]:
        """The join keys of the requested views, first-seen order."""
        keys: dict[str, Field] = {}
        for r in self.views:
            for f in r.view.entity_columns:
                keys.setdefault(f.name, f)
        return tuple(keys.values())
