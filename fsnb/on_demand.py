"""On-demand feature views: features a function computes at read time from stored features and request data.

>>> amount = fsnb.RequestSource("transaction", schema=[fsnb.Field("amount", fsnb.Float64)])
>>> @fsnb.on_demand_feature_view(sources=[transaction_stats, amount],
...                              schema=[fsnb.Field("amount_over_avg_7d", fsnb.Float64)], mode="python")
... def amount_ratio(inputs):
...     return {"amount_over_avg_7d": [a / s if s else None
...                                    for a, s in zip(inputs["amount"], inputs["txn_amount_avg_7d"])]}

The function is kept as its source text (with a content hash) and always run from that text, by
:func:`fsnb.transforms.run`, for training sets and for every online read alike. Its input holds the features of its
source views (plain feature names) and the fields of its request sources; ``mode="python"`` passes and expects a
dict of lists, ``mode="pandas"`` a DataFrame.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fsnb.definitions import (
    FeatureView,
    FeatureViewProjection,
    Field,
    _check_name,
    _Definition,
    _tags,
)
from fsnb.errors import DefinitionError

__all__ = ["MODES", "OnDemandFeatureView", "RequestSource", "on_demand_feature_view", "refuse_functions"]

MODES = ("python", "pandas")
#: why this process runs no registry function (see :func:`refuse_functions`), or None
_refused: list[str] = []


def refuse_functions(reason: str) -> None:
    """From now on, no on-demand view's function is compiled in this process (a server that runs no registry
    code); using one raises :class:`~fsnb.errors.RegistryError` with ``reason``."""
    _refused[:] = [reason]


class RequestSource(_Definition):
    """Data that exists only at request time (the amount being scored): ``RequestSource("txn", schema=[...])``.

    Online reads take its fields next to the join keys in the entity rows; training sets from ``entity_df``.
    """

    kind = "request_source"
    __slots__ = ("name", "schema", "description", "tags")
    name: str
    schema: tuple[Field, ...]
    description: str
    tags: dict[str, str]

    def __init__(
        self,
        name: str,
        schema: Sequence[Field],
        *,
        description: str = "",
        tags: Mapping[str, str] | None = None,
    ) -> None:
        self.name = _check_name("RequestSource", name)
        self.schema = _schema(f"RequestSource {name!r}", schema, "a list of Field objects")
        self.description = description
        self.tags = _tags("RequestSource", name, tags)
        self._freeze()

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "schema": [f.to_dict() for f in self.schema],
            "description": self.description,
            "tags": dict(self.tags),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RequestSource:
        return cls(
            d["name"], [Field.from_dict(f) for f in d["schema"]], description=d.get("description", ""),
            tags=d.get("tags"),
        )

    def __repr__(self) -> str:
        return f"RequestSource({self.name!r}, schema=[{', '.join(f.name for f in self.schema)}])"


class OnDemandFeatureView(_Definition):
    """Features computed by ``udf`` from ``sources`` (feature views, projections, request sources) at read time.

    Prefer the :func:`on_demand_feature_view` decorator. ``udf`` is a function or its source text; it runs from
    that text, with ``math``, ``np``/``numpy``, ``datetime`` and ``timedelta`` available to it (``pd``/``pandas``
    too in pandas mode; import anything else inside the function). ``write_to_online_store=True`` computes the
    features as the source view's rows are written online (materialize, push, ``write_to_online_store``), stores
    them as a row of this view per entity, and online reads return them without running the function; training
    sets always run it.
    """

    kind = "on_demand_feature_view"
    __slots__ = (
        "name", "sources", "request_sources", "features", "mode", "udf_name", "udf_source", "udf_hash",
        "write_to_online_store", "description", "tags", "owner", "_udf",
    )
    name: str
    sources: tuple[FeatureViewProjection, ...]
    request_sources: tuple[RequestSource, ...]
    features: tuple[Field, ...]
    mode: str
    udf_name: str
    udf_source: str
    udf_hash: str
    write_to_online_store: bool
    description: str
    tags: dict[str, str]
    owner: str
    _udf: Callable[..., Any] | None

    def __init__(
        self,
        name: str,
        *,
        sources: Sequence[FeatureView | FeatureViewProjection | RequestSource],
        schema: Sequence[Field],
        udf: Callable[..., Any] | str,
        mode: str = "pandas",
        write_to_online_store: bool = False,
        description: str = "",
        tags: Mapping[str, str] | None = None,
        owner: str = "",
    ) -> None:
        self.name = _check_name("OnDemandFeatureView", name)
        where = f"OnDemandFeatureView {name!r}"
        if mode not in MODES:
            raise DefinitionError(f"{where}: mode must be 'python' or 'pandas', got {mode!r}")
        views: list[FeatureViewProjection] = []
        requests: list[RequestSource] = []
        for s in sources or []:
            if isinstance(s, FeatureView):
                views.append(s.projection())
            elif isinstance(s, FeatureViewProjection):
                views.append(s)
            elif isinstance(s, RequestSource):
                requests.append(s)
            else:
                raise DefinitionError(
                    f"{where}: sources must be FeatureViews, view[[...]] projections or RequestSources, got {s!r}"
                )
        if not views and not requests:
            raise DefinitionError(f"{where} needs at least one source (a feature view or a RequestSource)")
        seen: dict[str, str] = {}
        for label, fields in [*((f"feature view {p.name!r}", p.features) for p in views),
                              *((f"request source {r.name!r}", r.schema) for r in requests)]:
            for f in fields:
                if f.name in seen:
                    raise DefinitionError(
                        f"{where}: input {f.name!r} comes from both {seen[f.name]} and {label}; the function "
                        "sees inputs by plain name: select the features you need with view[[...]]"
                    )
                seen[f.name] = label
        self.sources = tuple(views)
        self.request_sources = tuple(requests)
        self.features = _schema(where, schema, "the Fields its function returns")
        self.mode = mode
        self.udf_name, self.udf_source = function_source(udf, where)
        self.udf_hash = hashlib.sha256(self.udf_source.encode()).hexdigest()[:16]
        self.write_to_online_store = bool(write_to_online_store)
        if self.write_to_online_store and requests:
            raise DefinitionError(
                f"{where}: write_to_online_store=True computes the features when rows are written, where there is "
                "no request data; drop the RequestSource or set write_to_online_store=False"
            )
        if self.write_to_online_store and len(views) != 1:
            raise DefinitionError(
                f"{where}: write_to_online_store=True needs exactly one source feature view (its rows are computed "
                f"as that view's rows are written), got {len(views)}"
            )
        self.description = description
        self.tags = _tags("OnDemandFeatureView", name, tags)
        self.owner = owner
        object.__setattr__(self, "_udf", None)
        self._freeze()

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    @property
    def request_fields(self) -> tuple[Field, ...]:
        """The fields of its request sources, in order."""
        return tuple(f for r in self.request_sources for f in r.schema)

    @property
    def input_fields(self) -> tuple[Field, ...]:
        """What the function receives, in order: the source views' features, then the request fields."""
        return (*(f for p in self.sources for f in p.features), *self.request_fields)

    @property
    def udf(self) -> Callable[..., Any]:
        """The function, compiled from :attr:`udf_source` (what the registry holds), once per object."""
        fn = self._udf
        if fn is None:
            fn = compile_function(self.udf_source, self.udf_name, self.name, pandas=self.mode == "pandas")
            object.__setattr__(self, "_udf", fn)
        return fn

    def stored_view(self, source: FeatureView) -> FeatureView:
        """The stored twin of a ``write_to_online_store`` view: its features, keyed and timed like ``source``."""
        from fsnb.definitions import Entity

        cols = {c.name: c.dtype for c in source.entity_columns}
        entities = [Entity(e, {k: cols[k] for k in keys}) for e, keys in source.entity_join_keys.items()]
        return FeatureView(
            self.name, entities=entities, schema=list(self.features), source=source.source, ttl=source.ttl,
            description=self.description, tags={**self.tags, "on_demand": "written"}, owner=self.owner,
        )

    def __getitem__(self, features: str | Sequence[str]) -> FeatureViewProjection:
        """Select some outputs for a FeatureService: ``view[["a"]]``."""
        if isinstance(features, str):
            features = [features]
        return FeatureViewProjection(self.name, self.features).select(features)

    def projection(self) -> FeatureViewProjection:
        return FeatureViewProjection(self.name, self.features)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "sources": [p.to_dict() for p in self.sources],
            "request_sources": [r.to_dict() for r in self.request_sources],
            "features": [f.to_dict() for f in self.features],
            "mode": self.mode,
            "udf_name": self.udf_name,
            "udf_source": self.udf_source,
            "udf_hash": self.udf_hash,
            "write_to_online_store": self.write_to_online_store,
            "description": self.description,
            "tags": dict(self.tags),
            "owner": self.owner,
        }

    def __reduce__(self) -> tuple[Any, ...]:  # pickled as its spec: the compiled function stays behind
        return (OnDemandFeatureView.from_dict, (self.to_dict(),))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> OnDemandFeatureView:
        sources: list[FeatureViewProjection | RequestSource] = [
            FeatureViewProjection.from_dict(p) for p in d["sources"]
        ]
        sources += [RequestSource.from_dict(r) for r in d.get("request_sources", [])]
        view = cls(
            d["name"],
            sources=sources,
            schema=[Field.from_dict(f) for f in d["features"]],
            udf=_Source(d["udf_name"], d["udf_source"]),  # type: ignore[arg-type]
            mode=d.get("mode", "pandas"),
            write_to_online_store=d.get("write_to_online_store", False),
            description=d.get("description", ""),
            tags=d.get("tags"),
            owner=d.get("owner", ""),
        )
        if d.get("udf_hash") not in (None, view.udf_hash):
            raise DefinitionError(
                f"OnDemandFeatureView {d['name']!r}: the stored function does not match its hash; apply it again"
            )
        return view

    def __repr__(self) -> str:
        srcs = [p.name for p in self.sources] + [r.name for r in self.request_sources]
        return (
            f"OnDemandFeatureView({self.name!r}, sources={srcs}, features=[{', '.join(self.feature_names)}], "
            f"mode={self.mode!r})"
        )

    def _repr_rows(self) -> list[tuple[str, str]]:
        rows = [(k, v) for k, v in super()._repr_rows() if k not in ("udf_source", "sources", "request_sources")]
        srcs = [f"{p.name}[{', '.join(p.feature_names)}]" for p in self.sources]
        srcs += [f"{r.name} (request: {', '.join(f.name for f in r.schema)})" for r in self.request_sources]
        return [*rows, ("sources", "; ".join(srcs)), ("function", self.udf_source)]


