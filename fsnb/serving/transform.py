"""The transform stage of online reads: on-demand views run on the response of the single round trip.

:func:`compile_transforms` compiles, once per request shape, the read plan of the stored features the request
needs (those asked for and the on-demand views' inputs) and a :class:`TransformPlan`; after the read,
:meth:`TransformPlan.apply` runs each view through :func:`fsnb.transforms.run` (the same code path as training
sets) and lays out the final columns: join keys, then the features in request order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from fsnb.errors import EmptyRequestError, ExtraJoinKeyError, MissingRequestDataError, RequestError
from fsnb.serving.plan import ReadPlan, compile_request
from fsnb.serving.response import PRESENT, OnlineResponse
from fsnb.transforms import request_column, run

if TYPE_CHECKING:
    from fsnb.on_demand import OnDemandFeatureView
    from fsnb.registry.snapshot import RegistrySnapshot
    from fsnb.requests import FeatureRequest
    from fsnb.types import DType

__all__ = ["TransformPlan", "compile_transforms"]


class _Step:
    __slots__ = ("inputs", "request", "view")

    def __init__(self, view: OnDemandFeatureView, inputs: list[tuple[str, int]], request: list[str]) -> None:
        self.view = view
        #: (input name, column of the base response)
        self.inputs = inputs
        self.request = request


class TransformPlan:
    """Where each on-demand view's inputs sit in the base response and where its outputs go."""

    __slots__ = ("dtypes", "key_positions", "layout", "n_keys", "names", "request", "request_positions", "steps")

    def __init__(self) -> None:
        #: positions of the join keys and of the request data in the caller's entity columns
        self.key_positions: tuple[int, ...] = ()
        self.request_positions: tuple[int, ...] = ()
        #: per request-data column: (name, dtype, views that take it)
        self.request: list[tuple[str, DType, str]] = []
        self.steps: list[_Step] = []
        #: per feature column: (-1, base column) or (step, index among the view's declared features)
        self.layout: list[tuple[int, int]] = []
        self.names: tuple[str, ...] = ()
        self.dtypes: tuple[DType, ...] = ()
        self.n_keys = 0

    def apply(self, response: OnlineResponse, request_cols: list[Any]) -> OnlineResponse:
        """The final response: on-demand features computed from ``response`` (the base read) and the request data."""
        n = response._n
        data = {
            name: request_column(users, name, dtype, col)
            for (name, dtype, users), col in zip(self.request, request_cols)
        }
        py_values = response._py_values
        base_values = response._values
        base_valid = response._valid
        base_views = response._col_view
        view_status = [*response._view_status]
        view_ts = [*response._view_ts]
        first_step_view = len(view_status)
        present = [PRESENT] * n
        computed = []
        for step in self.steps:
            inputs = {name: py_values(col) for name, col in step.inputs}
            for name in step.request:
                inputs[name] = [*data[name]]
            computed.append(run(step.view, inputs, n))
            sources = sorted({base_views[col] for _, col in step.inputs if base_views[col] >= 0})
            view_status.append(present)
            view_ts.append(_latest([view_ts[v] for v in sources], n))
        n_keys = self.n_keys
        values = base_values[:n_keys]
        valid: list[Any] = [None] * n_keys
        col_view = [-1] * n_keys
        for s, i in self.layout:
            if s < 0:
                values.append(base_values[i])
                valid.append(base_valid[i])
                col_view.append(base_views[i])
            else:
                values.append(computed[s][i])
                valid.append(None)
                col_view.append(first_step_view + s)
        return OnlineResponse(self.names, self.dtypes, n_keys, n, values, valid, col_view, view_status, view_ts)


def _latest(per_view: list[Any], n: int) -> list[int]:
    """Per row, the newest event time (µs) among the views an on-demand view read."""
    if len(per_view) == 1:
        v = per_view[0]
        return v if type(v) is list else v.tolist()  # type: ignore[no-any-return]  # shared, never mutated
    if not per_view:
        return [0] * n
    lists = [v if type(v) is list else v.tolist() for v in per_view]
    return [max(row) for row in zip(*lists)]


def _request_data_only(snapshot: RegistrySnapshot, precomputed: bool | None) -> ReadPlan:
    """The plan of on-demand views that read request data only: nothing to read from the online store."""
    if precomputed:
        raise RequestError("precomputed=True needs a FeatureService with precompute_online=True; these on-demand "
                           "views read only request data: drop precomputed=")
    plan = ReadPlan()
    plan.project = snapshot.project
    plan.version = snapshot.version
    return plan


def compile_transforms(
    snapshot: RegistrySnapshot, request: FeatureRequest, request_keys: Sequence[str], precomputed: bool | None
) -> ReadPlan:
    """The read plan of ``request.base`` with a :class:`TransformPlan` that finishes ``request``."""
    given = list(request_keys)
    if not given:
        raise EmptyRequestError("no entity rows: pass join key values (a list of dicts, a dict of lists or a frame)")
    keys = {f.name for f in request.join_keys}
    fields = {f.name: f for f in request.request_fields}
    for t in request.transforms:
        missing = [f.name for f in t.request_fields if f.name not in given]
        if missing:
            example = ", ".join(f"{k!r}: ..." for k in [*sorted(keys), *missing])
            raise MissingRequestDataError(
                f"on-demand view {t.view.name!r} needs request data {missing}: pass them in the entity rows next to "
                f"the join keys, e.g. [{{{example}}}]"
            )
    extra = [k for k in given if k not in keys and k not in fields]
    if extra:
        raise ExtraJoinKeyError(
            f"entity rows have column(s) {extra} that are neither join keys ({sorted(keys)}) nor request data "
            f"({list(fields)}) of the requested features; drop them"
        )
    base = request.online_base
    key_names = [k for k in given if k in keys]
    clash = sorted(set(key_names) & set(request.output_names))
    if clash:
        raise RequestError(
            f"output column name(s) {clash} would appear twice (a join key and a feature); "
            "pass full_feature_names=True to get 'view__feature'"
        )
    plan = compile_request(snapshot, base, key_names, precomputed=precomputed) if base.views else \
        _request_data_only(snapshot, precomputed)
    base_col = {name: i for i, name in enumerate(plan.columns)}
    tp = TransformPlan()
    tp.key_positions = tuple(given.index(k) for k in key_names)
    tp.request_positions = tuple(given.index(name) for name in fields)
    tp.request = [
        (name, f.dtype, ", ".join(repr(t.view.name) for t in request.transforms if f in t.request_fields))
        for name, f in fields.items()
    ]
    step_of: dict[int, int] = {}
    for j, t in enumerate(request.transforms):
        if not t.written:  # a written view's features are read as stored
            step_of[j] = len(tp.steps)
            tp.steps.append(_Step(t.view, [(f.name, base_col[col]) for f, col in t.inputs],
                                  [f.name for f in t.request_fields]))
    n_views = len(request.views)
    for v, i in request.columns:
        if v < n_views:
            r = request.views[v]
            tp.layout.append((-1, base_col[f"{r.view.name}__{r.fields[i].name}"]))
            continue
        t = request.transforms[v - n_views]
        if t.written:
            tp.layout.append((-1, base_col[f"{t.view.name}__{t.fields[i].name}"]))
        else:
            tp.layout.append((step_of[v - n_views], t.view.feature_names.index(t.fields[i].name)))
    tp.n_keys = len(key_names)
    tp.names = (*key_names, *request.output_names)
    tp.dtypes = (*plan.dtypes[: len(key_names)], *(f.dtype for _, f in request.output_fields))
    plan.transform = tp
    return plan
