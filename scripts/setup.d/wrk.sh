#!/usr/bin/env bash
# wrk, the HTTP load generator benchmarks/soak.py drives (Debian's wrk package); safe to run again.
set -euo pipefail
say() { printf '[setup wrk] %s\n' "$*"; }
if command -v wrk >/dev/null 2>&1; then
    say "ok: $(wrk --version 2>&1 | head -1)"
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-cache show wrk >/dev/null 2>&1; then
    $SUDO apt-get update -q
fi
say "installing wrk (Debian package)"
$SUDO apt-get install -y -q --no-install-recommends wrk >/dev/null
say "ok: $(wrk --version 2>&1 | head -1)"
