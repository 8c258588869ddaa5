#!/usr/bin/env bash
# Set up (scripts/setup.sh), then lint (ruff), type-check (mypy) and run every test; fails on the first failing step.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh

lint=()
for d in fsnb tests benchmarks; do [ -e "$d" ] && lint+=("$d"); done
echo "[test] ruff check ${lint[*]}"
.venv/bin/ruff check "${lint[@]}"

echo "[test] mypy fsnb"
.venv/bin/mypy fsnb

echo "[test] pytest tests"
.venv/bin/pytest tests -q "$@"

if [ -f benchmarks/run.py ]; then
    echo "[test] benchmarks/run.py --quick"
    .venv/bin/python benchmarks/run.py --quick
fi
echo "[test] all passed"
