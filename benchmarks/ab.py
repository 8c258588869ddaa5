"""A/B a benchmark between two checkouts: rounds alternate A B A B in fresh processes, medians compared.

    .venv/bin/python benchmarks/ab.py --base /tmp/base -- benchmarks/online_read.py --calls 200
    .venv/bin/python benchmarks/ab.py --base /tmp/base --rounds 6 -- benchmarks/rest.py --quick

``--base`` is another checkout of the repo (e.g. ``git worktree add /tmp/base HEAD~1``); the candidate is this
checkout. Each round runs the script once in each checkout with that checkout first on ``PYTHONPATH``, with the
same interpreter. Every table row of the script's output that ends in numbers (``case  rows  p50 ...``) is read;
the reported figure per row is the median over rounds of its number ``--field`` (1: p50 in ``online_read.py``),
and the ratio is candidate ÷ base (below 1: the candidate is faster).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
_NUM = re.compile(r"^-?\d+(\.\d+)?$")


def run(checkout: Path, script: list[str]) -> str:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    out = subprocess.run([sys.executable, *script], cwd=checkout, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{script} failed in {checkout}:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return out.stdout


def matches(text: str, pattern: str) -> dict[tuple[str, str], float]:
    """(case, "") → value for every line ``pattern`` matches (named groups ``case`` and ``value``)."""
    found = {}
    for m in re.finditer(pattern, text, re.MULTILINE):
        found[(m.group("case").strip(), "")] = float(m.group("value"))
    return found


def rows(text: str, field: int) -> dict[tuple[str, str], float]:
    """(case, size) → figure number ``field`` of every table row: a case name, then only numbers (the size first)."""
    found: dict[tuple[str, str], float] = {}
    for line in text.splitlines():
        words = line.split()
        i = len(words)
        while i > 0 and _NUM.match(words[i - 1]):
            i -= 1
        if i == 0 or len(words) - i <= field:
            continue
        found[(" ".join(words[:i]), words[i])] = float(words[i + field])
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=Path, required=True, help="the other checkout")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--field", type=int, default=1, help="which number of a row to compare (0 is the size; "
                        "1 is p50 in online_read.py's table)")
    parser.add_argument("--pattern", help="read figures with this regex instead (named groups `case` and `value`), "
                        r"e.g. '^\s+(?P<case>.+?)\s+p50\s+(?P<value>[\d.]+) ms' for rest.py")
    parser.add_argument("script", nargs=argparse.REMAINDER, help="-- SCRIPT [ARGS...], run from each checkout")
    args = parser.parse_args()
    script = [a for a in args.script if a != "--"] or ["benchmarks/online_read.py", "--quick"]
    base: dict[tuple[str, str], list[float]] = {}
    cand: dict[tuple[str, str], list[float]] = {}
    for r in range(args.rounds):
        order = [(args.base, base), (REPO, cand)] if r % 2 == 0 else [(REPO, cand), (args.base, base)]
        for checkout, acc in order:
            text = run(checkout, script)
            got = matches(text, args.pattern) if args.pattern else rows(text, args.field)
            for key, value in got.items():
                acc.setdefault(key, []).append(value)
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    print(f"{'case':<28} {'size':>5} {'base':>11} {'new':>11} {'new/base':>9}   (median of {args.rounds} rounds)")
    for key in cand:
        if key not in base:
            continue
        b, c = statistics.median(base[key]), statistics.median(cand[key])
        print(f"{key[0]:<28} {key[1]:>5} {b:>11.3f} {c:>11.3f} {c / b if b else float('nan'):>9.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
