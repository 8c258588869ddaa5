"""Feature requests (``"view:feature"`` refs, a FeatureService, or a service name) resolved against a snapshot."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fsnb.definitions import FeatureService, FeatureView, Field
from fsnb.errors import EmptyRequestError, FeatureNotFoundError, RequestError

if TYPE_CHECKING:
    from fsnb.registry.snapshot import RegistrySnapshot

__all__ = ["ViewRequest", "resolve_features"]


@dataclass(frozen=True)
class ViewRequest:
    """The features wanted from one view, with the output column name of each."""

    view: FeatureView
    fields: tuple[Field, ...]
    output_names: tuple[str, ...]


def resolve_features(
    snapshot: RegistrySnapshot, features: Any, *, full_feature_names: bool = False
) -> list[ViewRequest]:
    """Group the requested features by view, in request order; output names are unique or this raises."""
    if isinstance(features, str):
        if ":" in features:
            features = [features]
        else:
            features = snapshot.get_feature_service(features)
    wanted: dict[str, list[str]] = {}
    if isinstance(features, FeatureService):
        for p in features.projections:
            wanted.setdefault(p.name, []).extend(p.feature_names)
    elif isinstance(features, Sequence):
        for ref in features:
            if not isinstance(ref, str) or ref.count(":") != 1:
                raise RequestError(f"feature reference {ref!r} must have the form 'view:feature'")
            view_name, feature = ref.split(":")
            names = wanted.setdefault(view_name, [])
            if feature in names:
                raise RequestError(f"feature {ref!r} is requested twice")
            names.append(feature)
    else:
        raise RequestError(
            f"features must be a list of 'view:feature' references, a FeatureService or its name, got {features!r}"
        )
    if not wanted:
        raise EmptyRequestError("no features requested: pass 'view:feature' references or a FeatureService")
    requests: list[ViewRequest] = []
    seen: dict[str, str] = {}
    for view_name, names in wanted.items():
        view = snapshot.get_feature_view(view_name)
        by_name = {f.name: f for f in view.features}
        fields = []
        for n in names:
            if n not in by_name:
                raise FeatureNotFoundError(
                    f"feature view {view_name!r} has no feature {n!r}; it has {sorted(by_name)}"
                )
            fields.append(by_name[n])
        outs = tuple(f"{view_name}__{n}" if full_feature_names else n for n in names)
        for out in outs:
            if out in seen:
                raise RequestError(
                    f"feature name {out!r} comes from both {seen[out]!r} and {view_name!r}: "
                    "pass full_feature_names=True to get view-prefixed column names"
                )
            seen[out] = view_name
        requests.append(ViewRequest(view, tuple(fields), outs))
    return requests
