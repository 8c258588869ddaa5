"""The ``fsnb`` command: a thin argparse frame over the subcommand modules in ``fsnb/commands/``.

Each subcommand module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int`` and
imports anything heavy inside ``run``. Global options: ``--repo/-r PATH`` (the feature repo, default the current
folder) and ``--debug`` (tracebacks and debug logs). Errors end the command with a one-line message on stderr.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from fsnb.store import Store

__all__ = ["build_parser", "main", "open_store", "repo_path"]


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _discover() -> list[ModuleType | tuple[str, BaseException]]:
    import fsnb.commands

    found: list[ModuleType | tuple[str, BaseException]] = []
    for info in sorted(pkgutil.iter_modules(fsnb.commands.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        try:
            found.append(importlib.import_module(f"fsnb.commands.{info.name}"))
        except Exception as e:  # one broken command must not take the others down
            found.append((info.name, e))
    return found


def build_parser() -> argparse.ArgumentParser:
    """The ``fsnb`` parser with every discovered subcommand."""
    from fsnb import __version__

    def options(top: bool) -> _Parser:
        # separate action objects: the top level has defaults, subcommands must not overwrite its values
        p = _Parser(add_help=False)
        p.add_argument("-r", "--repo", default="." if top else argparse.SUPPRESS, metavar="PATH",
                       help="feature repo folder or its fsnb.yaml (default: the current folder)")
        p.add_argument("--debug", action="store_true", default=False if top else argparse.SUPPRESS,
                       help="show tracebacks and debug logs")
        return p

    common = options(top=False)
    parser = _Parser(prog="fsnb", description="fsnb: a notebook-first feature store.", parents=[options(top=True)])
    parser.add_argument("--version", action="version", version=f"fsnb {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for mod in _discover():
        if isinstance(mod, tuple):
            name, err = mod
            p = sub.add_parser(name, help=f"(unavailable: {type(err).__name__})", parents=[common])
            p.set_defaults(_run=_broken(name, err))
            continue
        name = getattr(mod, "NAME", mod.__name__.rsplit(".", 1)[-1])
        # "resolve": a command may define its own --repo / --debug; its definition wins.
        p = sub.add_parser(name, help=getattr(mod, "HELP", ""), description=getattr(mod, "HELP", None),
                           parents=[common], conflict_handler="resolve")
        try:
            add = getattr(mod, "add_arguments", None)
            if add is not None:
                add(p)
            p.set_defaults(_run=mod.run)
        except Exception as e:  # a command whose arguments cannot be built is reported when it is run
            p.set_defaults(_run=_broken(name, e))
    return parser


def _broken(name: str, err: BaseException) -> Any:
    def run(args: argparse.Namespace) -> int:
        raise RuntimeError(f"command {name!r} failed to load: {type(err).__name__}: {err}") from err

    return run


def repo_path(args: argparse.Namespace) -> Path:
    """The ``--repo`` folder, checked to exist."""
    from fsnb.errors import ConfigError

    path = Path(getattr(args, "repo", ".") or ".").expanduser()
    if path.suffix in (".yaml", ".yml"):
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist")
        return path.resolve().parent
    if not path.is_dir():
        raise ConfigError(f"feature repo folder {path} does not exist (give one with --repo PATH)")
    return path.resolve()


def open_store(args: argparse.Namespace) -> Store:
    """The ``Store`` of the ``--repo`` folder (or YAML file), for subcommands."""
    from fsnb.store import Store

    path = Path(getattr(args, "repo", ".") or ".").expanduser()
    repo_path(args)  # clear error for a missing folder
    return Store(path)


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``fsnb`` with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version, usage errors
        return int(e.code or 0) if not isinstance(e.code, str) else 2
    debug = bool(args.debug)
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    run = getattr(args, "_run", None)
    if run is None:
        parser.print_help()
        return 2
    from fsnb.errors import FsnbError

    try:
        return int(run(args) or 0)
    except KeyboardInterrupt:
        print("fsnb: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 141
    except FsnbError as e:
        if debug:
            raise
        print(f"fsnb: error: {_one_line(str(e))}", file=sys.stderr)
        return 1
    except Exception as e:
        if debug:
            raise
        print(f"fsnb: unexpected {type(e).__name__}: {_one_line(str(e))} (run with --debug for the traceback)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
