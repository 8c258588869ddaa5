"""HTML reprs of the definitions (entities, feature views, feature services) and the helpers that build them.

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

__all__ = [
    "box", "entity_html", "error_text", "esc", "feature_service_html", "feature_view_html", "kv_rows", "source_text",
    "table", "ttl_text", "when_text",
]

_STYLE = (
    "<style>.fsnb-repr{border:1px solid #ddd;border-radius:4px;padding:6px 10px;display:inline-block}"
    ".fsnb-repr table{border-collapse:collapse;margin:2px 0}"
    ".fsnb-repr th,.fsnb-repr td{text-align:left!important;padding:1px 10px 1px 0;vertical-align:top}"
    ".fsnb-repr th{color:#555;font-weight:normal}.fsnb-repr .dim{color:#888}.fsnb-repr .err{color:#b00}</style>"
)


def esc(v: Any) -> str:
    return html.escape(str(v))


def kv_rows(rows: Iterable[tuple[str, str]]) -> str:
    """A two-column table; values are already-escaped HTML."""
    body = "".join(f"<tr><th>{esc(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def table(head: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    h = "".join(f"<th>{esc(x)}</th>" for x in head)
    b = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{h}</tr></thead><tbody>{b}</tbody></table>"


def box(kind: str, title: str, body: str) -> str:
    return f"{_STYLE}<div class='fsnb-repr fsnb-{kind}'><div><b>{title}</b></div>{body}</div>"


def ttl_text(ttl: timedelta | None) -> str:
    if not ttl:
        return "none"
    secs = int(ttl.total_seconds())
    for unit, n in (("d", 86400), ("h", 3600), ("min", 60)):
        if secs % n == 0:
            return f"{secs // n}{unit}"
    return f"{secs}s"


def error_text(what: str, err: BaseException) -> str:
    return f"<span class='err'>{esc(what)} unavailable: {esc(type(err).__name__)}: {esc(err)}</span>"


def when_text(ts: datetime | None) -> str:
    if ts is None:
        return "<span class='dim'>never materialized</span>"
    return esc(ts.isoformat(sep=" ", timespec="seconds"))


def source_text(source: DataSource) -> str:
    """One line naming where a source reads from."""
    d = source.to_dict()
    where = d.get("path") or d.get("table") or d.get("query") or ""
    if d.get("type") == "push":
        inner = source.batch_source.to_dict()
        where = f"push → {inner.get('path') or inner.get('table') or inner.get('query') or ''}"
    return f"{d.get('type', '?')}: {where}"


# ----------------------------------------------------------------------------------------------- definitions


def entity_html(entity: Entity) -> str:
    """An entity: its join keys with dtypes."""
    rows = [("join keys", esc(", ".join(f"{k.name}: {k.dtype.name}" for k in entity.join_keys)))]
    if entity.description:
        rows.append(("description", esc(entity.description)))
    return box("entity", f"Entity {esc(entity.name)}", kv_rows(rows))


def feature_view_html(view: FeatureView, extra: Sequence[tuple[str, str]] = ()) -> str:
    """A feature view: schema table (join keys, then features), source, TTL, and ``extra`` (label, HTML) rows."""
    rows = [
        ("entities", esc(", ".join(view.entities))),
        ("source", esc(source_text(view.source))),
        ("event time", esc(view.source.timestamp_field)),
        ("ttl", ttl_text(view.ttl) if view.ttl else "none (values never expire)"),
        ("online", "yes" if view.online else "no"),
    ]
    rows.extend(extra)
    if view.description:
        rows.append(("description", esc(view.description)))
    if view.owner:
        rows.append(("owner", esc(view.owner)))
    schema = [(f"<i>{esc(c.name)}</i>", esc(c.dtype.name), "join key") for c in view.entity_columns]
    schema += [(esc(f.name), esc(f.dtype.name), esc(f.description)) for f in view.features]
    return box("feature-view", f"FeatureView {esc(view.name)}", kv_rows(rows) + table(["column", "dtype", ""], schema))


def feature_service_html(service: FeatureService, vectors: str | None = None) -> str:
    """A feature service: its features per view and whether (and how) it is precomputed.

    ``vectors`` optionally describes the vectors' state (e.g. "built for fingerprint …, 10,000 entities").
    """
    pre = "yes" if service.precompute_online else "no"
    if service.precompute_online:
        pre += f" · schema fingerprint <code>{esc(service.fingerprint())}</code>"
        if vectors:
            pre += f" · {esc(vectors)}"
    rows = [("features", str(len(service.feature_refs))), ("precomputed vectors", pre)]
    if service.description:
        rows.append(("description", esc(service.description)))
    feats = [
        (esc(p.name), esc(f.name), esc(f.dtype.name)) for p in service.projections for f in p.features
    ]
    return box("feature-service", f"FeatureService {esc(service.name)}",
                kv_rows(rows) + table(["view", "feature", "dtype"], feats))
