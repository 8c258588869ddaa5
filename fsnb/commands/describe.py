"""``fsnb describe NAME``: one registered object's full spec."""

from __future__ import annotations

import argparse

NAME = "describe"
HELP = "show the full spec of a registered entity, data source, feature view or feature service"

_KINDS = {"entity": "entities", "data_source": "data_sources", "feature_view": "feature_views",
          "feature_service": "feature_services"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="the object's name")
    parser.add_argument("--kind", choices=sorted(_KINDS), help="when several kinds share the name")


def run(args: argparse.Namespace) -> int:
    import json

    from fsnb.cli import open_store
    from fsnb.errors import ObjectNotFoundError

    with open_store(args) as store:
        snap = store.snapshot()
        found = [
            (kind, getattr(snap, attr)[args.name])
            for kind, attr in _KINDS.items()
            if (args.kind in (None, kind)) and args.name in getattr(snap, attr)
        ]
        if not found:
            known = sorted({n for attr in _KINDS.values() for n in getattr(snap, attr)})
            raise ObjectNotFoundError(
                f"no object named {args.name!r} in project {store.project!r} (known: {', '.join(known) or 'none'})"
            )
        for i, (kind, obj) in enumerate(found):
            if i:
                print()
            print(f"{kind} {obj.name} (project {store.project}, registry version {snap.version})")
            print(json.dumps(obj.to_dict(), indent=2, sort_keys=False, default=str))
            if kind == "feature_view":
                mark = store.registry.watermark(obj.name)
                print(f"materialized up to: {mark.isoformat() if mark else 'never'}")
    return 0