class _Source:
    """A function's name and source text, as the registry holds them."""

    __slots__ = ("name", "text")

    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.text = text


def _schema(where: str, schema: Sequence[Field] | None, what: str) -> tuple[Field, ...]:
    """``schema`` checked: at least one Field, no name twice."""
    fields = list(schema or [])
    if not fields or not all(isinstance(f, Field) for f in fields):
        raise DefinitionError(f"{where} needs a schema: {what}")
    names = [f.name for f in fields]
    if len(set(names)) != len(names):
        raise DefinitionError(f"{where} names a field twice: {names}")
    return tuple(fields)


def on_demand_feature_view(
    *,
    sources: Sequence[FeatureView | FeatureViewProjection | RequestSource],
    schema: Sequence[Field],
    mode: str = "pandas",
    name: str | None = None,
    write_to_online_store: bool = False,
    description: str = "",
    tags: Mapping[str, str] | None = None,
    owner: str = "",
) -> Callable[[Callable[..., Any]], OnDemandFeatureView]:
    """Decorate a function to define an :class:`OnDemandFeatureView` named after it (or ``name``)."""

    def wrap(fn: Callable[..., Any]) -> OnDemandFeatureView:
        return OnDemandFeatureView(
            name or str(getattr(fn, "__name__", "")), sources=sources, schema=schema, udf=fn, mode=mode,
            write_to_online_store=write_to_online_store, description=description or (fn.__doc__ or "").strip(),
            tags=tags, owner=owner,
        )

    return wrap


