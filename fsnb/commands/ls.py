"""``fsnb ls``: the project's entities, feature views and services as a table."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

NAME = "ls"
HELP = "list the registered entities, data sources, feature views and feature services"

_KINDS = {"entities": "entity", "sources": "data_source", "views": "feature_view", "services": "feature_service"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", nargs="?", choices=sorted(_KINDS), help="list only this kind")


def rows(snapshot: Any) -> list[tuple[str, str, str]]:
    """(kind, name, details) for every object of a registry snapshot."""
    out: list[tuple[str, str, str]] = []
    for e in snapshot.entities.values():
        keys = ", ".join(f"{k.name} ({k.dtype.name})" for k in e.join_keys)
        out.append(("entity", e.name, f"join keys: {keys}"))
    for s in snapshot.data_sources.values():
        where = getattr(s.batch_source, "path", None) or getattr(s.batch_source, "table", None) or "query"
        out.append(("data_source", s.name, f"{s.source_type}: {where}"))
    for v in snapshot.feature_views.values():
        ttl = f"ttl {format_duration(v.ttl.total_seconds())}" if v.ttl else "no ttl"
        online = "" if v.online else " · offline only"
        out.append(("feature_view", v.name, f"entities: {', '.join(v.entities)} · {len(v.features)} features · "
                                           f"{ttl} · source {v.source.name}{online}"))
    for f in snapshot.feature_services.values():
        n = sum(len(p.features) for p in f.projections)
        pre = " · precomputed online" if f.precompute_online else ""
        out.append(("feature_service", f.name, f"views: {', '.join(p.name for p in f.projections)} · "
                                               f"{n} features{pre}"))
    return out


def format_duration(seconds: float) -> str:
    """``2d``, ``1h30m``, ``45s``: a duration the short way."""
    s = int(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if s >= size:
            parts.append(f"{s // size}{unit}")
            s %= size
    return "".join(parts) or "0s"


def format_table(header: tuple[str, ...], body: Sequence[tuple[str, ...]]) -> str:
    """A plain-text table, columns padded to their widest cell."""
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in [header, *body]]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from fsnb.cli import open_store

    with open_store(args) as store:
        snap = store.snapshot()
        body = rows(snap)
        if args.kind:
            body = [r for r in body if r[0] == _KINDS[args.kind]]
        if not body:
            what = args.kind or "objects"
            print(f"No {what} in project {store.project!r} (registry version {snap.version}); run `fsnb apply`.")
            return 0
        print(format_table(("KIND", "NAME", "DETAILS"), body))
    return 0
