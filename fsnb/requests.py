"""One feature-request model: every way of naming features means the same thing offline, online and remote.

``features`` may be

- a FeatureService, or a service name (a string without ``:``);
- a ``"view:feature"`` reference (a string with one ``:``);
- a FeatureView or OnDemandFeatureView (all of its features) or a projection ``view[["a", "b"]]``;
- a list mixing references, views and projections.

Features of on-demand views resolve into :class:`TransformRequest` entries; :attr:`FeatureRequest.base` is then
the stored-features request that feeds them (the requested stored features and the on-demand views' inputs, named
``view__feature``), which engines and read plans fetch before the transforms run.

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
from fsnb.errors import DefinitionError, EmptyRequestError, FeatureNotFoundError, RequestError
from fsnb.on_demand import OnDemandFeatureView

if TYPE_CHECKING:
    from fsnb.registry.snapshot import RegistrySnapshot

__all__ = ["FeatureRequest", "TransformRequest", "ViewRequest", "feature_refs", "output_name", "stored_service"]


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
    elif isinstance(features, (FeatureView, FeatureViewProjection, OnDemandFeatureView)):
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
        elif isinstance(item, (FeatureView, FeatureViewProjection, OnDemandFeatureView)):
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
class TransformRequest:
    """The features wanted from one on-demand view, and where its inputs come from.

    ``inputs`` pairs each stored input's name with its column in the base request (``view__feature``);
    ``request_fields`` are the request data it takes from the entity rows.
    """

    view: OnDemandFeatureView
    fields: tuple[Field, ...]
    output_names: tuple[str, ...]
    inputs: tuple[tuple[Field, str], ...]
    request_fields: tuple[Field, ...]

    @property
    def written(self) -> bool:
        """Whether online reads find its features stored (``write_to_online_store``) rather than computing them."""
        return self.view.write_to_online_store


@dataclass(frozen=True)
class FeatureRequest:
    """A request resolved against a registry snapshot.

    ``views`` holds one :class:`ViewRequest` per stored view and ``transforms`` one :class:`TransformRequest` per
    on-demand view, each in first-seen order; ``columns`` gives the output order as (index in ``views`` +
    ``transforms``, index in that view's fields). ``base`` is the stored request that feeds the transforms (the
    request itself when there are none).
    """

    views: tuple[ViewRequest, ...]
    columns: tuple[tuple[int, int], ...]
    service: FeatureService | None
    full_feature_names: bool
    transforms: tuple[TransformRequest, ...] = ()
    base_request: FeatureRequest | None = None
    online_base_request: FeatureRequest | None = None

    @property
    def base(self) -> FeatureRequest:
        """What offline engines fetch: this request, or the stored request behind its transforms."""
        return self.base_request or self

    @property
    def online_base(self) -> FeatureRequest:
        """What online reads fetch: :attr:`base`, except that ``write_to_online_store`` views are read as stored."""
        return self.online_base_request or self.base

    @classmethod
    def resolve(
        cls, snapshot: RegistrySnapshot, features: Any, *, full_feature_names: bool = False, stored: bool = False
    ) -> FeatureRequest:
        """Check ``features`` against ``snapshot`` (views, features, output names); raises before any I/O.

        ``stored`` resolves ``write_to_online_store`` views to their stored twins (what online reads fetch)."""
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
        wanted: list[tuple[Any, list[Field]]] = []
        columns: list[tuple[int, int]] = []
        seen: dict[str, str] = {}
        for vname, fname in pairs:
            if vname not in index:
                index[vname] = len(wanted)
                view = snapshot.written_views.get(vname) if stored else None
                wanted.append((view or snapshot.any_view(vname), []))
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
        if not any(isinstance(view, OnDemandFeatureView) for view, _ in wanted):
            views = tuple(
                ViewRequest(view, tuple(fs), tuple(output_name(view.name, f.name, full_feature_names) for f in fs))
                for view, fs in wanted
            )
            return cls(views, tuple(columns), service, bool(full_feature_names))
        return _with_transforms(snapshot, wanted, columns, service, bool(full_feature_names))

    def _part(self, v: int) -> ViewRequest | TransformRequest:
        n = len(self.views)
        return self.views[v] if v < n else self.transforms[v - n]

    @property
    def output_names(self) -> tuple[str, ...]:
        """Output column names of the features, in output order."""
        return tuple(self._part(v).output_names[i] for v, i in self.columns)

    @property
    def output_fields(self) -> tuple[tuple[str, Field], ...]:
        """(output name, field) of every feature, in output order."""
        return tuple((self._part(v).output_names[i], self._part(v).fields[i]) for v, i in self.columns)

    @property
    def refs(self) -> tuple[str, ...]:
        """``view:feature`` references, in output order."""
        return tuple(f"{self._part(v).view.name}:{self._part(v).fields[i].name}" for v, i in self.columns)

    @property
    def join_keys(self) -> tuple[Field, ...]:
        """The join keys of the views the request reads (on-demand views': their sources'), first-seen order."""
        keys: dict[str, Field] = {}
        for r in self.base.views:
            for f in r.view.entity_columns:
                keys.setdefault(f.name, f)
        return tuple(keys.values())

    @property
    def request_fields(self) -> tuple[Field, ...]:
        """The request data the on-demand views need, first-seen order."""
        fields: dict[str, Field] = {}
        for t in self.transforms:
            for f in t.request_fields:
                fields.setdefault(f.name, f)
        return tuple(fields.values())


def _with_transforms(
    snapshot: RegistrySnapshot,
    wanted: list[tuple[Any, list[Field]]],
    columns: list[tuple[int, int]],
    service: FeatureService | None,
    full_feature_names: bool,
) -> FeatureRequest:
    """A request with on-demand views: stored parts first, transforms after them, ``columns`` renumbered."""
    stored = [i for i, (v, _) in enumerate(wanted) if not isinstance(v, OnDemandFeatureView)]
    odfvs = [i for i, (v, _) in enumerate(wanted) if isinstance(v, OnDemandFeatureView)]
    renumber = {old: new for new, old in enumerate(stored + odfvs)}
    views = tuple(
        ViewRequest(v, tuple(fs), tuple(output_name(v.name, f.name, full_feature_names) for f in fs))
        for v, fs in (wanted[i] for i in stored)
    )
    base_refs = [f"{r.view.name}:{f.name}" for r in views for f in r.fields]
    online_refs = list(base_refs)
    transforms = []
    request_types: dict[str, tuple[str, Field]] = {}
    for i in odfvs:
        odfv, fields = wanted[i]
        inputs = []
        for proj in odfv.sources:
            view = snapshot.get_feature_view(proj.name)
            have = {f.name: f for f in view.features}
            for f in proj.features:
                if f.name not in have or have[f.name].dtype != f.dtype:
                    raise FeatureNotFoundError(
                        f"on-demand view {odfv.name!r} uses {proj.name}:{f.name} ({f.dtype.name}), which feature view "
                        f"{proj.name!r} does not have (it has {list(view.feature_names)}); apply the views again"
                    )
                ref = f"{proj.name}:{f.name}"
                if ref not in base_refs:
                    base_refs.append(ref)
                if not odfv.write_to_online_store and ref not in online_refs:
                    online_refs.append(ref)
                inputs.append((f, output_name(proj.name, f.name, True)))
        if odfv.write_to_online_store:
            online_refs.extend(f"{odfv.name}:{f.name}" for f in fields)
        for f in odfv.request_fields:
            prev = request_types.setdefault(f.name, (odfv.name, f))
            if prev[1].dtype != f.dtype:
                raise RequestError(
                    f"request field {f.name!r} is {prev[1].dtype.name} in on-demand view {prev[0]!r} but "
                    f"{f.dtype.name} in {odfv.name!r}: request both views separately"
                )
        transforms.append(TransformRequest(
            odfv, tuple(fields), tuple(output_name(odfv.name, f.name, full_feature_names) for f in fields),
            tuple(inputs), odfv.request_fields,
        ))
    empty = FeatureRequest((), (), None, True)  # only request data: no stored view to read
    base = FeatureRequest.resolve(snapshot, base_refs, full_feature_names=True) if base_refs else empty
    if service is not None and service.precompute_online:
        online = FeatureRequest.resolve(snapshot, stored_service(snapshot, service), full_feature_names=True,
                                        stored=True)
    else:
        online = FeatureRequest.resolve(snapshot, online_refs, full_feature_names=True, stored=True) \
            if online_refs else empty
    return FeatureRequest(
        views, tuple((renumber[v], i) for v, i in columns), service, full_feature_names, tuple(transforms), base,
        online,
    )


def stored_service(snapshot: RegistrySnapshot, service: FeatureService) -> FeatureService:
    """``service`` with its on-demand views replaced by the stored features they read (``write_to_online_store``
    ones stay: their rows are stored): what its precomputed vectors hold. A service without such views is returned
    as is (its vector layout is unchanged)."""
    odfvs = [p for p in service.projections if p.name in snapshot.on_demand_feature_views
             and p.name not in snapshot.feature_views and p.name not in snapshot.written_views]
    if not odfvs:
        return service
    projections: dict[str, list[Field]] = {
        p.name: list(p.features) for p in service.projections if p not in odfvs
    }
    for p in odfvs:
        for src in snapshot.get_on_demand_feature_view(p.name).sources:
            have = projections.setdefault(src.name, [])
            have.extend(f for f in src.features if f.name not in {h.name for h in have})
    if not projections:
        raise DefinitionError(
            f"feature service {service.name!r} has precompute_online=True but reads no stored feature (only "
            "request data): set precompute_online=False"
        )
    return FeatureService(
        service.name, [FeatureViewProjection(name, fields) for name, fields in projections.items()],
        precompute_online=True,
    )
