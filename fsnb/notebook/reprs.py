"""HTML reprs for notebooks: the store, entities, feature views and feature services.

Each function returns a self-contained HTML fragment (inline styles only) and never raises: a part that cannot be
reached is shown as such, because a repr that fails hides the object it was meant to show.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fsnb.definitions import DataSource, Entity, FeatureService, FeatureView
    from fsnb.store import Store

__all__ = ["entity_html", "feature_service_html", "feature_view_html", "source_text", "store_html"]

_STYLE = (
    "<style>.fsnb-repr{border:1px solid #ddd;border-radius:4px;padding:6px 10px;display:inline-block}"
    ".fsnb-repr table{border-collapse:collapse;margin:2px 0}"
    ".fsnb-repr th,.fsnb-repr td{text-align:left!important;padding:1px 10px 1px 0;vertical-align:top}"
    ".fsnb-repr th{color:#555;font-weight:normal}.fsnb-repr .dim{color:#888}.fsnb-repr .err{color:#b00}</style>"
)


def _e(v: Any) -> str:
    return html.escape(str(v))


def _kv(rows: Iterable[tuple[str, str]]) -> str:
    """A two-column table; values are already-escaped HTML."""
    body = "".join(f"<tr><th>{_e(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def _table(head: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    h = "".join(f"<th>{_e(x)}</th>" for x in head)
    b = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{h}</tr></thead><tbody>{b}</tbody></table>"


def _box(kind: str, title: str, body: str) -> str:
    return f"{_STYLE}<div class='fsnb-repr fsnb-{kind}'><div><b>{title}</b></div>{body}</div>"


def _ttl(ttl: timedelta | None) -> str:
    if not ttl:
        return "none"
    secs = int(ttl.total_seconds())
    for unit, n in (("d", 86400), ("h", 3600), ("min", 60)):
        if secs % n == 0:
            return f"{secs // n}{unit}"
    return f"{secs}s"


def _error(what: str, err: BaseException) -> str:
    return f"<span class='err'>{_e(what)} unavailable: {_e(type(err).__name__)}: {_e(err)}</span>"


def _when(ts: datetime | None) -> str:
    if ts is None:
        return "<span class='dim'>never materialized</span>"
    return _e(ts.isoformat(sep=" ", timespec="seconds"))


def source_text(source: DataSource) -> str:
    """One line naming where a source reads from."""
    d = source.to_dict()
    where = d.get("path") or d.get("table") or d.get("query") or ""
    if d.get("type") == "push":
        inner = source.batch_source.to_dict()
        where = f"push → {inner.get('path') or inner.get('table') or inner.get('query') or ''}"
    return f"{d.get('type', '?')}: {where}"


def _watermark(store: Store | None, view: str) -> tuple[datetime | None, BaseException | None]:
    if store is None:
        return None, None
    try:
        return store.registry.watermark(view), None
    except Exception as err:
        return None, err


# ----------------------------------------------------------------------------------------------- the store


def store_html(store: Store) -> str:
    """The store at a glance: project, where each part lives (secrets redacted), object counts, watermarks."""
    from fsnb.config import redact_url

    cfg = store.config
    o = cfg.online_store
    online = f"redis {redact_url(o.url)}" if o.type == "redis" else f"{o.type} {redact_url(o.path)}"
    off = cfg.offline_store
    offline = f"duckdb {off.database or '(in-memory)'}"
    rows = [
        ("project", f"<b>{_e(cfg.project)}</b>"),
        ("repo", _e(cfg.repo_path)),
        ("registry", _e(redact_url(cfg.registry.url))),
        ("online store", _e(online)),
        ("offline store", _e(offline)),
    ]
    detail = ""
    try:
        snap = store.snapshot()
    except Exception as err:
        rows.append(("definitions", _error("registry", err)))
    else:
        counts = (
            f"{len(snap.entities)} entities · {len(snap.data_sources)} sources · "
            f"{len(snap.feature_views)} feature views · {len(snap.feature_services)} feature services"
        )
        rows.append(("definitions", _e(counts) + f" <span class='dim'>(registry v{snap.version})</span>"))
        view_rows = []
        for v in snap.feature_views.values():
            wm, problem = _watermark(store, v.name)
            view_rows.append(
                (
                    f"<b>{_e(v.name)}</b>",
                    _e(", ".join(v.entities)),
                    str(len(v.features)),
                    _ttl(v.ttl),
                    _error("watermark", problem) if problem else _when(wm),
                )
            )
        if view_rows:
            detail += _table(["feature view", "entities", "features", "ttl", "materialized up to"], view_rows)
        svc_rows = [
            (f"<b>{_e(s.name)}</b>", str(len(s.feature_refs)), _e(", ".join(p.name for p in s.projections)),
             "yes" if s.precompute_online else "no")
            for s in snap.feature_services.values()
        ]
        if svc_rows:
            detail += _table(["feature service", "features", "views", "precomputed"], svc_rows)
    return _box("store", "fsnb Store", _kv(rows) + detail)


# ----------------------------------------------------------------------------------------------- definitions


def entity_html(entity: Entity) -> str:
    """An entity: its join keys with dtypes."""
    rows = [("join keys", _e(", ".join(f"{k.name}: {k.dtype.name}" for k in entity.join_keys)))]
    if entity.description:
        rows.append(("description", _e(entity.description)))
    return _box("entity", f"Entity {_e(entity.name)}", _kv(rows))


def feature_view_html(view: FeatureView, store: Store | None = None) -> str:
    """A feature view: schema table (join keys, then features), source, TTL and, given a store, its watermark."""
    rows = [
        ("entities", _e(", ".join(view.entities))),
        ("source", _e(source_text(view.source))),
        ("event time", _e(view.source.timestamp_field)),
        ("ttl", _ttl(view.ttl) if view.ttl else "none (values never expire)"),
        ("online", "yes" if view.online else "no"),
    ]
    if store is not None:
        wm, err = _watermark(store, view.name)
        rows.append(("materialized up to", _error("watermark", err) if err else _when(wm)))
    if view.description:
        rows.append(("description", _e(view.description)))
    if view.owner:
        rows.append(("owner", _e(view.owner)))
    schema = [(f"<i>{_e(c.name)}</i>", _e(c.dtype.name), "join key") for c in view.entity_columns]
    schema += [(_e(f.name), _e(f.dtype.name), _e(f.description)) for f in view.features]
    return _box("feature-view", f"FeatureView {_e(view.name)}", _kv(rows) + _table(["column", "dtype", ""], schema))


def feature_service_html(service: FeatureService, vectors: str | None = None) -> str:
    """A feature service: its features per view and whether (and how) it is precomputed.

    ``vectors`` optionally describes the vectors' state (e.g. "built for fingerprint …, 10,000 entities").
    """
    pre = "yes" if service.precompute_online else "no"
    if service.precompute_online:
        pre += f" · schema fingerprint <code>{_e(service.fingerprint())}</code>"
        if vectors:
            pre += f" · {_e(vectors)}"
    rows = [("features", str(len(service.feature_refs))), ("precomputed vectors", pre)]
    if service.description:
        rows.append(("description", _e(service.description)))
    feats = [
        (_e(p.name), _e(f.name), _e(f.dtype.name)) for p in service.projections for f in p.features
    ]
    return _box("feature-service", f"FeatureService {_e(service.name)}",
                _kv(rows) + _table(["view", "feature", "dtype"], feats))
