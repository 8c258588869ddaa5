"""``fsnb import-feast PATH [--out DIR]``: turn a Feast feature repo (its registry) into an fsnb repo."""

from __future__ import annotations

import argparse

NAME = "import-feast"
HELP = "write an fsnb repo (definitions.py, fsnb.yaml) from a Feast feature repo's registry"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="the Feast repo (folder with feature_store.yaml) or its registry.db file")
    parser.add_argument("--out", default=None, help="folder to write the fsnb repo into (default: PATH/fsnb)")
    parser.add_argument("--force", action="store_true", help="overwrite files already in --out")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from fsnb.feast_import import import_feast

    source = Path(args.path)
    out = Path(args.out) if args.out else (source if source.is_dir() else source.parent) / "fsnb"
    result = import_feast(source, out, force=args.force)
    print(f"Wrote the fsnb repo in {result.out}/:")
    for f in result.files:
        print(f"  {f.name}")
    if result.report:
        print(f"{len(result.report)} item(s) not translated (see FEAST_IMPORT.md):")
        for line in result.report:
            print(f"  - {line}")
    print(f"Next: cd {result.out} && fsnb apply")
    return 0