def function_source(udf: Any, where: str) -> tuple[str, str]:
    """(name, source text without decorators) of a function, or of source text that defines exactly one."""
    import ast
    import inspect
    import textwrap

    if isinstance(udf, _Source):
        return udf.name, udf.text
    if isinstance(udf, str):
        text = textwrap.dedent(udf).strip("\n") + "\n"
    elif callable(udf):
        if getattr(udf, "__name__", "") == "<lambda>":
            raise DefinitionError(f"{where}: the function is a lambda; define it with `def` (it is stored as text)")
        try:
            text = textwrap.dedent(inspect.getsource(udf))
        except (OSError, TypeError):
            raise DefinitionError(
                f"{where}: the source of function {getattr(udf, '__name__', udf)!r} cannot be read (it is stored as "
                "text): define it with `def` in a file or a notebook cell"
            ) from None
    else:
        raise DefinitionError(f"{where}: udf must be a function or its source text, got {type(udf).__name__}")
    try:
        tree = ast.parse(text)
    except SyntaxError as e:
        raise DefinitionError(f"{where}: the function's source does not parse: {e}") from None
    defs = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    if isinstance(udf, str):
        if len(defs) != 1 or len(tree.body) != 1:
            raise DefinitionError(f"{where}: udf text must define exactly one function with `def`")
    elif len(defs) != 1:
        raise DefinitionError(
            f"{where}: {getattr(udf, '__name__', udf)!r} is not a plain `def` function (a lambda or a method); "
            "define it with `def` at the top level of a file or a notebook cell"
        )
    node = defs[0]
    if len(node.args.posonlyargs) + len(node.args.args) != 1 and not node.args.vararg:
        raise DefinitionError(
            f"{where}: the function must take one argument (the inputs), not ({ast.unparse(node.args)})"
        )
    lines = text.splitlines()
    body = "\n".join(lines[node.lineno - 1 : node.end_lineno]) + "\n"  # the def without its decorators
    return node.name, textwrap.dedent(body)


