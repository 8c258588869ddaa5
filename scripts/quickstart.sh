#!/usr/bin/env bash
# Set up, then, on embedded defaults (SQLite registry, SQLite online store, DuckDB offline store):
#   fsnb init bank --customers 2000 && cd bank && fsnb apply && fsnb plan && fsnb ls
#   fsnb materialize-incremental now && fsnb bench --quick --serve --parity 200
# The last step reads online features in every mode (direct, async, precomputed, REST and the remote SDK
# through a feature server it starts on a free loopback port), prints the latency table and the
# training-to-serving parity summary.
# The folder is kept (its path is printed); set QUICKSTART_DIR to choose it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"

bash scripts/setup.sh
export PATH="$ROOT/.venv/bin:$PATH"

WORK="${QUICKSTART_DIR:-$(mktemp -d -t fsnb-quickstart-XXXXXX)}"
mkdir -p "$WORK"
cd "$WORK"
rm -rf bank
set -x
fsnb init bank --customers 2000
cd bank
fsnb apply
fsnb plan
fsnb ls
fsnb materialize-incremental now
fsnb bench --quick --serve --parity 200
{ set +x; } 2>/dev/null
echo
echo "[quickstart] the banking repo is in $WORK/bank"
