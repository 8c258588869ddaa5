"""``fsnb plan``: what ``fsnb apply`` would add, change and remove."""

from __future__ import annotations

import argparse

NAME = "plan"
HELP = "show what apply would add, change and remove, without writing"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--prune", action="store_true", help="also show objects apply --prune would delete")


def run(args: argparse.Namespace) -> int:
    from fsnb.cli import open_store, repo_path
    from fsnb.registry.repo import load_definitions

    objects = load_definitions(repo_path(args))
    with open_store(args) as store:
        print(store.plan(objects, prune=args.prune))
    return 0
