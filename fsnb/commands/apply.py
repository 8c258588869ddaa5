"""``fsnb apply``: validate the repo's definitions and write them to the registry."""

from __future__ import annotations

import argparse

NAME = "apply"
HELP = "validate the repo's definitions and write them to the registry (prints what changed)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--prune", action="store_true", help="delete registered objects no longer defined")


def run(args: argparse.Namespace) -> int:
    from fsnb.cli import open_store, repo_path
    from fsnb.errors import DefinitionError
    from fsnb.registry.repo import definition_files, load_definitions

    repo = repo_path(args)
    objects = load_definitions(repo)
    if not objects:
        files = ", ".join(p.name for p in definition_files(repo)) or "no .py files"
        raise DefinitionError(f"no definitions found in {repo} ({files}); define Entity / FeatureView objects there")
    with open_store(args) as store:
        plan = store.apply(objects, prune=args.prune)
        if plan.has_changes:
            print(f"Applied to project {store.project!r}:")
            print(plan)
        else:
            print(f"No changes. {len(plan.unchanged)} objects up to date in project {store.project!r} "
                  f"(registry version {plan.version_before}).")
    return 0
