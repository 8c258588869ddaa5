"""HTML reprs of the store (what ``Store._repr_html_`` shows) and of views with their watermarks.

The reprs of definitions live in :mod:`fsnb._reprs`, beside the definitions; this module adds what needs a store.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from fsnb._reprs import box, entity_html, error_text, esc, feature_service_html, kv_rows, table, ttl_text, when_text
from fsnb._reprs import feature_view_html as _view_html

if TYPE_CHECKING:
    from fsnb.definitions import FeatureView
    from fsnb.store import Store

__all__ = ["entity_html", "feature_service_html", "feature_view_html", "store_html"]


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
    online = cfg.online_store.describe()
    offline = store.offline.describe()
    rows = [
        ("project", f"<b>{esc(cfg.project)}</b>"),
        ("repo", esc(cfg.repo_path)),
        ("registry", esc(redact_url(cfg.registry.url))),
        ("online store", esc(online)),
        ("offline store", esc(offline)),
    ]
    detail = ""
    try:
        snap = store.snapshot()
    except Exception as err:
        rows.append(("definitions", error_text("registry", err)))
    else:
        counts = (
            f"{len(snap.entities)} entities · {len(snap.data_sources)} sources · "
            f"{len(snap.feature_views)} feature views · {len(snap.feature_services)} feature services"
        )
        rows.append(("definitions", esc(counts) + f" <span class='dim'>(registry v{snap.version})</span>"))
        view_rows = []
        for v in snap.feature_views.values():
            wm, problem = _watermark(store, v.name)
            view_rows.append(
                (
                    f"<b>{esc(v.name)}</b>",
                    esc(", ".join(v.entities)),
                    str(len(v.features)),
                    ttl_text(v.ttl),
                    error_text("watermark", problem) if problem else when_text(wm),
                )
            )
        if view_rows:
            detail += table(["feature view", "entities", "features", "ttl", "materialized up to"], view_rows)
        svc_rows = [
            (f"<b>{esc(s.name)}</b>", str(len(s.feature_refs)), esc(", ".join(p.name for p in s.projections)),
             "yes" if s.precompute_online else "no")
            for s in snap.feature_services.values()
        ]
        if svc_rows:
            detail += table(["feature service", "features", "views", "precomputed"], svc_rows)
    return box("store", "fsnb Store", kv_rows(rows) + detail)


def feature_view_html(view: FeatureView, store: Store | None = None) -> str:
    """A feature view's repr; given a store, with the time it is materialized up to."""
    if store is None:
        return _view_html(view)
    wm, err = _watermark(store, view.name)
    return _view_html(view, [("materialized up to", error_text("watermark", err) if err else when_text(wm))])
