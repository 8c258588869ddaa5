#!/usr/bin/env bash
# Set up, then create the banking example in a fresh folder and register it:
#   fsnb init bank --customers 2000 && cd bank && fsnb apply && fsnb plan && fsnb ls
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
{ set +x; } 2>/dev/null
echo
echo "[quickstart] the banking repo is in $WORK/bank"
