"""``python -m fsnb.server [--repo PATH] [serve flags]``: the feature server without the ``fsnb`` CLI."""

from __future__ import annotations

import argparse
import sys

from fsnb.commands import serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fsnb.server", description=serve.HELP)
    parser.add_argument("--repo", "-r", default=None, help="feature repo folder or fsnb.yaml (default: .)")
    serve.add_arguments(parser)
    return serve.run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