def compile_function(text: str, name: str, view: str, *, pandas: bool) -> Callable[..., Any]:
    """Run a function's source text in a fresh namespace with the usual modules (``pd`` too when ``pandas``), and
    return the function."""
    if _refused:
        from fsnb.errors import RegistryError

        raise RegistryError(f"on-demand view {view!r}: its function is not run here: {_refused[0]}")
    import __future__

    import datetime as _dt
    import math

    import numpy as np

    namespace: dict[str, Any] = {
        "__name__": f"fsnb.on_demand.{view}", "math": math, "np": np, "numpy": np,
        "datetime": _dt.datetime, "timedelta": _dt.timedelta, "timezone": _dt.timezone,
    }
    if pandas:
        import pandas as pd

        namespace["pd"] = namespace["pandas"] = pd
    try:
        code = compile(text, f"<on-demand view {view}>", "exec", flags=__future__.annotations.compiler_flag,
                       dont_inherit=True)  # annotations stay text: the function needs no imports to be defined
        exec(code, namespace)
    except Exception as e:
        raise DefinitionError(
            f"on-demand view {view!r}: its function's source cannot run: {type(e).__name__}: {e}"
        ) from None
    fn = namespace.get(name)
    if not callable(fn):
        raise DefinitionError(f"on-demand view {view!r}: its source defines no function {name!r}")
    return fn  # type: ignore[no-any-return]
